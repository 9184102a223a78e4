import torch


def make_optimizer(cfg, model):
    if cfg["optimizer"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg.get("weight_decay", 0.0))
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=0.9,
                               weight_decay=cfg.get("weight_decay", 0.0))
    raise ValueError(f"unknown optimizer {cfg['optimizer']}")


def make_scheduler(cfg, optimizer):
    """Halve the LR when the validation loss stops improving."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        factor=cfg.get("lr_factor", 0.5),
        patience=cfg.get("lr_patience", 5),
        min_lr=cfg.get("min_lr", 1e-6),
    )
