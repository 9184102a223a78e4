import torch
from torch.optim.lr_scheduler import OneCycleLR


def build_optimizer(model, args):
    return torch.optim.SGD(
        model.parameters(),
        lr=args.lr,
        momentum=0.9,
        weight_decay=args.weight_decay,
        nesterov=True,
    )


def build_scheduler(optimizer, args, steps_per_epoch):
    """One-cycle policy: warm up for 30% of training, then anneal."""
    return OneCycleLR(
        optimizer,
        max_lr=args.lr,
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        pct_start=0.3,
        div_factor=25.0,
    )
