import math

import torch
from torch.optim.lr_scheduler import OneCycleLR


def num_update_steps(loader, epochs, accum_steps):
    """Optimizer updates in the whole run (the last partial window also steps)."""
    return epochs * math.ceil(len(loader) / accum_steps)


def build_optimizer(model, lr, weight_decay):
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98),
                             weight_decay=weight_decay)


def build_scheduler(optimizer, max_lr, total_steps):
    return OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps,
                      pct_start=0.1, anneal_strategy="cos")
