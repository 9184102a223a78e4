"""LR010: ``scheduler.get_lr()`` called outside a scheduler's own implementation."""

from __future__ import annotations

from typing import Iterator

from ..model import TrainingLoopModel
from . import Finding, rule


@rule("LR010")
def get_lr_outside_scheduler(model: TrainingLoopModel) -> Iterator[Finding]:
    for read in model.reads:
        if read.method != "get_lr" or read.in_scheduler_class:
            continue
        # Only torch's own classes: a timm or home-made scheduler may give get_lr() a meaning of its own.
        if all(target.torch_api for target in read.targets):
            yield Finding("LR010", read.node, {"scheduler": read.receiver})
