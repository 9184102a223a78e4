import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from trainer import Trainer


def build_model(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(32, num_classes),
    )


def synthetic_mnist(n, seed):
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 1, 28, 28, generator=g),
                         torch.randint(0, 10, (n,), generator=g))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    train_loader = DataLoader(synthetic_mnist(1024, 0), batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(synthetic_mnist(256, 1), batch_size=args.batch_size)
    trainer = Trainer(build_model(), train_loader, val_loader, epochs=args.epochs,
                      lr=args.lr, weight_decay=args.weight_decay, device=device)
    trainer.fit()
