"""LR005: ReduceLROnPlateau stepped without the metric it monitors."""

from __future__ import annotations

import re
from typing import Iterator

from ..model import Condition, Step, TrainingLoopModel
from . import Finding, rule

_OTHER_SCHEDULER = re.compile(r"\b\w*(LR|Scheduler)\b|WarmRestarts")
_PLATEAU = re.compile(r"Plateau")


def _rules_out_plateau(condition: Condition, scheduler: str) -> bool:
    """`if isinstance(scheduler, OneCycleLR):` / `if not isinstance(scheduler, ReduceLROnPlateau):`."""
    if scheduler not in condition.names:
        return False
    if condition.positive:
        return bool(_OTHER_SCHEDULER.search(condition.text)) and not _PLATEAU.search(condition.text)
    return bool(_PLATEAU.search(condition.text))


def _without_metric(step: Step) -> bool:
    return not step.positional_args and step.keyword("metrics") is None and not any(a.star for a in step.args)


@rule("LR005")
def plateau_step_without_metric(model: TrainingLoopModel) -> Iterator[Finding]:
    for step in model.scheduler_steps():
        if not _without_metric(step):
            continue
        plateaus = [t for t in step.targets if t.needs_metric and not t.symbolic]
        if plateaus and (step.each or len(plateaus) == len(step.targets)):
            yield Finding("LR005", step.node, {"scheduler": step.receiver, "kind": plateaus[0].kind})
    yield from _lightning_overrides(model)


def _lightning_overrides(model: TrainingLoopModel) -> Iterator[Finding]:
    """`lr_scheduler_step(self, scheduler, metric)` that drops `metric` in a module using a plateau."""
    for override in model.overrides:
        if override.uses_metric:
            continue
        uses_plateau = any(
            obj.needs_metric and obj.constructed_in_class == override.class_name for obj in model.schedulers()
        )
        if not uses_plateau:
            continue
        for step in model.scheduler_steps():
            if override.scheduler not in step.targets or not _without_metric(step):
                continue
            if any(_rules_out_plateau(condition, step.receiver) for condition in step.conditions):
                continue
            yield Finding("LR005", step.node, {"scheduler": step.receiver, "kind": "ReduceLROnPlateau"})
