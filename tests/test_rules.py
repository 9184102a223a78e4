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

case("alias_lrs_order", ["LR001"], """
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
""")
case("class_attr_never", ["LR004"], """
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
""")
case("class_attr_ok", [], """
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
""")
case("class_attr_onecycle_per_epoch", ["LR002"], """
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
""")
case("builder", ["LR002"], """
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
""")
case("param_helper_ok", [], """
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
""")
case("param_helper_bad_order", ["LR001"], """
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
""")
case("train_one_epoch_pre11", ["LR001"], """
import torch
from engine import train_one_epoch, evaluate
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
for epoch in range(90):
    scheduler.step()
    train_one_epoch(model, loader, optimizer, epoch)
    evaluate(model, val_loader)
""")
case("train_one_epoch_ok", [], """
import torch
from engine import train_one_epoch, evaluate
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
for epoch in range(90):
    train_one_epoch(model, loader, optimizer, epoch)
    scheduler.step()
    evaluate(model, val_loader)
""")
case("local_train_one_epoch_onecycle", ["LR002"], """
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
""")
case("list_of_schedulers", [], """
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
""")
case("dict_of_schedulers", [], """
import torch
optimizers = {"g": torch.optim.Adam(G.parameters()), "d": torch.optim.Adam(D.parameters())}
schedulers = {k: torch.optim.lr_scheduler.ExponentialLR(o, 0.99) for k, o in optimizers.items()}
for epoch in range(100):
    for real in loader:
        for opt in optimizers.values():
            opt.step()
    for sched in schedulers.values():
        sched.step()
""")
case("amp_ok", [], """
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
""")
case("amp_bad_order", ["LR001"], """
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
""")
case("accum_ok", [], """
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
""")
case("accelerate_ok", [], """
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
""")
case("timm_ok", [], """
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
""")
case("cawr_ok", [], """
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
""")
case("lbfgs_ok", [], """
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
""")
case("while_ok", [], """
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
""")
case("while_onecycle_per_epoch", ["LR002"], """
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
""")
case("lightning_ok", [], """
import torch
import pytorch_lightning as pl
class Lit(pl.LightningModule):
    def training_step(self, batch, batch_idx):
        return self.model(batch).sum()
    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
""")
case("hf_trainer_ok", [], """
import torch
from transformers import Trainer, get_cosine_schedule_with_warmup
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
scheduler = get_cosine_schedule_with_warmup(optimizer, 100, 1000)
trainer = Trainer(model=model, args=args, train_dataset=ds, optimizers=(optimizer, scheduler))
trainer.train()
""")
case("unknown_factory_ok", [], """
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
""")
case("unknown_factory_bad_order", ["LR001"], """
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
""")
case("plateau_isinstance_ok", [], """
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
""")
case("plateau_cond_ok", [], """
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
""")
case("plateau_bad_list", ["LR005"], """
import torch
optimizer = torch.optim.Adam(model.parameters())
schedulers = [torch.optim.lr_scheduler.StepLR(optimizer, 10), torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)]
for epoch in range(args.epochs):
    train(model, loader, optimizer)
    for s in schedulers:
        s.step()
""")
case("plateau_bad_helper", ["LR005"], """
import torch
def adjust(sched):
    sched.step()
optimizer = torch.optim.Adam(model.parameters())
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min")
for epoch in range(args.epochs):
    train(model, loader, optimizer)
    adjust(scheduler)
""")
case("lightning_override_bad", ["LR005"], """
import torch
import lightning as L
class Lit(L.LightningModule):
    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters())
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}
    def lr_scheduler_step(self, scheduler, metric):
        scheduler.step()
""")
case("step_epoch_arg", ["LR006"], """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
for epoch in range(30):
    train(model, loader, optimizer)
    val_loss = evaluate(model)
    scheduler.step(val_loss)
""")
case("seq_lr_ok", [], """
import torch
from torch.optim.lr_scheduler import LinearLR, CosineAnnealingLR, SequentialLR
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
warmup = LinearLR(optimizer, start_factor=0.01, total_iters=5)
cosine = CosineAnnealingLR(optimizer, T_max=args.epochs - 5)
scheduler = SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[5])
for epoch in range(args.epochs):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
""")
case("cosine_steps_per_batch_ok", [], """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
for epoch in range(args.epochs):
    for x, y in train_loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
        scheduler.step()
""")
case("cosine_epochs_per_batch", ["LR003"], """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
for epoch in range(args.epochs):
    for x, y in tqdm(train_loader):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
        scheduler.step()
""")
case("full_batch_ok", [], """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
for epoch in range(100):
    optimizer.zero_grad()
    loss = criterion(model(X), Y)
    loss.backward()
    optimizer.step()
    scheduler.step()
""")
case("warmup_skip_first_ok", [], """
import torch
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
for epoch in range(100):
    if epoch > 0:
        scheduler.step()
    train_one_epoch(model, loader, optimizer)
""")
case("plot_schedule_ok", [], """
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
""")
case("deepspeed_ok", [], """
import deepspeed, torch
optimizer = torch.optim.AdamW(model.parameters())
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=1000)
engine, optimizer, _, scheduler = deepspeed.initialize(model=model, optimizer=optimizer, lr_scheduler=scheduler)
for batch in loader:
    loss = engine(batch)
    engine.backward(loss)
    engine.step()
""")


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name):
    expected, source = CASES[name]
    found = lint_source(source, f"{name}.py")
    assert sorted(d.code for d in found) == sorted(expected), [(d.code, d.line, d.message) for d in found]
