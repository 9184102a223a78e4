"""LR010: ``scheduler.get_lr()`` called outside a scheduler's own implementation."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..model import Tracked, TrainingLoopModel
from . import Finding, rule
from .proposals import ReplaceNode


@rule("LR010")
def get_lr_outside_scheduler(model: TrainingLoopModel) -> Iterator[Finding]:
    for read in model.reads:
        if read.method != "get_lr" or read.in_scheduler_class:
            continue
        # torch's get_lr() only: a timm or home-made scheduler may give get_lr() a meaning of its own
        if all(_torch_get_lr(target) for target in read.targets):
            fix = ReplaceNode(read.node.func.attr, cst.Name("get_last_lr"), "Use `get_last_lr()`")
            yield Finding("LR010", read.node, {"scheduler": read.receiver}, fix)


def _torch_get_lr(target: Tracked) -> bool:
    """A torch class, or a subclass here that leaves torch's get_lr() alone."""
    if target.torch_api:
        return True
    return target.custom and target.spec is not None and target.spec.torch_step_api and not target.own_get_lr
