"""Optimizer / scheduler construction for the ResNet-style recipe."""

import torch
from torch.optim.lr_scheduler import StepLR


def build_optimizer(model, lr=0.1, momentum=0.9, weight_decay=1e-4):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                           weight_decay=weight_decay)


def build_scheduler(optimizer, step_size=30, gamma=0.1):
    """Classic ResNet recipe: divide the LR by 10 every 30 epochs."""
    return StepLR(optimizer, step_size=step_size, gamma=gamma)


def describe(optimizer):
    group = optimizer.param_groups[0]
    return (f"{type(optimizer).__name__}(lr={group['lr']}, "
            f"momentum={group.get('momentum', 0)}, wd={group['weight_decay']})")
