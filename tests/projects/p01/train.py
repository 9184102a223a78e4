import argparse

import torch
import torch.nn as nn
from torch.optim.lr_scheduler import MultiStepLR
from torch.utils.data import DataLoader, TensorDataset

from engine import train_one_epoch, validate
from utils import adjust_learning_rate, save_checkpoint


def get_args():
    p = argparse.ArgumentParser(description="small image classifier")
    p.add_argument("--epochs", type=int, default=90)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--wd", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", default="runs/p01")
    return p.parse_args()


def make_loaders(batch_size):
    x = torch.randn(512, 3, 32, 32)
    y = torch.randint(0, 10, (512,))
    train = TensorDataset(x[:448], y[:448])
    val = TensorDataset(x[448:], y[448:])
    return (DataLoader(train, batch_size=batch_size, shuffle=True),
            DataLoader(val, batch_size=batch_size))


def main():
    args = get_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(16, 10),
    ).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr,
                                momentum=args.momentum, weight_decay=args.wd)
    scheduler = MultiStepLR(optimizer, milestones=[30, 60], gamma=0.1)
    train_loader, val_loader = make_loaders(args.batch_size)

    best_acc = 0.0
    for epoch in range(args.epochs):
        adjust_learning_rate(optimizer, epoch, args)
        train_loss, train_acc = train_one_epoch(model, train_loader, criterion,
                                                optimizer, device, epoch)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        scheduler.step()
        print(f"epoch {epoch}: train {train_loss:.3f} val {val_loss:.3f} acc {val_acc:.1f}")
        if val_acc > best_acc:
            best_acc = val_acc
            save_checkpoint({"model": model.state_dict(), "epoch": epoch}, args.out)


if __name__ == "__main__":
    main()
