"""Optimizer and LR schedule for the Trainer."""
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR


def param_groups(model, weight_decay):
    """No weight decay on biases and normalisation layers."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)) or name == "bias":
                no_decay.append(param)
            else:
                decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def create_optimizer(model, lr, weight_decay):
    return torch.optim.SGD(param_groups(model, weight_decay), lr=lr,
                           momentum=0.9, nesterov=True)


def create_scheduler(optimizer, epochs, min_lr=1e-5):
    """Cosine decay over the whole run, one step per epoch."""
    return CosineAnnealingLR(optimizer, T_max=epochs, eta_min=min_lr)
