import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader

from trainer import Trainer
from utils import RatingsDataset, dump_history

N_USERS, N_ITEMS = 500, 300


class MatrixFactorization(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.user = nn.Embedding(N_USERS, dim)
        self.item = nn.Embedding(N_ITEMS, dim)
        self.bias = nn.Parameter(torch.tensor(3.0))

    def forward(self, users, items):
        return (self.user(users) * self.item(items)).sum(-1) + self.bias


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--step-size", type=int, default=10)
    ap.add_argument("--gamma", type=float, default=0.5)
    ap.add_argument("--out", default="runs/mf")
    args = ap.parse_args()

    train_loader = DataLoader(RatingsDataset(N_USERS, N_ITEMS, 20000), batch_size=256, shuffle=True)
    val_loader = DataLoader(RatingsDataset(N_USERS, N_ITEMS, 4000, seed=1), batch_size=1024)
    model = MatrixFactorization()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.step_size,
                                                gamma=args.gamma)
    trainer = Trainer(model, optimizer, scheduler, train_loader, val_loader)
    history = trainer.fit(args.epochs)
    dump_history(history, args.out)


if __name__ == "__main__":
    main()
