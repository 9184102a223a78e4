"""LR013: a learning rate set by hand in the training loop while a scheduler drives it."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from ..model import Condition, LearningRateWrite, Tracked, TrainingLoopModel
from . import Finding, rule


@rule("LR013")
def manual_lr_with_scheduler(model: TrainingLoopModel) -> Iterator[Finding]:
    for write in model.lr_writes:
        if write.loop is None or any(_warm_up(condition) for condition in write.conditions):
            continue  # set before training (a resume), or a warm-up that hands over to the scheduler
        scheduler = _fighting_scheduler(model, write)
        if scheduler is not None:
            optimizer = sorted(opt.label for opt in write.optimizers)[0]
            yield Finding("LR013", write.node, {"optimizer": optimizer, "scheduler": scheduler.label})


def _warm_up(condition: Condition) -> bool:
    """`if epoch < warmup_epochs:` / `if ni <= nw:` (or the else of `if step > warmup:`): a ramp
    over the first iterations, which hands over to the scheduler."""
    if "warm" in condition.text.lower():
        return True
    test = condition.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    below = (cst.LessThan, cst.LessThanEqual) if condition.positive else (cst.GreaterThan, cst.GreaterThanEqual)
    return isinstance(test.comparisons[0].operator, below)


def _fighting_scheduler(model: TrainingLoopModel, write: LearningRateWrite) -> Optional[Tracked]:
    """A torch scheduler of the same optimizer, stepped in the same training loop as the write and
    not only in the other branch of an `if` around it."""
    for scheduler in model.schedulers():
        if not scheduler.torch_api or not (scheduler.optimizers and scheduler.optimizers & write.optimizers):
            continue
        if _reset_before_building(scheduler, write):
            continue
        for step in model.steps_of(scheduler):
            if step.root == write.root and not step.excludes(write) and _share_a_loop(step.loops, write.loops):
                return scheduler
    return None


def _reset_before_building(scheduler: Tracked, write: LearningRateWrite) -> bool:
    """`for fold ...: group["lr"] = base_lr; scheduler = CosineAnnealingLR(...)`: the learning rate
    is reset for the scheduler built right after it in the same iteration."""
    return (
        scheduler.root == write.root
        and write.seq < scheduler.created_seq
        and bool(write.loops)
        and _share_a_loop(write.loops[-1:], scheduler.created_in)
    )


def _share_a_loop(first: tuple, second: tuple) -> bool:
    return any(mine is theirs for mine in first for theirs in second)
