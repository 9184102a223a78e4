"""Solver construction (optimizer + LR schedule) for the detection trainer."""
import torch


def build_optimizer(model, cfg):
    params = []
    for key, value in model.named_parameters():
        if not value.requires_grad:
            continue
        lr = cfg.base_lr
        weight_decay = cfg.weight_decay
        if "bias" in key:
            lr = cfg.base_lr * cfg.bias_lr_factor
            weight_decay = 0.0
        params.append({"params": [value], "lr": lr, "weight_decay": weight_decay})
    return torch.optim.SGD(params, lr=cfg.base_lr, momentum=0.9)


def build_lr_scheduler(optimizer, cfg):
    # milestones are given in epochs (e.g. the "1x" schedule: 8 and 11 of 12 epochs)
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=cfg.lr_steps, gamma=cfg.lr_gamma)
