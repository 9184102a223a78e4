"""LR015: a scheduler driving an optimizer that nothing steps, while another one is stepped."""

from __future__ import annotations

from typing import Iterator, List

from ..model import Role, Tracked, TrainingLoopModel
from . import Finding, rule
from .queries import may_train


@rule("LR015")
def scheduler_optimizer_mismatch(model: TrainingLoopModel) -> Iterator[Finding]:
    stepped = _stepped_optimizers(model)
    for scheduler in model.schedulers():
        if not scheduler.torch_api or not scheduler.optimizers or not model.steps_of(scheduler):
            continue
        for optimizer in scheduler.optimizers:
            others = [other for other in stepped if other is not optimizer and other.root == optimizer.root]
            if others and _idle(model, optimizer):
                idle_name, stepped_name = _names(model, optimizer, others[0])  # `stepped` is still looped over
                fields = {"scheduler": scheduler.label, "optimizer": idle_name, "stepped": stepped_name}
                yield Finding("LR015", scheduler.site, fields)


def _stepped_optimizers(model: TrainingLoopModel) -> List[Tracked]:
    """Optimizers constructed here and visibly stepped (or handed to a call that trains)."""
    found: List[Tracked] = []
    for obj in model.objects:
        if obj.role is Role.OPTIMIZER and not obj.symbolic and _used(model, obj) and obj not in found:
            found.append(obj)
    return found


def _used(model: TrainingLoopModel, optimizer: Tracked) -> bool:
    return any(optimizer in step.targets for step in model.optimizer_steps()) or any(
        optimizer in call.passed and may_train(call, frozenset({optimizer})) for call in model.calls
    )


def _idle(model: TrainingLoopModel, optimizer: Tracked) -> bool:
    """Constructed here, never stepped, never handed to code we cannot see, held by nothing."""
    if optimizer.symbolic or optimizer.escapes or optimizer.stored_on or _used(model, optimizer):
        return False
    return not any(optimizer in call.passed for call in model.calls)


def _names(model: TrainingLoopModel, idle: Tracked, stepped: Tracked) -> tuple:
    """How the message names the two: by variable, or by construction when one name was rebound."""
    if idle.label != stepped.label:
        return idle.label, stepped.label
    return tuple(f"{obj.label} = {obj.kind}(...)" for obj in (idle, stepped))
