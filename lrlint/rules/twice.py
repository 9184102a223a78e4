"""LR014: the same scheduler stepped twice per training iteration."""

from __future__ import annotations

from itertools import combinations
from typing import Iterator, List, Optional

from ..model import Loop, Step, TrainingLoopModel
from . import Finding, rule
from .queries import Cadence, cadence


@rule("LR014")
def scheduler_stepped_twice(model: TrainingLoopModel) -> Iterator[Finding]:
    steps = [step for step in model.scheduler_steps() if _judged(step)]
    for first, second in combinations(sorted(steps, key=lambda step: step.seq), 2):
        if _stepped_twice(model, first, second):
            yield Finding("LR014", second.node, {"scheduler": second.receiver})


def _judged(step: Step) -> bool:
    """One torch scheduler, stepped with no argument or its metric (not a timm `step(epoch)`)."""
    return len(step.targets) == 1 and step.targets[0].torch_api and step.loop is not None


def _stepped_twice(model: TrainingLoopModel, first: Step, second: Step) -> bool:
    if first.targets[0] is not second.targets[0] or first.node is second.node or first.root != second.root:
        return False
    if first.excludes(second) or _opposite_branches(first, second):
        return False
    if first.loop is second.loop:  # twice in one loop body, under the same branches
        return (
            _branch_tests(first, first.loop) == _branch_tests(second, second.loop)
            and cadence(model, first) is cadence(model, second) is not None
        )
    inner, outer = _nested(first, second) or (None, None)
    if inner is None or outer is None:
        return False
    # once per batch in an inner loop, and again once per epoch in the loop around it
    return (
        cadence(model, inner) is Cadence.PER_STEP
        and cadence(model, outer) is Cadence.PER_EPOCH
        and not _branch_tests(outer, outer.loop) - _branch_tests(inner, outer.loop)  # shared branches are fine
        and not [c for c in inner.conditions_within(inner.loop) if not c.modulo]
    )


def _nested(first: Step, second: Step) -> Optional[List[Step]]:
    """[inner, outer] when one step sits in a loop nested inside the other's loop."""
    for inner, outer in ((first, second), (second, first)):
        assert inner.loop is not None and outer.loop is not None
        if any(ancestor is outer.loop for ancestor in inner.loop.ancestors()):
            return [inner, outer]
    return None


def _branch_tests(step: Step, loop: Optional[Loop]) -> frozenset:
    return frozenset(id(condition.test) for condition in step.conditions_within(loop))


def _opposite_branches(first: Step, second: Step) -> bool:
    """`if cfg.per_batch: sched.step()` ... `if not cfg.per_batch: sched.step()`: never both."""
    return any(
        mine.text == theirs.text and mine.positive != theirs.positive
        for mine in first.conditions
        for theirs in second.conditions
    )
