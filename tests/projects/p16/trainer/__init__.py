from .loop import Trainer
from .optim import make_optimizer, make_scheduler

__all__ = ["Trainer", "make_optimizer", "make_scheduler"]
