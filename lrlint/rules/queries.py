"""Questions the rules ask of the model: which optimizer a scheduler drives, how often it steps."""

from __future__ import annotations

import re
from enum import Enum
from typing import FrozenSet, Iterable, List, Optional, Union

from ..model import Loop, LoopKind, OpaqueCall, Role, Step, Tracked, TrainingLoopModel, known

Activity = Union[Step, OpaqueCall]


class Cadence(Enum):
    PER_STEP = "once per optimizer step"
    PER_EPOCH = "once per epoch"


def driven_optimizers(model: TrainingLoopModel, step: Step) -> Optional[FrozenSet[Tracked]]:
    """The optimizers the stepped scheduler(s) drive; None when unknown (then: any optimizer)."""
    driven = set()
    for target in step.targets:
        if target.optimizers is None:
            return None
        driven |= target.optimizers
    # A wrapper (Lookahead, a prepared optimizer) may be stepped instead of the driven object.
    if not any(_touches(activity, driven) for activity in _all_activity(model)):
        return None
    return frozenset(driven)


def _all_activity(model: TrainingLoopModel) -> Iterable[Activity]:
    yield from model.optimizer_steps()
    yield from model.calls


def _touches(activity: Activity, optimizers: Iterable[Tracked]) -> bool:
    targets = activity.targets if isinstance(activity, Step) else activity.passed
    return any(obj in optimizers for obj in targets)


def optimizer_steps_of(model: TrainingLoopModel, optimizers: Optional[FrozenSet[Tracked]]) -> List[Step]:
    return [s for s in model.optimizer_steps() if optimizers is None or _touches(s, optimizers)]


def may_train(call: OpaqueCall, optimizers: Optional[FrozenSet[Tracked]]) -> bool:
    """Might this call we cannot see step these optimizers (None: any optimizer)?

    Yes when it is handed one of them, or, handed no optimizer, when its name says it trains
    (`train_one_epoch`, `trainer.fit`); never for calls that only read or save it."""
    last = call.callee.rsplit(".", 1)[-1]
    if last in known.NON_STEPPING_CALLS or known.NOT_TRAINING_CALL.search(last):
        return False
    passed = [obj for obj in call.passed if obj.role is Role.OPTIMIZER]
    if passed and optimizers is not None:
        return any(obj in optimizers for obj in passed)  # it trains the optimizers it is given
    return call.trains or bool(passed)


def cadence(model: TrainingLoopModel, step: Step) -> Optional[Cadence]:
    """How often ``step`` runs relative to the optimizer steps; None when the analysis cannot tell."""
    loop = step.loop
    if loop is None:
        return None
    if only_on_last_iteration(step, loop):
        return Cadence.PER_EPOCH
    optimizers = driven_optimizers(model, step)
    in_iteration = [s for s in optimizer_steps_of(model, optimizers) if s.in_iteration_of(loop)]
    if any(s.loop is loop for s in in_iteration):
        return Cadence.PER_STEP
    if in_iteration:  # every optimizer step of this iteration sits in a nested loop
        return Cadence.PER_EPOCH
    training_calls = [c for c in model.calls if c.loop is loop and may_train(c, optimizers)]
    if loop.kind is LoopKind.EPOCH:
        return Cadence.PER_EPOCH if training_calls else None
    if loop.kind is LoopKind.BATCH:
        return Cadence.PER_STEP
    names = " ".join(c.callee.rsplit(".", 1)[-1] for c in training_calls)
    if "epoch" in names.lower():
        return Cadence.PER_EPOCH
    return None


_LAST_ITERATION = re.compile(r"==len\(|len\([^)]*\)(-1)?==|is_?last|last_?(batch|step|iter)", re.I)


def only_on_last_iteration(step: Step, loop: Loop) -> bool:
    """`if batch_idx == len(loader) - 1: scheduler.step()` runs once per pass over the loader."""
    return any(
        condition.positive
        and not condition.modulo
        and not condition.compound
        and _LAST_ITERATION.search(condition.text)
        for condition in step.conditions_within(loop)
    )


def in_epoch_loop(loop: Loop) -> bool:
    return any(ancestor.kind is LoopKind.EPOCH for ancestor in loop.ancestors())
