"""LR011: a Lightning `configure_optimizers` config that Lightning will step wrongly."""

from __future__ import annotations

from typing import Iterator

from ..model import TrainingLoopModel
from . import Finding, rule
from .cadence import counts_steps


@rule("LR011")
def lightning_scheduler_config(model: TrainingLoopModel) -> Iterator[Finding]:
    for config in model.lightning_configs:
        if config.class_name in model.manual_optimization:
            continue  # the module steps its schedulers itself; Lightning reads no interval
        scheduler = config.schedulers[0]
        if len(config.schedulers) != 1 or scheduler.symbolic:
            continue
        if counts_steps(scheduler) and config.interval in (None, "epoch"):
            problem = (
                f"`{scheduler.label}` ({scheduler.kind}) counts optimizer steps but is returned without "
                '`"interval": "step"`; Lightning steps it once per epoch'
            )
            yield Finding("LR011", config.node, {"problem": problem})
        elif scheduler.needs_metric and scheduler.torch_api and not config.has_monitor:
            problem = (
                f'`{scheduler.label}` (ReduceLROnPlateau) is returned without a `"monitor"`; '
                "Lightning stops the run with an error when it has to step it"
            )
            yield Finding("LR011", config.node, {"problem": problem})
