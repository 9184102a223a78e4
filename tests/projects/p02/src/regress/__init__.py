"""Tabular regression toolkit."""
from .engine import evaluate, train_one_epoch
from .optim_factory import build_optimizer, build_scheduler

__all__ = ["train_one_epoch", "evaluate", "build_optimizer", "build_scheduler"]
