"""LR011: a Lightning `configure_optimizers` config that Lightning will step wrongly."""

from __future__ import annotations

from typing import Iterator, Optional, Union

import libcst as cst

from ..fixes import UNSAFE
from ..model import TrainingLoopModel
from . import Finding, rule
from .cadence import counts_steps
from .proposals import InsertAfterNode, ReplaceNode


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
            yield Finding("LR011", config.node, {"problem": problem}, _interval_step(config.node))
        elif scheduler.needs_metric and scheduler.torch_api and not config.has_monitor:
            problem = (
                f'`{scheduler.label}` (ReduceLROnPlateau) is returned without a `"monitor"`; '
                "Lightning stops the run with an error when it has to step it"
            )
            yield Finding("LR011", config.node, {"problem": problem})


def _interval_step(config: cst.CSTNode) -> Optional[Union[InsertAfterNode, ReplaceNode]]:
    """Add `"interval": "step"` beside the scheduler: in its config dict, or by giving it one
    (`"lr_scheduler": sched` and `return [opt], [sched]`). An explicit `"interval": "epoch"`
    becomes `"step"` only as a suggestion: someone chose it."""
    message = 'Add `"interval": "step"`'
    if isinstance(config, cst.Return):  # `return [optimizer], [scheduler]`
        scheduler = _only_scheduler_of_bare_lists(config)
        if scheduler is None:
            return None
        return ReplaceNode(scheduler, _config_dict(scheduler, '"'), message)
    if not isinstance(config, cst.Dict):
        return None
    entries = {_key(element): element for element in config.elements if isinstance(element, cst.DictElement)}
    quote = next((element.key.value[-1] for element in entries.values() if _key(element)), '"')  # type: ignore[attr-defined]
    if "scheduler" not in entries:
        flat = entries.get("lr_scheduler")
        if flat is None or isinstance(flat.value, cst.Dict):
            return None
        return ReplaceNode(flat.value, _config_dict(flat.value, quote), message)
    interval = entries.get("interval")
    if interval is None:
        return InsertAfterNode(entries["scheduler"].value, f", {quote}interval{quote}: {quote}step{quote}", message)
    if _key_of_value(interval.value) == "epoch":
        return ReplaceNode(interval.value, f"{quote}step{quote}", 'Use `"interval": "step"`', UNSAFE)
    return None


def _config_dict(scheduler: cst.BaseExpression, quote: str) -> cst.Dict:
    def string(text: str) -> cst.SimpleString:
        return cst.SimpleString(f"{quote}{text}{quote}")

    return cst.Dict(
        [cst.DictElement(string("scheduler"), scheduler), cst.DictElement(string("interval"), string("step"))]
    )


def _only_scheduler_of_bare_lists(returned: cst.Return) -> Optional[cst.BaseExpression]:
    """The scheduler in `return [optimizer], [scheduler]` (lists or tuples), if that is the shape."""
    if not isinstance(returned.value, cst.Tuple):
        return None
    parts = returned.value.elements
    if len(parts) != 2 or not isinstance(parts[1].value, (cst.List, cst.Tuple)):
        return None
    schedulers = parts[1].value.elements
    if len(schedulers) != 1 or not isinstance(schedulers[0], cst.Element):
        return None
    return schedulers[0].value


def _key(element: cst.DictElement) -> Optional[str]:
    return _key_of_value(element.key)


def _key_of_value(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, cst.SimpleString) and node.prefix.lower() in ("", "u"):
        return node.evaluated_value  # type: ignore[return-value]
    return None
