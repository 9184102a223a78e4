"""LR012: a schedule's literal horizon disagrees with the literal length of the loop stepping it."""

from __future__ import annotations

from typing import Iterator, List, Optional

import libcst as cst

from ..model import Loop, LoopKind, Step, Tracked, TrainingLoopModel
from ..model.syntax import argument, number_literal
from . import Finding, rule
from .queries import Cadence, cadence


@rule("LR012")
def schedule_horizon_mismatch(model: TrainingLoopModel) -> Iterator[Finding]:
    for obj in model.schedulers():
        if not obj.torch_api or obj.node is None:
            continue
        for step in model.steps_of(obj):
            problem = _mismatch(model, obj, step)
            if problem is not None:
                horizon, count, consequence = problem
                fields = {
                    "scheduler": obj.label,
                    "kind": obj.kind,
                    "horizon": _number(horizon),
                    "count": _number(count),
                    "consequence": consequence,
                }
                yield Finding("LR012", obj.site, fields)
                break


def _mismatch(model: TrainingLoopModel, obj: Tracked, step: Step) -> Optional[tuple]:
    """(horizon, steps, consequence) when the literal numbers disagree; None otherwise."""
    loop = step.loop
    if loop is None or step.method != "step" or len(step.targets) != 1:
        return None
    pace = cadence(model, step)
    name = obj.kind
    phases = _phase_loop(step, loop)
    if phases is not None and pace is Cadence.PER_EPOCH:
        loop = phases.parent  # `for phase in ["train", "val"]: ... if phase == "train": step()`
    conditions = [c for c in step.conditions_within(_epoch_loop(loop, pace)) if phases is None or c.loop is not phases]
    # `if epoch < swa_start:` / `if epoch % 2:` around a per-epoch step: fewer steps than epochs
    # (a modulo inside the batch loop is gradient accumulation: the epochs still count)
    if any(not condition.modulo or pace is Cadence.PER_EPOCH for condition in conditions):
        return None
    if pace is Cadence.PER_EPOCH and loop is not None and loop.count is not None:
        epochs = loop.count
        horizon = obj.horizon_literal  # T_max, total_iters: the literal (or a name bound to one)
        if name == "CosineAnnealingLR" and horizon is not None and horizon < epochs:
            return horizon, epochs, f"after step {_number(horizon)} the learning rate climbs back up"
        if name == "PolynomialLR" and horizon is not None and horizon < epochs:
            return horizon, epochs, "the learning rate stays at its final value for the remaining steps"
        total = number_literal(argument(obj.node, "total_steps", 2))
        if name == "OneCycleLR" and total is not None and total < epochs:
            return total, epochs, f"it raises a ValueError at step {_number(total + 1)}"
        milestones = _milestones(obj)
        if name == "MultiStepLR" and milestones and min(milestones) >= epochs:
            return min(milestones), epochs, "none of its milestones is ever reached"
    if pace is Cadence.PER_STEP and name == "OneCycleLR":
        planned = number_literal(argument(obj.node, "epochs", 3))
        outer = next((a for a in loop.ancestors() if a.kind is LoopKind.EPOCH and a.count is not None), None)
        if planned is not None and outer is not None and planned < outer.count:
            return planned, outer.count, f"it raises a ValueError in epoch {_number(planned + 1)}"
        total, steps = number_literal(argument(obj.node, "total_steps", 2)), _iterations(loop)
        if total is not None and steps is not None and not conditions and total < steps:
            return total, steps, f"it raises a ValueError at step {_number(total + 1)}"
    return None


def _phase_loop(step: Step, loop: Loop) -> Optional[Loop]:
    """The loop of `for phase in ["train", "val"]:` when the step runs under `if phase == "train":`,
    that is once per iteration of the loop around it; None otherwise."""
    node = loop.node
    if loop.parent is None or not isinstance(node, cst.For) or not isinstance(node.iter, (cst.List, cst.Tuple)):
        return None
    if not isinstance(node.target, cst.Name) or not all(
        isinstance(e.value, cst.SimpleString) for e in node.iter.elements
    ):
        return None
    tests = [c for c in step.conditions if c.loop is loop]
    selects_one = [
        c
        for c in tests
        if c.positive
        and isinstance(c.test, cst.Comparison)
        and len(c.test.comparisons) == 1
        and isinstance(c.test.comparisons[0].operator, cst.Equal)
        and c.names == frozenset({node.target.value})
    ]
    return loop if tests and len(selects_one) == len(tests) else None


def _iterations(loop: Loop) -> Optional[float]:
    """How often the body of ``loop`` runs in all, when every loop around it has a literal length."""
    count = loop.count
    for ancestor in loop.ancestors():
        if count is None or ancestor.count is None:
            return None
        count *= ancestor.count
    return count


def _epoch_loop(loop: Loop, pace: Optional[Cadence]) -> Loop:
    """The loop whose iterations count the epochs: the step's own loop for a per-epoch step, the
    nearest epoch loop around it for a per-batch one."""
    if pace is Cadence.PER_STEP:
        return next((a for a in loop.ancestors() if a.kind is LoopKind.EPOCH), loop)
    return loop


def _milestones(obj: Tracked) -> List[float]:
    assert obj.node is not None
    expr = argument(obj.node, "milestones", 1)
    if not isinstance(expr, (cst.List, cst.Tuple)):
        return []
    numbers = [number_literal(element.value) for element in expr.elements]
    return [n for n in numbers if n is not None] if all(n is not None for n in numbers) else []


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
