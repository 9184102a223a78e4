import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau


def build_optimizer(model, cfg):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if name.endswith("bias") else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def build_scheduler(optimizer, cfg):
    # halve the LR when the validation loss stops improving
    return ReduceLROnPlateau(
        optimizer,
        mode="min",
        factor=0.5,
        patience=cfg.patience,
        min_lr=1e-6,
    )
