import torch
from torch.optim.lr_scheduler import OneCycleLR


def build_optimizer(model, args):
    return torch.optim.SGD(model.parameters(), lr=args.max_lr / args.div_factor,
                           momentum=0.9, weight_decay=args.weight_decay, nesterov=True)


def build_scheduler(optimizer, args, steps_per_epoch):
    """Per-iteration one-cycle schedule; must be stepped after every optimizer step."""
    return OneCycleLR(
        optimizer,
        max_lr=args.max_lr,
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        div_factor=args.div_factor,
        anneal_strategy="linear",
    )


def get_lr(optimizer):
    return optimizer.param_groups[0]["lr"]
