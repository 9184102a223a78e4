import random

import numpy as np
import torch
from torch.utils.data import Dataset


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class SineSeries(Dataset):
    """Windows of a noisy sine wave; predict the next value."""

    def __init__(self, n_windows, window=32, seed=0):
        rng = np.random.default_rng(seed)
        t = np.arange(n_windows + window + 1) * 0.1
        series = np.sin(t) + 0.05 * rng.standard_normal(t.shape)
        self.series = torch.tensor(series, dtype=torch.float32)
        self.window = window
        self.n = n_windows

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = self.series[i:i + self.window].unsqueeze(-1)
        y = self.series[i + self.window]
        return x, y
