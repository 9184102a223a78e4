"""LR017: a timm scheduler stepped only through the API its ``t_in_epochs`` setting ignores."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from ..model import Tracked, TrainingLoopModel
from ..model.syntax import argument
from . import Finding, rule

# timm's Scheduler.step(epoch) acts only when t_in_epochs is True, step_update(num_updates) only
# when it is False. timm's own train.py calls both, one of them a no-op: only a scheduler that
# never gets the working call is reported.
WORKING_CALL = {True: "step", False: "step_update"}


@rule("LR017")
def timm_step_api_mismatch(model: TrainingLoopModel) -> Iterator[Finding]:
    for obj in model.schedulers():
        if not obj.is_timm or obj.node is None:
            continue
        t_in_epochs = _t_in_epochs(obj)
        if t_in_epochs is None:
            continue
        steps = model.steps_of(obj)
        working, ignored = WORKING_CALL[t_in_epochs], WORKING_CALL[not t_in_epochs]
        if any(step.method == working for step in steps):
            continue
        for step in steps:
            if step.method == ignored and len(step.targets) == 1:
                fields = {"scheduler": step.receiver, "method": ignored, "t_in_epochs": t_in_epochs, "instead": working}
                yield Finding("LR017", step.node, fields)


def _t_in_epochs(obj: Tracked) -> Optional[bool]:
    """The literal ``t_in_epochs`` (``step_on_epochs`` for create_scheduler_v2); the classes default
    to True; None when it comes from a config."""
    assert obj.node is not None
    factory = (obj.qualname or "").rsplit(".", 1)[-1]
    if factory == "create_scheduler":
        return None  # from args.sched_on_updates and friends
    keyword = "step_on_epochs" if factory == "create_scheduler_v2" else "t_in_epochs"
    value = argument(obj.node, keyword, position=len(obj.node.args))  # by keyword only
    if value is None:
        return None if any(arg.star for arg in obj.node.args) else True  # **config may set it
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value == "True"
    return None
