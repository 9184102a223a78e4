"""Train a ResNet on CIFAR-10: the 300-line single script of the speed benchmark.

A typical research training script: command-line options, data with augmentation, a model,
SGD with a OneCycle schedule, mixed precision, gradient accumulation, evaluation, checkpoints
and resuming. lrlint has nothing to say about it; the benchmark times `lrlint train_cifar.py`.
"""

import argparse
import json
import math
import os
import random
import shutil
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
from torch.optim.lr_scheduler import OneCycleLR
from torch.utils.data import DataLoader


def parse_args():
    parser = argparse.ArgumentParser(description="CIFAR-10 training")
    parser.add_argument("--data", default="./data", help="dataset folder")
    parser.add_argument("--out", default="./runs/cifar", help="checkpoints and logs")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--accumulate", type=int, default=1, help="batches per optimizer step")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--amp", action="store_true", help="mixed precision")
    parser.add_argument("--resume", default="", help="checkpoint to resume from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--eval-every", type=int, default=1)
    return parser.parse_args()


def seed_everything(seed):
    random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def build_loaders(args):
    train_tf = T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ]
    )
    test_tf = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])
    train_set = torchvision.datasets.CIFAR10(args.data, train=True, download=True, transform=train_tf)
    test_set = torchvision.datasets.CIFAR10(args.data, train=False, download=True, transform=test_tf)
    train_loader = DataLoader(
        train_set,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        pin_memory=True,
        drop_last=True,
    )
    test_loader = DataLoader(test_set, batch_size=256, shuffle=False, num_workers=args.workers)
    return train_loader, test_loader


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, blocks=(2, 2, 2, 2), num_classes=10):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(64, blocks[0], 1)
        self.layer2 = self._make_layer(128, blocks[1], 2)
        self.layer3 = self._make_layer(256, blocks[2], 2)
        self.layer4 = self._make_layer(512, blocks[3], 2)
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes, count, stride):
        layers = []
        for layer_stride in [stride] + [1] * (count - 1):
            layers.append(BasicBlock(self.in_planes, planes, layer_stride))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


class AverageMeter:
    def __init__(self):
        self.total = 0.0
        self.count = 0

    def update(self, value, n=1):
        self.total += value * n
        self.count += n

    @property
    def average(self):
        return self.total / max(1, self.count)


def accuracy(logits, targets):
    return (logits.argmax(dim=1) == targets).float().mean().item()


def save_checkpoint(state, is_best, folder):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "last.pt")
    torch.save(state, path)
    if is_best:
        shutil.copyfile(path, os.path.join(folder, "best.pt"))


def load_checkpoint(path, model, optimizer, scheduler, scaler):
    state = torch.load(path, map_location="cpu")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    return state["epoch"] + 1, state["best"]


def train_one_epoch(model, loader, optimizer, scheduler, scaler, criterion, device, args, epoch):
    model.train()
    losses, accs = AverageMeter(), AverageMeter()
    start = time.time()
    optimizer.zero_grad(set_to_none=True)
    for step, (images, targets) in enumerate(loader):
        images = images.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, enabled=args.amp):
            logits = model(images)
            loss = criterion(logits, targets) / args.accumulate
        scaler.scale(loss).backward()
        if (step + 1) % args.accumulate == 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
        losses.update(loss.item() * args.accumulate, images.size(0))
        accs.update(accuracy(logits, targets), images.size(0))
        if step % 100 == 0:
            lr = scheduler.get_last_lr()[0]
            elapsed = time.time() - start
            print(
                f"epoch {epoch} step {step}/{len(loader)} loss {losses.average:.4f} "
                f"acc {accs.average:.3f} lr {lr:.5f} {elapsed:.1f}s"
            )
    return losses.average, accs.average


@torch.no_grad()
def evaluate(model, loader, criterion, device):
    model.eval()
    losses, accs = AverageMeter(), AverageMeter()
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        logits = model(images)
        losses.update(criterion(logits, targets).item(), images.size(0))
        accs.update(accuracy(logits, targets), images.size(0))
    return losses.average, accs.average


def parameter_groups(model, weight_decay):
    """No weight decay on biases and normalisation weights."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 or name.endswith(".bias") else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def write_log(folder, record):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "log.jsonl"), "a") as stream:
        stream.write(json.dumps(record) + "\n")


def main():
    args = parse_args()
    seed_everything(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_loader, test_loader = build_loaders(args)

    model = ResNet().to(device)
    criterion = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    optimizer = torch.optim.SGD(
        parameter_groups(model, args.weight_decay),
        lr=args.lr,
        momentum=args.momentum,
        nesterov=True,
    )
    updates_per_epoch = math.ceil(len(train_loader) / args.accumulate)
    scheduler = OneCycleLR(
        optimizer,
        max_lr=args.lr,
        epochs=args.epochs,
        steps_per_epoch=updates_per_epoch,
        pct_start=0.25,
    )
    scaler = torch.cuda.amp.GradScaler(enabled=args.amp)

    start_epoch, best = 0, 0.0
    if args.resume:
        start_epoch, best = load_checkpoint(args.resume, model, optimizer, scheduler, scaler)
        print(f"resumed from {args.resume} at epoch {start_epoch}")

    for epoch in range(start_epoch, args.epochs):
        train_loss, train_acc = train_one_epoch(
            model, train_loader, optimizer, scheduler, scaler, criterion, device, args, epoch
        )
        record = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc}
        if (epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs:
            test_loss, test_acc = evaluate(model, test_loader, criterion, device)
            record.update(test_loss=test_loss, test_acc=test_acc)
            is_best = test_acc > best
            best = max(best, test_acc)
            save_checkpoint(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "best": best,
                },
                is_best,
                args.out,
            )
            print(f"epoch {epoch}: test loss {test_loss:.4f} acc {test_acc:.3f} (best {best:.3f})")
        write_log(args.out, record)


if __name__ == "__main__":
    main()
