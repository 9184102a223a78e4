"""Optimizer / LR-schedule construction from the experiment config."""
import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}


def build_optimizer(params, cfg):
    opt_cls = OPTIMIZERS[cfg.optimizer]
    return opt_cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def build_scheduler(optimizer, cfg):
    """Decay the LR by `factor` when the validation loss plateaus."""
    return ReduceLROnPlateau(
        optimizer,
        mode="min",
        factor=cfg.lr_factor,
        patience=cfg.lr_patience,
        threshold=1e-3,
    )
