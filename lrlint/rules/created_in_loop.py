"""LR008: a scheduler constructed inside the training loop, so its schedule restarts."""

from __future__ import annotations

from typing import Iterator

from ..model import Loop, LoopKind, Tracked, TrainingLoopModel
from . import Finding, rule


@rule("LR008")
def scheduler_created_in_loop(model: TrainingLoopModel) -> Iterator[Finding]:
    for obj in model.schedulers():
        if obj.symbolic or obj.is_timm or not obj.created_in:
            continue
        loop = obj.created_in[-1]
        if loop.kind is LoopKind.UNKNOWN or _created_conditionally(obj, loop):
            continue  # `for fold/stage/trial in ...:` starts anew on purpose; `if epoch == 10:` builds it once
        if any(step.in_iteration_of(loop) for step in model.steps_of(obj)):
            yield Finding("LR008", obj.site, {"scheduler": obj.label, "kind": obj.kind})


def _created_conditionally(obj: Tracked, loop: Loop) -> bool:
    return any(
        condition.loop is loop or (condition.loop is not None and loop in condition.loop.ancestors())
        for condition in obj.created_under
    )
