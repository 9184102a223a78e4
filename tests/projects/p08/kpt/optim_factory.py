"""Optimizer and epoch-based LR schedule for keypoint regression."""

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, StepLR


def build_optimizer(model, args):
    if args.opt == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    return torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.wd)


def build_scheduler(optimizer, args):
    """Epoch-based schedule selected on the command line."""
    if args.sched == "cosine":
        return CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.min_lr)
    if args.sched == "step":
        return StepLR(optimizer, step_size=args.decay_epochs, gamma=0.1)
    raise ValueError(f"unknown scheduler {args.sched!r}")
