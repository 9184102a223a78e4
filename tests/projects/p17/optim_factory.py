"""Optimizer and per-iteration LR schedule (timm)."""
import torch
from timm.scheduler import CosineLRScheduler


def build_optimizer(model, lr, weight_decay):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim == 1 or name.endswith(".bias") else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr)


def build_scheduler(optimizer, epochs, warmup_epochs, iters_per_epoch, min_lr=1e-6):
    # iteration-based: the scheduler is advanced with step_update(num_updates)
    return CosineLRScheduler(
        optimizer,
        t_initial=epochs * iters_per_epoch,
        lr_min=min_lr,
        warmup_t=warmup_epochs * iters_per_epoch,
        warmup_lr_init=1e-7,
        warmup_prefix=True,
        t_in_epochs=False,
    )
