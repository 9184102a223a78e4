"""Optimizer / LR schedule construction shared by the training scripts."""
import torch
from transformers import get_cosine_schedule_with_warmup


def param_groups_weight_decay(model, weight_decay, skip=("bias", "norm")):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or any(s in name.lower() for s in skip):
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": no_decay, "weight_decay": 0.0},
            {"params": decay, "weight_decay": weight_decay}]


def build_optimizer(model, cfg):
    groups = param_groups_weight_decay(model, cfg.weight_decay)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.999))


def build_scheduler(optimizer, cfg, steps_per_epoch):
    """Cosine decay with linear warm-up; horizon measured in optimizer steps."""
    num_training_steps = cfg.epochs * steps_per_epoch
    num_warmup_steps = cfg.warmup_epochs * steps_per_epoch
    return get_cosine_schedule_with_warmup(
        optimizer,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
    )
