import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from regress import build_optimizer, build_scheduler, evaluate, train_one_epoch


class SyntheticTabular(Dataset):
    def __init__(self, n, dim=16, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, dim, generator=g)
        self.y = self.x[:, :4].sum(dim=1) + 0.1 * torch.randn(n, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-2)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=128)
    return ap.parse_args()


def main():
    cfg = parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = nn.Sequential(nn.Linear(16, 64), nn.GELU(), nn.Linear(64, 1)).to(device)
    train_loader = DataLoader(SyntheticTabular(2048), batch_size=cfg.batch_size, shuffle=True)
    val_loader = DataLoader(SyntheticTabular(512, seed=1), batch_size=cfg.batch_size)

    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg)

    for epoch in range(cfg.epochs):
        train_loss = train_one_epoch(model, train_loader, optimizer, device)
        val_loss = evaluate(model, val_loader, device)
        scheduler.step(val_loss)
        lr = optimizer.param_groups[0]["lr"]
        print(f"[{epoch:03d}] train={train_loss:.4f} val={val_loss:.4f} lr={lr:.2e}")


if __name__ == "__main__":
    main()
