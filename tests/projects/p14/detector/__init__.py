from .engine import evaluate, train_one_epoch
from .solver import build_lr_scheduler, build_optimizer

__all__ = ["build_optimizer", "build_lr_scheduler", "train_one_epoch", "evaluate"]
