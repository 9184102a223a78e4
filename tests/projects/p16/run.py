"""Air-quality (PM2.5) regression from multivariate sensor windows with a GRU."""
import argparse
import logging

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import yaml
from torch.utils.data import DataLoader, TensorDataset

from trainer import Trainer


class GRURegressor(nn.Module):
    def __init__(self, n_features, hidden=128, layers=2):
        super().__init__()
        self.gru = nn.GRU(n_features, hidden, layers, batch_first=True, dropout=0.2)
        self.head = nn.Sequential(nn.Linear(hidden, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1]).squeeze(-1)


def windows(df, target, lookback):
    arr = df.values.astype(np.float32)
    y = df[target].values.astype(np.float32)
    xs = np.stack([arr[i:i + lookback] for i in range(len(arr) - lookback)])
    return torch.from_numpy(xs), torch.from_numpy(y[lookback:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/pm25_gru.yaml")
    parser.add_argument("--csv", default="data/beijing_pm25.csv")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)

    with open(args.config) as f:
        cfg = yaml.safe_load(f)
    cfg.setdefault("optimizer", "adam")
    cfg.setdefault("lr", 1e-3)
    cfg.setdefault("epochs", 80)
    cfg.setdefault("out_dir", "runs/pm25")

    df = pd.read_csv(args.csv).select_dtypes("number").interpolate().dropna()
    df = (df - df.mean()) / df.std()
    cut = int(0.8 * len(df))
    x_tr, y_tr = windows(df.iloc[:cut], "pm2.5", cfg.get("lookback", 48))
    x_va, y_va = windows(df.iloc[cut:], "pm2.5", cfg.get("lookback", 48))

    trainer = Trainer(GRURegressor(df.shape[1]), nn.SmoothL1Loss(), cfg)
    best = trainer.fit(DataLoader(TensorDataset(x_tr, y_tr), batch_size=256, shuffle=True),
                       DataLoader(TensorDataset(x_va, y_va), batch_size=1024))
    print(f"best validation loss: {best:.5f}")


if __name__ == "__main__":
    main()
