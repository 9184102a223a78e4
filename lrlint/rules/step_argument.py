"""LR006: an argument passed to step() of a scheduler that takes none."""

from __future__ import annotations

from typing import Iterator

from ..model import Tracked, TrainingLoopModel
from . import Finding, rule


def _takes_no_argument(obj: Tracked) -> bool:
    return obj.torch_api and not obj.needs_metric and not obj.spec.epoch_argument_ok


@rule("LR006")
def step_argument_on_non_plateau_scheduler(model: TrainingLoopModel) -> Iterator[Finding]:
    for step in model.scheduler_steps():
        argument = step.positional_args[0] if step.positional_args else step.keyword("epoch")
        if argument is None or not step.targets:
            continue
        matching = [t for t in step.targets if _takes_no_argument(t)]
        if not matching or (not step.each and len(matching) != len(step.targets)):
            continue
        fields = {"scheduler": step.receiver, "argument": model.text(argument.value), "kind": matching[0].kind}
        yield Finding("LR006", step.node, fields)
