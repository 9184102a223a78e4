"""Helpers for the detection-style recipe: warm-up and logging."""
import time

import torch
from torch.optim.lr_scheduler import LinearLR


def build_warmup_scheduler(optimizer, data_loader, warmup_factor=1.0 / 1000, max_iters=1000):
    """Linear warm-up over the first iterations of the first epoch only."""
    warmup_iters = min(max_iters, len(data_loader) - 1)
    return LinearLR(optimizer, start_factor=warmup_factor, total_iters=warmup_iters)


class SmoothedValue:
    def __init__(self, window=20):
        self.window = window
        self.values = []

    def update(self, value):
        self.values.append(float(value))
        self.values = self.values[-self.window:]

    @property
    def median(self):
        return float(torch.tensor(self.values).median()) if self.values else 0.0


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.start
