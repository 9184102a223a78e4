import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import trange

import optim_factory
from utils import SineSeries, seed_everything


class GRURegressor(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.rnn = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)


def run_epoch(model, loader, criterion, optimizer=None):
    training = optimizer is not None
    model.train(training)
    total = 0.0
    with torch.set_grad_enabled(training):
        for x, y in loader:
            loss = criterion(model(x), y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.item() * len(x)
    return total / len(loader.dataset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--optimizer", default="adam", choices=sorted(optim_factory.OPTIMIZERS))
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--lr-factor", type=float, default=0.3)
    ap.add_argument("--lr-patience", type=int, default=4)
    cfg = ap.parse_args()
    seed_everything(0)

    train_loader = DataLoader(SineSeries(1024), batch_size=64, shuffle=True)
    val_loader = DataLoader(SineSeries(256, seed=1), batch_size=64)
    model = GRURegressor()
    criterion = nn.MSELoss()
    optimizer = optim_factory.build_optimizer(model.parameters(), cfg)
    scheduler = optim_factory.build_scheduler(optimizer, cfg)

    for epoch in trange(cfg.epochs, desc="epochs"):
        train_loss = run_epoch(model, train_loader, criterion, optimizer)
        val_loss = run_epoch(model, val_loader, criterion)
        scheduler.step()
        print(f"epoch {epoch}: train {train_loss:.5f} val {val_loss:.5f}")


if __name__ == "__main__":
    main()
