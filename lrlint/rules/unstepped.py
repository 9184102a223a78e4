"""LR004: a scheduler that nothing steps."""

from __future__ import annotations

from typing import Iterator

from ..model import RETURNED_TO_LIGHTNING, Tracked, TrainingLoopModel
from . import Finding, rule
from .queries import may_train


@rule("LR004")
def scheduler_never_stepped(model: TrainingLoopModel) -> Iterator[Finding]:
    for obj in model.schedulers():
        if obj.symbolic or obj.is_timm or model.steps_of(obj):
            continue
        if obj.entry is not None and obj.stored_on:
            continue  # built and held by another module's object: whether it is stepped is that module's business
        if _left_to_lightning_under_manual_optimization(model, obj):
            yield Finding("LR004", obj.site, {"scheduler": obj.label, "kind": obj.kind})
            continue
        if obj.escapes:
            continue
        if _reachable_from_outside(model, obj) or not _training_is_visible(model, obj):
            continue
        yield Finding("LR004", obj.site, {"scheduler": obj.label, "kind": obj.kind})


def _reachable_from_outside(model: TrainingLoopModel, obj: Tracked) -> bool:
    """Held by an object whose class does not train: whoever uses that object may step it."""
    training_classes = set()
    for step in model.optimizer_steps():
        training_classes |= step.classes
    return bool(obj.stored_on - training_classes)


def _training_is_visible(model: TrainingLoopModel, obj: Tracked) -> bool:
    """Only a file that visibly trains with this scheduler's optimizer can be said to forget it."""
    optimizers = obj.optimizers
    if any(optimizers is None or set(step.targets) & optimizers for step in model.optimizer_steps()):
        return True
    if optimizers is None:
        return any(may_train(call, None) for call in model.calls)
    # A known optimizer must itself be handed to training code (a scheduler built on a dummy
    # optimizer just to plot its curve trains nothing).
    return any(set(call.passed) & optimizers and may_train(call, optimizers) for call in model.calls)


def _left_to_lightning_under_manual_optimization(model: TrainingLoopModel, obj: Tracked) -> bool:
    """Lightning steps returned schedulers only under automatic optimization."""
    owner = obj.constructed_in_class
    return (
        owner in model.manual_optimization
        and owner not in model.fetches_lr_schedulers
        and bool(obj.escapes)
        and all(reason == RETURNED_TO_LIGHTNING for reason in obj.escapes)
    )
