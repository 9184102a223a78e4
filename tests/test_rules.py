"""Rules over the training-loop model, pyflakes-style: a snippet and the codes it must give.

Each case exercises one thing the model must see through (aliases, classes, builders, parameters,
helpers, collections) or one correct pattern the rules must stay quiet on.
"""

from __future__ import annotations

import textwrap

import pytest

from lrlint.engine import lint_source

CASES = {}


def case(name, expected, src):
    CASES[name] = (expected, textwrap.dedent(src))


case(
    "alias_lrs_order",
    ["LR001"],
    """
import torch.optim as optim
from torch.optim import lr_scheduler as lrs
opt = optim.AdamW(model.parameters(), lr=1e-3)
sched = lrs.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup_steps))
for step, batch in enumerate(train_loader):
    loss = model(**batch).loss
    loss.backward()
    sched.step()
    opt.step()
    opt.zero_grad()
""",
)
case(
    "class_attr_never",
    ["LR004"],
    """
import torch
class Trainer:
    def __init__(self, model, loader, epochs):
        self.model = model
        self.loader = loader
        self.epochs = epochs
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, milestones=[30, 60])
    def train_epoch(self):
        for x, y in self.loader:
            self.optimizer.zero_grad()
            loss = self.model(x).sum()
            loss.backward()
            self.optimizer.step()
    def fit(self):
        for epoch in range(self.epochs):
            self.train_epoch()
""",
)
case(
    "class_attr_ok",
    [],
    """
import torch
class Trainer:
    def __init__(self, model, loader, epochs):
        self.model = model
        self.loader = loader
        self.epochs = epochs
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, milestones=[30, 60])
    def train_epoch(self):
        for x, y in self.loader:
            self.optimizer.zero_grad()
            loss = self.model(x).sum()
            loss.backward()
            self.optimizer.step()
    def fit(self):
        for epoch in range(self.epochs):
            self.train_epoch()
            self.scheduler.step()
""",
)
case(
    "class_attr_onecycle_per_epoch",
    ["LR002"],
    """
import torch
from torch.optim.lr_scheduler import OneCycleLR
class Trainer:
    def __init__(self, model, loader, epochs):
        self.model = model
        self.loader = loader
        self.epochs = epochs
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        self.scheduler = OneCycleLR(self.optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(loader))
    def train_epoch(self):
        for x, y in self.loader:
            self.optimizer.zero_grad()
            loss = self.model(x).sum()
            loss.backward()
            self.optimizer.step()
    def fit(self):
        for epoch in range(self.epochs):
            self.train_epoch()
            self.scheduler.step()
trainer = Trainer(model, loader, 10)
trainer.fit()
""",
)
case(
    "builder",
    ["LR002"],
    """
import torch
from transformers import get_linear_schedule_with_warmup
def build(model, loader, epochs):
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    total = len(loader) * epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=100, num_training_steps=total)
    return optimizer, scheduler
def main():
    optimizer, scheduler = build(model, loader, 3)
    for epoch in range(3):
        for batch in loader:
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        scheduler.step()
if __name__ == "__main__":
    main()
""",
)
case(
    "param_helper_ok",
    [],
    """
import torch
def train(model, loader, optimizer, scheduler):
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
        scheduler.step()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=len(loader) * 5)
for epoch in range(5):
    train(model, loader, optimizer, scheduler)
""",
)
case(
    "param_helper_bad_order",
    ["LR001"],
    """
import torch
def train(model, loader, optimizer, scheduler):
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        scheduler.step()
        optimizer.step()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=len(loader) * 5)
for epoch in range(5):
    train(model, loader, optimizer, scheduler)
""",
)
case(
    "train_one_epoch_pre11",
    ["LR001"],
    """
import torch
from engine import train_one_epoch, evaluate
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
for epoch in range(90):
    scheduler.step()
    train_one_epoch(model, loader, optimizer, epoch)
    evaluate(model, val_loader)
""",
)
case(
    "train_one_epoch_ok",
    [],
    """
import torch
from engine import train_one_epoch, evaluate
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
for epoch in range(90):
    train_one_epoch(model, loader, optimizer, epoch)
    scheduler.step()
    evaluate(model, val_loader)
""",
)
case(
    "local_train_one_epoch_onecycle",
    ["LR002"],
    """
import torch
def train_one_epoch(model, loader, optimizer):
    model.train()
    for images, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=20, steps_per_epoch=len(train_loader))
for epoch in range(20):
    train_one_epoch(model, train_loader, optimizer)
    scheduler.step()
""",
)
case(
    "list_of_schedulers",
    [],
    """
import torch
opt_g = torch.optim.Adam(G.parameters(), 2e-4)
opt_d = torch.optim.Adam(D.parameters(), 2e-4)
schedulers = [torch.optim.lr_scheduler.StepLR(o, 10) for o in (opt_g, opt_d)]
for epoch in range(100):
    for real in loader:
        opt_d.zero_grad(); d_loss(real).backward(); opt_d.step()
        opt_g.zero_grad(); g_loss(real).backward(); opt_g.step()
    for s in schedulers:
        s.step()
""",
)
case(
    "dict_of_schedulers",
    [],
    """
import torch
optimizers = {"g": torch.optim.Adam(G.parameters()), "d": torch.optim.Adam(D.parameters())}
schedulers = {k: torch.optim.lr_scheduler.ExponentialLR(o, 0.99) for k, o in optimizers.items()}
for epoch in range(100):
    for real in loader:
        for opt in optimizers.values():
            opt.step()
    for sched in schedulers.values():
        sched.step()
""",
)
case(
    "amp_ok",
    [],
    """
import torch
scaler = torch.cuda.amp.GradScaler()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-4, total_steps=args.epochs * len(loader))
for epoch in range(args.epochs):
    for batch in tqdm(loader):
        with torch.autocast("cuda"):
            loss = model(batch)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad()
        scheduler.step()
""",
)
case(
    "amp_bad_order",
    ["LR001"],
    """
import torch
scaler = torch.cuda.amp.GradScaler()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-4, total_steps=args.epochs * len(loader))
for epoch in range(args.epochs):
    for batch in tqdm(loader):
        with torch.autocast("cuda"):
            loss = model(batch)
        scaler.scale(loss).backward()
        scheduler.step()
        scaler.step(optimizer)
        scaler.update()
""",
)
case(
    "accum_ok",
    [],
    """
import torch
from transformers import get_scheduler
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
lr_scheduler = get_scheduler("cosine", optimizer=optimizer, num_warmup_steps=500, num_training_steps=max_train_steps)
for epoch in range(num_epochs):
    for step, batch in enumerate(train_dataloader):
        loss = model(**batch).loss / grad_accum
        loss.backward()
        if (step + 1) % grad_accum == 0:
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
""",
)
case(
    "accelerate_ok",
    [],
    """
from accelerate import Accelerator
import torch
from transformers import get_linear_schedule_with_warmup
accelerator = Accelerator(gradient_accumulation_steps=4)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
scheduler = get_linear_schedule_with_warmup(optimizer, 100, len(train_dataloader) * 3)
model, optimizer, train_dataloader, scheduler = accelerator.prepare(model, optimizer, train_dataloader, scheduler)
for epoch in range(3):
    model.train()
    for batch in train_dataloader:
        with accelerator.accumulate(model):
            outputs = model(**batch)
            accelerator.backward(outputs.loss)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
""",
)
case(
    "timm_ok",
    [],
    """
from timm.scheduler import create_scheduler
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
lr_scheduler, num_epochs = create_scheduler(args, optimizer)
for epoch in range(num_epochs):
    num_updates = epoch * len(loader)
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
        num_updates += 1
        lr_scheduler.step_update(num_updates=num_updates)
    lr_scheduler.step(epoch + 1)
""",
)
case(
    "cawr_ok",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=2)
iters = len(loader)
for epoch in range(100):
    for i, (x, y) in enumerate(loader):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
        scheduler.step(epoch + i / iters)
""",
)
case(
    "lbfgs_ok",
    [],
    """
import torch
optimizer = torch.optim.LBFGS(model.parameters(), lr=1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
for epoch in range(20):
    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss
    optimizer.step(closure)
    scheduler.step()
""",
)
case(
    "while_ok",
    [],
    """
import torch
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, step / warmup_steps))
global_step = 0
data_iter = iter(loader)
while global_step < max_steps:
    batch = next(data_iter)
    loss = model(batch)
    loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    global_step += 1
""",
)
case(
    "while_onecycle_per_epoch",
    ["LR002"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=num_steps)
epoch = 0
while epoch < max_epochs:
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    scheduler.step()
    epoch += 1
""",
)
case(
    "lightning_ok",
    [],
    """
import torch
import pytorch_lightning as pl
class Lit(pl.LightningModule):
    def training_step(self, batch, batch_idx):
        return self.model(batch).sum()
    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
""",
)
case(
    "hf_trainer_ok",
    [],
    """
import torch
from transformers import Trainer, get_cosine_schedule_with_warmup
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
scheduler = get_cosine_schedule_with_warmup(optimizer, 100, 1000)
trainer = Trainer(model=model, args=args, train_dataset=ds, optimizers=(optimizer, scheduler))
trainer.train()
""",
)
case(
    "unknown_factory_ok",
    [],
    """
from mylib import build_scheduler, build_optimizer
optimizer = build_optimizer(cfg, model)
scheduler = build_scheduler(cfg, optimizer)
for epoch in range(cfg.epochs):
    for batch in loader:
        loss = model(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    scheduler.step()
""",
)
case(
    "unknown_factory_bad_order",
    ["LR001"],
    """
from mylib import build_scheduler, build_optimizer
optimizer = build_optimizer(cfg, model)
scheduler = build_scheduler(cfg, optimizer)
for epoch in range(cfg.epochs):
    for batch in loader:
        loss = model(batch)
        loss.backward()
        scheduler.step()
        optimizer.step()
        optimizer.zero_grad()
""",
)
case(
    "plateau_isinstance_ok",
    [],
    """
import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau, StepLR
optimizer = torch.optim.Adam(model.parameters())
if args.plateau:
    scheduler = ReduceLROnPlateau(optimizer, patience=3)
else:
    scheduler = StepLR(optimizer, 10)
for epoch in range(args.epochs):
    train(model, loader, optimizer)
    val_loss = validate(model)
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(val_loss)
    else:
        scheduler.step()
""",
)
case(
    "plateau_cond_ok",
    [],
    """
import torch
optimizer = torch.optim.Adam(model.parameters())
if args.scheduler == "plateau":
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=3)
elif args.scheduler == "step":
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
for epoch in range(args.epochs):
    train(model, loader, optimizer)
    val_loss = validate(model)
    if args.scheduler == 'plateau':
        scheduler.step(val_loss)
    else:
        scheduler.step()
""",
)
case(
    "plateau_bad_list",
    ["LR005"],
    """
import torch
optimizer = torch.optim.Adam(model.parameters())
schedulers = [torch.optim.lr_scheduler.StepLR(optimizer, 10), torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)]
for epoch in range(args.epochs):
    train(model, loader, optimizer)
    for s in schedulers:
        s.step()
""",
)
case(
    "plateau_bad_helper",
    ["LR005"],
    """
import torch
def adjust(sched):
    sched.step()
optimizer = torch.optim.Adam(model.parameters())
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min")
for epoch in range(args.epochs):
    train(model, loader, optimizer)
    adjust(scheduler)
""",
)
case(
    "lightning_override_bad",
    ["LR005"],
    """
import torch
import lightning as L
class Lit(L.LightningModule):
    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters())
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}
    def lr_scheduler_step(self, scheduler, metric):
        scheduler.step()
""",
)
case(
    "step_epoch_arg",
    ["LR006"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
for epoch in range(30):
    train(model, loader, optimizer)
    val_loss = evaluate(model)
    scheduler.step(val_loss)
""",
)
case(
    "seq_lr_ok",
    [],
    """
import torch
from torch.optim.lr_scheduler import LinearLR, CosineAnnealingLR, SequentialLR
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
warmup = LinearLR(optimizer, start_factor=0.01, total_iters=5)
cosine = CosineAnnealingLR(optimizer, T_max=args.epochs - 5)
scheduler = SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[5])
for epoch in range(args.epochs):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
""",
)
case(
    "cosine_steps_per_batch_ok",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
for epoch in range(args.epochs):
    for x, y in train_loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
        scheduler.step()
""",
)
case(
    "cosine_epochs_per_batch",
    ["LR003"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
for epoch in range(args.epochs):
    for x, y in tqdm(train_loader):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
        scheduler.step()
""",
)
case(
    "full_batch_ok",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
for epoch in range(100):
    optimizer.zero_grad()
    loss = criterion(model(X), Y)
    loss.backward()
    optimizer.step()
    scheduler.step()
""",
)
case(
    "warmup_skip_first_ok",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
for epoch in range(100):
    if epoch > 0:
        scheduler.step()
    train_one_epoch(model, loader, optimizer)
""",
)
case(
    "plot_schedule_ok",
    [],
    """
import torch
import matplotlib.pyplot as plt
optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=1000)
lrs = []
for i in range(1000):
    optimizer.step()
    lrs.append(scheduler.get_last_lr()[0])
    scheduler.step()
plt.plot(lrs)
""",
)
case(
    "deepspeed_ok",
    [],
    """
import deepspeed, torch
optimizer = torch.optim.AdamW(model.parameters())
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=1000)
engine, optimizer, _, scheduler = deepspeed.initialize(model=model, optimizer=optimizer, lr_scheduler=scheduler)
for batch in loader:
    loss = engine(batch)
    engine.backward(loss)
    engine.step()
""",
)

# Idioms of well-known public training scripts (torchvision references, pytorch/examples,
# nanoGPT, HF no_trainer examples, YOLOv5) and other correct shapes that must stay silent.

case(
    "torchvision_detection",
    [],
    """
import torch
def train_one_epoch(model, optimizer, data_loader, device, epoch, print_freq, scaler=None):
    model.train()
    metric_logger = utils.MetricLogger(delimiter="  ")
    lr_scheduler = None
    if epoch == 0:
        warmup_factor = 1.0 / 1000
        warmup_iters = min(1000, len(data_loader) - 1)
        lr_scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=warmup_factor, total_iters=warmup_iters)
    for images, targets in metric_logger.log_every(data_loader, print_freq, header):
        loss_dict = model(images, targets)
        losses = sum(loss for loss in loss_dict.values())
        optimizer.zero_grad()
        if scaler is not None:
            scaler.scale(losses).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            losses.backward()
            optimizer.step()
        if lr_scheduler is not None:
            lr_scheduler.step()
    return metric_logger

def main(args):
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    scaler = torch.cuda.amp.GradScaler() if args.amp else None
    args.lr_scheduler = args.lr_scheduler.lower()
    if args.lr_scheduler == "multisteplr":
        lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=args.lr_steps, gamma=args.lr_gamma)
    elif args.lr_scheduler == "cosineannealinglr":
        lr_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    else:
        raise RuntimeError("bad")
    if args.resume:
        checkpoint = torch.load(args.resume, map_location="cpu")
        optimizer.load_state_dict(checkpoint["optimizer"])
        lr_scheduler.load_state_dict(checkpoint["lr_scheduler"])
    for epoch in range(args.start_epoch, args.epochs):
        train_one_epoch(model, optimizer, data_loader, device, epoch, args.print_freq, scaler)
        lr_scheduler.step()
        if args.output_dir:
            checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "lr_scheduler": lr_scheduler.state_dict()}
            utils.save_on_master(checkpoint, "model.pth")
        evaluate(model, data_loader_test, device=device)

if __name__ == "__main__":
    args = get_args_parser().parse_args()
    main(args)
""",
)
case(
    "pytorch_examples_imagenet",
    [],
    """
import torch
def train(train_loader, model, criterion, optimizer, epoch, device, args):
    model.train()
    for i, (images, target) in enumerate(train_loader):
        output = model(images)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

def main_worker(gpu, ngpus_per_node, args):
    optimizer = torch.optim.SGD(model.parameters(), args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(args.start_epoch, args.epochs):
        train(train_loader, model, criterion, optimizer, epoch, device, args)
        acc1 = validate(val_loader, model, criterion, args)
        scheduler.step()
from torch.optim.lr_scheduler import StepLR
""",
)
case(
    "nanogpt_manual_lr",
    [],
    """
import torch
optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
while True:
    lr = get_lr(iter_num) if decay_lr else learning_rate
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr
    for micro_step in range(gradient_accumulation_steps):
        logits, loss = model(X, Y)
        scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    iter_num += 1
    if iter_num > max_iters:
        break
""",
)
case(
    "warmup_then_main",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
warmup_scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup_epochs * len(train_loader))
main_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs - warmup_epochs)
for epoch in range(num_epochs):
    for i, (x, y) in enumerate(train_loader):
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        if epoch < warmup_epochs:
            warmup_scheduler.step()
    if epoch >= warmup_epochs:
        main_scheduler.step()
""",
)
case(
    "gan_ncritic",
    [],
    """
import torch
opt_d = torch.optim.Adam(D.parameters(), lr=1e-4)
opt_g = torch.optim.Adam(G.parameters(), lr=1e-4)
sched_d = torch.optim.lr_scheduler.ExponentialLR(opt_d, gamma=0.99)
sched_g = torch.optim.lr_scheduler.ExponentialLR(opt_g, gamma=0.99)
for epoch in range(n_epochs):
    for i, imgs in enumerate(dataloader):
        for _ in range(n_critic):
            opt_d.zero_grad()
            d_loss(imgs).backward()
            opt_d.step()
        opt_g.zero_grad()
        g_loss().backward()
        opt_g.step()
    sched_d.step()
    sched_g.step()
""",
)
case(
    "hf_no_trainer",
    [],
    """
import math
import torch
from accelerate import Accelerator
from transformers import get_scheduler
def main():
    args = parse_args()
    accelerator = Accelerator(gradient_accumulation_steps=args.gradient_accumulation_steps)
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=args.learning_rate)
    num_update_steps_per_epoch = math.ceil(len(train_dataloader) / args.gradient_accumulation_steps)
    if args.max_train_steps is None:
        args.max_train_steps = args.num_train_epochs * num_update_steps_per_epoch
    lr_scheduler = get_scheduler(
        name=args.lr_scheduler_type,
        optimizer=optimizer,
        num_warmup_steps=args.num_warmup_steps * accelerator.num_processes,
        num_training_steps=args.max_train_steps * accelerator.num_processes,
    )
    model, optimizer, train_dataloader, eval_dataloader, lr_scheduler = accelerator.prepare(
        model, optimizer, train_dataloader, eval_dataloader, lr_scheduler
    )
    completed_steps = 0
    for epoch in range(starting_epoch, args.num_train_epochs):
        model.train()
        if args.resume_from_checkpoint and epoch == starting_epoch and resume_step is not None:
            active_dataloader = accelerator.skip_first_batches(train_dataloader, resume_step)
        else:
            active_dataloader = train_dataloader
        for step, batch in enumerate(active_dataloader):
            with accelerator.accumulate(model):
                outputs = model(**batch)
                loss = outputs.loss
                accelerator.backward(loss)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
            if accelerator.sync_gradients:
                completed_steps += 1
            if completed_steps >= args.max_train_steps:
                break
if __name__ == "__main__":
    main()
""",
)
case(
    "yolov5_style",
    [],
    """
import torch
from torch.optim import lr_scheduler
def train(hyp, opt, device):
    optimizer = smart_optimizer(model, opt.optimizer, hyp['lr0'], hyp['momentum'], hyp['weight_decay'])
    lf = lambda x: (1 - x / epochs) * (1.0 - hyp['lrf']) + hyp['lrf']
    scheduler = lr_scheduler.LambdaLR(optimizer, lr_lambda=lf)
    scheduler.last_epoch = start_epoch - 1
    scaler = torch.cuda.amp.GradScaler(enabled=amp)
    for epoch in range(start_epoch, epochs):
        model.train()
        pbar = enumerate(train_loader)
        pbar = tqdm(pbar, total=nb)
        optimizer.zero_grad()
        for i, (imgs, targets, paths, _) in pbar:
            ni = i + nb * epoch
            if ni <= nw:
                xi = [0, nw]
                for j, x in enumerate(optimizer.param_groups):
                    x['lr'] = np.interp(ni, xi, [hyp['warmup_bias_lr'] if j == 0 else 0.0, x['initial_lr'] * lf(epoch)])
            with torch.cuda.amp.autocast(amp):
                pred = model(imgs)
                loss, loss_items = compute_loss(pred, targets.to(device))
            scaler.scale(loss).backward()
            if ni - last_opt_step >= accumulate:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
                last_opt_step = ni
        lr = [x['lr'] for x in optimizer.param_groups]
        scheduler.step()
""",
)
case(
    "lightning_manual_never_stepped",
    [],
    """
import torch
import lightning as L
class Lit(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        loss = self.model(batch).sum()
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        sch = self.lr_schedulers()
        sch.step()
    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
        return [optimizer], [scheduler]
""",
)
case(
    "scheduler_stepped_in_eval_hook",
    [],
    """
import torch
class Runner:
    def __init__(self, model, cfg):
        self.optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, 'min')
    def on_validation_end(self, val_loss):
        self.scheduler.step(val_loss)
""",
)
case(
    "scheduler_none_guard",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = None
if args.cosine:
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
for epoch in range(args.epochs):
    for x, y in loader:
        optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()
    if scheduler is not None:
        scheduler.step()
""",
)
case(
    "scheduler_none_guard_onecycle_bad",
    ["LR002"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = None
if args.onecycle:
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=args.epochs * len(loader))
for epoch in range(args.epochs):
    for x, y in loader:
        optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()
    if scheduler:
        scheduler.step()
""",
)
case(
    "step_in_validation_uses_epoch_var",
    ["LR006"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[30, 60, 90])
for epoch in range(100):
    train(model, loader, optimizer)
    scheduler.step(epoch=epoch)
""",
)
case(
    "plateau_metrics_kw_ok",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'max', patience=5)
for epoch in range(100):
    train(model, loader, optimizer)
    acc = validate(model)
    scheduler.step(metrics=acc)
""",
)
case(
    "config_dict_scheduler",
    [],
    """
import torch
SCHEDULERS = {"step": torch.optim.lr_scheduler.StepLR, "cos": torch.optim.lr_scheduler.CosineAnnealingLR}
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = SCHEDULERS[cfg.name](optimizer, **cfg.kwargs)
for epoch in range(cfg.epochs):
    train(model, loader, optimizer)
    scheduler.step()
""",
)
case(
    "getattr_scheduler",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = getattr(torch.optim.lr_scheduler, cfg.name)(optimizer, **cfg.kwargs)
for epoch in range(cfg.epochs):
    for batch in loader:
        loss = model(batch); loss.backward(); optimizer.step(); optimizer.zero_grad()
    scheduler.step()
""",
)
case(
    "scheduler_returned_from_method_used_elsewhere",
    [],
    """
import torch
class Experiment:
    def build(self):
        self.optimizer = torch.optim.Adam(self.model.parameters())
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, 5)
""",
)
case(
    "epoch_loop_with_step_in_nested_fn_print",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    print(f"epoch {epoch} lr {scheduler.get_last_lr()[0]}")
    train_epoch(model, loader, optimizer)
    scheduler.step()
""",
)
case(
    "validate_first_then_step",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    validate(model, val_loader)
    train(model, loader, optimizer)
    scheduler.step()
""",
)
case(
    "step_at_start_with_resume_semantics",
    ["LR001"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[30, 60])
for epoch in range(args.start_epoch, args.epochs):
    scheduler.step()
    for i, (input, target) in enumerate(train_loader):
        output = model(input)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
""",
)
case(
    "kfold_scheduler_per_fold",
    [],
    """
import torch
for fold in range(5):
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        train_one_epoch(model, loaders[fold], optimizer)
        scheduler.step()
""",
)

# Shapes behind false positives and misses found on real public training scripts.
case(
    "lightning_early_return_keeps_scheduler",
    [],
    """
import torch
from pytorch_lightning import LightningModule, Trainer
class Model(LightningModule):
    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
        if self.hparams.no_schedule:
            return optimizer
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 100)
        return [optimizer], [scheduler]
Trainer().fit(Model())
""",
)
case(
    "lightning_dict_per_branch",
    [],
    """
import torch
import lightning as L
from torch.optim import lr_scheduler
class Model(L.LightningModule):
    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
        schedule = {}
        if self.hparams.schedule == "exp":
            schedule = {"scheduler": lr_scheduler.ExponentialLR(optimizer, 0.9)}
        elif self.hparams.schedule == "step":
            schedule = {"scheduler": lr_scheduler.StepLR(optimizer, 10)}
        config = {"optimizer": optimizer}
        if schedule:
            config["lr_scheduler"] = schedule
        return config
L.Trainer().fit(Model())
""",
)
case(
    "module_train_is_not_training",
    ["LR001"],
    """
import torch
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20)
for epoch in range(100):
    net.train()
    scheduler.step()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(net(x), y).backward()
        optimizer.step()
""",
)
case(
    "apex_amp_calls_do_not_step",
    ["LR001"],
    """
import torch
from apex import amp
optimizer = torch.optim.SGD(model.parameters(), lr=3e-2)
scheduler = WarmupLinearSchedule(optimizer, warmup_steps=500, t_total=10000)
for step, batch in enumerate(loader):
    loss = model(*batch)
    with amp.scale_loss(loss, optimizer) as scaled_loss:
        scaled_loss.backward()
    torch.nn.utils.clip_grad_norm_(amp.master_params(optimizer), 1.0)
    scheduler.step()
    optimizer.step()
    optimizer.zero_grad()
""",
)
case(
    "horizon_follows_nearest_evidence",
    [],
    """
import torch
import yaml
from torch.optim import lr_scheduler
def train(model, dataloader, opt, epochs):
    with open(opt.hyp) as f:
        hyp = yaml.load(f, Loader=yaml.SafeLoader)
    optimizer = torch.optim.SGD(model.parameters(), lr=hyp["lr0"])
    lf = lambda x: (1 - x / epochs) * (1.0 - hyp["lrf"]) + hyp["lrf"]
    scheduler = lr_scheduler.LambdaLR(optimizer, lr_lambda=lf)
    for epoch in range(epochs):
        for imgs, targets in dataloader:
            model(imgs, targets).backward()
            optimizer.step()
        scheduler.step()
""",
)
case(
    "lightning_override_isinstance_guard",
    ["LR005"],
    """
import torch
import lightning as L
from torch.optim import lr_scheduler
class Model(L.LightningModule):
    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
        if self.hparams.schedule == "plateau":
            scheduler = lr_scheduler.ReduceLROnPlateau(optimizer)
        else:
            scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=1000)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"}}
    def lr_scheduler_step(self, scheduler, metric):
        if isinstance(scheduler, lr_scheduler.OneCycleLR):
            scheduler.step()
        elif self.trainer.is_last_batch:
            scheduler.step()
""",
)
case(
    "unknown_class_explicit_epoch_sets_position",
    [],
    """
import torch
from warmup_scheduler import GradualWarmupScheduler
def main(model, epochs):
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    scheduler = GradualWarmupScheduler(optimizer, multiplier=1, total_epoch=5)
    for epoch in range(1, epochs):
        scheduler.step(epoch)
        optimizer.step()
""",
)
case(
    "diffusers_noise_scheduler_is_not_an_lr_scheduler",
    [],
    """
import torch
from diffusers import DDPMScheduler
noise_scheduler = DDPMScheduler(num_train_timesteps=1000)
optimizer = torch.optim.AdamW(unet.parameters(), lr=1e-4)
for epoch in range(epochs):
    image = torch.randn(1, 3, 64, 64)
    for t in noise_scheduler.timesteps:
        image = noise_scheduler.step(unet(image, t).sample, t, image).prev_sample
    for batch in loader:
        loss = unet(batch).loss
        loss.backward()
        optimizer.step()
""",
)

case(
    "scheduler_only_saved_and_logged",
    ["LR004"],
    """
import torch
from utils import save_checkpoint, log_lr
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    for x, y in loader:
        optimizer.zero_grad(); criterion(model(x), y).backward(); optimizer.step()
    log_lr(scheduler, epoch)
    save_checkpoint(model, optimizer, scheduler, f"ckpt_{epoch}.pt")
""",
)

case(
    "builder_parameters_judged_by_the_callers_arguments",
    [],
    """
import math
import torch
from torch.optim.lr_scheduler import LambdaLR
def make_cosine_schedule(optimizer, num_warmup_steps, num_training_steps):
    def lr_lambda(step):
        if step < num_warmup_steps:
            return step / max(1, num_warmup_steps)
        progress = (step - num_warmup_steps) / max(1, num_training_steps - num_warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return LambdaLR(optimizer, lr_lambda)
def train(model, loader, epochs=10, warmup_epochs=2):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = make_cosine_schedule(optimizer, warmup_epochs, epochs)
    for epoch in range(epochs):
        for x in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        scheduler.step()
""",
)
case(
    "scheduler_on_a_dummy_optimizer_for_a_plot",
    [],
    """
import torch
import matplotlib.pyplot as plt
p = torch.nn.Parameter(torch.empty(4, 4))
preview = torch.optim.lr_scheduler.LambdaLR(torch.optim.Adam([p], lr=1e-3), lambda it: min(1.0, it / 100))
plt.plot([preview.lr_lambdas[0](it) for it in range(2000)])
def main(trainer, model):
    trainer.fit(model)
""",
)
case(
    "guard_shared_with_the_optimizer_step",
    ["LR001"],
    """
import torch
warm_optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-3)
joint_optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
joint_scheduler = torch.optim.lr_scheduler.StepLR(joint_optimizer, step_size=5, gamma=0.2)
def train(model, dataloader, optimizer):
    for x in dataloader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
for epoch in range(100):
    if epoch < 5:
        train(model, loader, warm_optimizer)
    else:
        joint_scheduler.step()
        train(model, loader, joint_optimizer)
""",
)

case(
    "phase_loop_shared_test_is_no_workaround",
    ["LR001"],
    """
import torch
def train_model(model, criterion, optimizer, scheduler, dataloaders, num_epochs=25):
    for epoch in range(num_epochs):
        for phase in ["train", "val"]:
            if phase == "train":
                scheduler.step()
                model.train()
            else:
                model.eval()
            for inputs, labels in dataloaders[phase]:
                optimizer.zero_grad()
                loss = criterion(model(inputs), labels)
                if phase == "train":
                    loss.backward()
                    optimizer.step()
optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
train_model(model, criterion, optimizer, scheduler, dataloaders)
""",
)
case(
    "warmup_guard_true_at_first_is_no_workaround",
    ["LR001"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)
for epoch in range(100):
    if epoch < 5:
        warmup.step()
    train_one_epoch(model, loader, optimizer)
""",
)
case(
    "flag_parameter_fixed_by_the_call",
    [],
    """
import torch
def fit(model, optimizer, loader, epochs, scheduler=None, per_batch=False):
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            if scheduler is not None and per_batch:
                scheduler.step()
        if scheduler is not None and not per_batch:
            scheduler.step()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
fit(net, opt, loader, 15, scheduler=torch.optim.lr_scheduler.StepLR(opt, step_size=5))
""",
)

case(
    "one_line_if_body_steps",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20)
for epoch in range(60):
    train(model, loader, optimizer)
    if args.stepsize > 0: scheduler.step()
""",
)
case(
    "optimizers_in_a_dict",
    ["LR001"],
    """
import torch
from torch.optim import lr_scheduler
def main(model, center, loader, max_epoch):
    optimizer = dict()
    optimizer["model"] = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer["center"] = torch.optim.SGD(center.parameters(), lr=0.5)
    scheduler = lr_scheduler.MultiStepLR(optimizer["model"], milestones=[40, 80], gamma=0.1)
    for epoch in range(max_epoch):
        scheduler.step()
        train(model, optimizer, loader)
def train(model, optimizer, loader):
    for x, y in loader:
        optimizer["model"].zero_grad()
        model(x).sum().backward()
        optimizer["model"].step()
        optimizer["center"].step()
""",
)
case(
    "per_epoch_function_called_from_another_module",
    ["LR001"],
    """
import torch
def train_test(model, batches):
    model.scheduler.step()
    model.train()
    for x, y in batches:
        model.optimizer.zero_grad()
        model(x, y).backward()
        model.optimizer.step()
""",
)
case(
    "wrapper_step_in_wrong_order",
    ["LR001"],
    """
class OptimizerWithScheduler:
    def __init__(self, optimizer, scheduler):
        self.optimizer = optimizer
        self.scheduler = scheduler
    def step(self):
        self.scheduler.step()
        self.optimizer.step()
""",
)
case(
    "per_epoch_function_guarded_by_its_epoch",
    [],
    """
def train_epoch(epoch, model, loader, optimizer, scheduler):
    if epoch > 0:
        scheduler.step()
    for x, y in loader:
        optimizer.zero_grad()
        model(x, y).backward()
        optimizer.step()
""",
)


# -- LR007, LR008, LR010, LR013, LR014, LR016 ----------------------------------------------------

PLATEAU_SETUP = """
import torch
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
"""

case(
    "plateau_default_min_fed_accuracy",
    ["LR007"],
    PLATEAU_SETUP
    + """
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=3)
for epoch in range(50):
    train(model, optimizer)
    metrics = evaluate(model)
    scheduler.step(metrics["val_acc"])
""",
)
case(
    "plateau_max_fed_loss",
    ["LR007"],
    PLATEAU_SETUP
    + """
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "max")
for epoch in range(50):
    train(model, optimizer)
    val_loss = evaluate(model)
    scheduler.step(val_loss.item())
""",
)
case(
    "plateau_negated_or_configured_mode_is_not_judged",
    [],
    PLATEAU_SETUP
    + """
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=cfg.mode)
negated = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
complement = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
for epoch in range(50):
    train(model, optimizer)
    acc = evaluate(model)
    scheduler.step(acc)
    negated.step(-acc)
    complement.step(1 - acc)
""",
)
case(
    "plateau_fed_a_literal_or_a_name_never_updated",
    ["LR016", "LR016"],
    PLATEAU_SETUP
    + """
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
other = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
best = 0.0
for epoch in range(50):
    train(model, optimizer)
    scheduler.step(0)
    other.step(best)
""",
)
case(
    "plateau_fed_a_name_updated_in_the_loop",
    [],
    PLATEAU_SETUP
    + """
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
val_loss = 0.0
for epoch in range(50):
    scheduler.step(val_loss)
    val_loss = train(model, optimizer)
""",
)
case(
    "scheduler_rebuilt_every_epoch",
    ["LR008"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(90):
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=len(loader))
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()
        scheduler.step()
""",
)
case(
    "scheduler_built_per_fold_with_its_optimizer",
    [],
    """
import torch
for fold in range(5):
    model = build_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    for epoch in range(10):
        train_one_epoch(model, loader, optimizer)
        scheduler.step()
""",
)
case(
    "scheduler_switched_once_at_an_epoch",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)
for epoch in range(90):
    if epoch == 5:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=85)
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
""",
)
case(
    "get_lr_on_torch_scheduler_but_not_on_a_custom_one",
    ["LR010"],
    """
import torch
class Warmup(torch.optim.lr_scheduler.LRScheduler):
    def get_lr(self):
        return [base * min(1.0, self.last_epoch / 100) for base in self.base_lrs]
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30)
warmup = Warmup(optimizer)
for epoch in range(90):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
    warmup.step()
    writer.add_scalar("lr", scheduler.get_lr()[0], epoch)
    print(warmup.get_lr())
""",
)
case(
    "manual_decay_fights_the_scheduler",
    ["LR013"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[30, 60])
for epoch in range(90):
    if epoch in (30, 60):
        for group in optimizer.param_groups:
            group["lr"] *= 0.1
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
""",
)
case(
    "warm_up_by_hand_then_the_scheduler",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=90)
for group in optimizer.param_groups:
    group["lr"] = args.lr  # resuming: before training
for epoch in range(90):
    for i, (x, y) in enumerate(loader):
        it = i + epoch * len(loader)
        if it < warmup_iters:
            for group in optimizer.param_groups:
                group["lr"] = args.lr * it / warmup_iters
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step()
""",
)
case(
    "stepped_in_both_branches_of_a_cadence_flag",
    [],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
for epoch in range(90):
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()
        if args.per_batch:
            scheduler.step()
    if not args.per_batch:
        scheduler.step()
""",
)
case(
    "stepped_twice_in_one_body",
    ["LR014"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, s / 1000))
for x, y in loader:
    loss_fn(model(x), y).backward()
    optimizer.step()
    scheduler.step()
    log(loss)
    scheduler.step()
""",
)
case(
    "scheduler_on_the_optimizer_that_was_replaced",
    ["LR015"],
    """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
for epoch in range(30):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
""",
)
case(
    "scheduler_on_a_base_optimizer_inside_lookahead",
    [],
    """
import torch
from timm.optim import Lookahead
base = torch.optim.AdamW(model.parameters(), lr=1e-3)
optimizer = Lookahead(base)
scheduler = torch.optim.lr_scheduler.StepLR(base, step_size=10)
for epoch in range(30):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
""",
)
case(
    "timm_updates_only_with_t_in_epochs",
    ["LR017"],
    """
from timm.scheduler import CosineLRScheduler
scheduler = CosineLRScheduler(optimizer, t_initial=epochs)
updates = 0
for epoch in range(epochs):
    for x, y in loader:
        train_step(model, x, y, optimizer)
        updates += 1
        scheduler.step_update(num_updates=updates)
""",
)
case(
    "timm_both_calls_as_timm_train_py",
    [],
    """
from timm.scheduler import CosineLRScheduler
scheduler = CosineLRScheduler(optimizer, t_initial=epochs, t_in_epochs=False)
updates = 0
for epoch in range(epochs):
    for x, y in loader:
        train_step(model, x, y, optimizer)
        updates += 1
        scheduler.step_update(num_updates=updates)
    scheduler.step(epoch + 1)
""",
)

case(
    "ignite_epoch_started_handler",
    ["LR001"],
    """
import torch
from ignite.engine import Events, create_supervised_trainer
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [40, 70])
trainer = create_supervised_trainer(model, optimizer, loss_fn)

@trainer.on(Events.EPOCH_STARTED)
def adjust_learning_rate(engine):
    scheduler.step()

trainer.run(loader, max_epochs=90)
""",
)
case(
    "ignite_handlers_in_the_right_events",
    [],
    """
import torch
from ignite.engine import Engine, Events
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
per_epoch = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
per_batch = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=90 * len(loader))

def update(engine, batch):
    optimizer.zero_grad()
    loss_fn(model(batch[0]), batch[1]).backward()
    optimizer.step()

trainer = Engine(update)
trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda engine: per_batch.step())

@trainer.on(Events.EPOCH_COMPLETED)
def step_per_epoch(engine):
    per_epoch.step()

@trainer.on(Events.EPOCH_COMPLETED(every=10))
def log(engine):
    print(per_epoch.get_last_lr())

trainer.run(loader, max_epochs=90)
""",
)


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name):
    expected, source = CASES[name]
    found = lint_source(source, f"{name}.py")
    assert sorted(d.code for d in found) == sorted(expected), [(d.code, d.line, d.message) for d in found]
