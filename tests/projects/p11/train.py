import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from engine import evaluate, train_one_epoch
from optim_factory import build_optimizer, build_scheduler, describe


class BasicBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(out)))


def main():
    parser = argparse.ArgumentParser(description="ResNet-ish training")
    parser.add_argument("--epochs", type=int, default=90)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--amp", action="store_true")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), BasicBlock(32), BasicBlock(32),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)).to(device)
    x, y = torch.randn(640, 3, 32, 32), torch.randint(0, 10, (640,))
    train_loader = DataLoader(TensorDataset(x[:512], y[:512]), batch_size=args.batch_size,
                              shuffle=True)
    val_loader = DataLoader(TensorDataset(x[512:], y[512:]), batch_size=128)

    criterion = nn.CrossEntropyLoss()
    optimizer = build_optimizer(model, lr=args.lr)
    scheduler = build_scheduler(optimizer, step_size=30)
    scaler = torch.amp.GradScaler("cuda", enabled=args.amp and device.type == "cuda")
    print(describe(optimizer))

    for epoch in range(args.epochs):
        train_loss, train_acc = train_one_epoch(model, criterion, optimizer, scheduler,
                                                train_loader, scaler, device, epoch)
        val_loss, val_acc = evaluate(model, criterion, val_loader, device)
        print(f"[{epoch}] train {train_loss:.3f}/{train_acc:.3f} val {val_loss:.3f}/{val_acc:.3f}")


if __name__ == "__main__":
    main()
