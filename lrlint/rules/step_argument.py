"""LR006: an argument passed to step() of a scheduler that takes none."""

from __future__ import annotations

from typing import Iterator, List, Optional

import libcst as cst

from ..fixes import SAFE, UNSAFE
from ..model import LoopKind, Step, Tracked, TrainingLoopModel
from ..model.syntax import is_number_literal, last_name
from . import Finding, rule
from .proposals import ReplaceNode


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
        yield Finding("LR006", step.node, fields, _drop_epoch(step, argument))


def _drop_epoch(step: Step, argument: cst.Arg) -> Optional[ReplaceNode]:
    """`step(epoch)` -> `step()`, when the argument is an epoch: the `epoch=` keyword, a name with
    "epoch" in it, or the target of an epoch loop around the call. A metric passed by mistake
    (`step(val_loss)`) gets no fix: the user probably meant ReduceLROnPlateau. Under a condition
    (`if epoch > warmup: scheduler.step(epoch)`) the count of steps is not the epoch number, so
    dropping it shifts the schedule: only a suggestion there."""
    if len(step.args) != 1 or not _is_epoch(step, argument):
        return None
    conditional = step.loop is None or any(True for _ in step.conditions_within(step.loop))
    return ReplaceNode(
        step.node,
        step.node.with_changes(args=()),
        "Remove the deprecated epoch argument",
        UNSAFE if conditional else SAFE,
    )


def _is_epoch(step: Step, argument: cst.Arg) -> bool:
    if argument.keyword is not None:
        return argument.keyword.value == "epoch"
    epoch_targets = {name for loop in step.loops if loop.kind is LoopKind.EPOCH for name in loop.targets}
    terms = [operand for operand in _operands(argument.value) if not is_number_literal(operand)]
    names = [last_name(term) if isinstance(term, (cst.Name, cst.Attribute)) else None for term in terms]
    return bool(names) and all(name and ("epoch" in name.lower() or name in epoch_targets) for name in names)


def _operands(expression: cst.BaseExpression) -> List[cst.BaseExpression]:
    """`epoch + 1` -> [epoch, 1]: the terms of a sum (or any arithmetic)."""
    if isinstance(expression, cst.BinaryOperation):
        return _operands(expression.left) + _operands(expression.right)
    return [expression]
