"""LR009: the optimizer steps conditionally (accumulation, skip logic), its scheduler on every iteration."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional

import libcst as cst

from ..model import Condition, Loop, Step, TrainingLoopModel
from . import Finding, rule
from .queries import driven_optimizers, optimizer_steps_of

# Conditions that gate an optimizer step on purpose: accumulation boundaries and skip logic.
_GATE = re.compile(
    r"accum|sync_grad|gradient_accumulation|should_step|do_step|update_step|isfinite|isnan|overflow|skip", re.I
)


# Expressions that bind more loosely than `not`: negated, they need parentheses.
_LOOSER_THAN_NOT = (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr)


@rule("LR009")
def scheduler_outpaces_optimizer(model: TrainingLoopModel) -> Iterator[Finding]:
    for step in model.scheduler_steps():
        loop = step.loop
        if loop is None or len(step.targets) != 1 or not step.targets[0].torch_api or step.targets[0].needs_metric:
            continue
        optimizer_steps = [
            s
            for s in optimizer_steps_of(model, driven_optimizers(model, step))
            if s.loop is loop and s.root == step.root
        ]
        gate = _gate(optimizer_steps, step, loop)
        if gate is not None:
            optimizer = optimizer_steps[0].receiver or "optimizer"
            fields = {"scheduler": step.receiver, "optimizer": optimizer, "condition": _shown(model, gate)}
            yield Finding("LR009", step.node, fields)


def _shown(model: TrainingLoopModel, gate: Condition) -> str:
    """The condition as written (``gate.text`` has its spaces removed, for comparisons)."""
    written = model.text(gate.test) or gate.text
    if gate.positive:
        return written
    loose = isinstance(gate.test, _LOOSER_THAN_NOT) and not gate.test.lpar
    return f"not ({written})" if loose else f"not {written}"


def _gate(optimizer_steps: List[Step], step: Step, loop: Loop) -> Optional[Condition]:
    """The accumulation/skip condition every optimizer step of this iteration sits under and the
    scheduler step does not; None when the optimizer steps on every iteration as well."""
    if not optimizer_steps:
        return None
    mine = {(c.text, c.positive) for c in step.conditions_within(loop)}
    conditions = [{(c.text, c.positive): c for c in s.conditions_within(loop)} for s in optimizer_steps]
    if any((text, not positive) in other for own in conditions for (text, positive) in own for other in conditions):
        return None  # `if amp: scaler.step(opt) else: opt.step()`: one of them runs every iteration
    gates = [
        next((c for key, c in own.items() if key not in mine and (c.modulo or _GATE.search(c.text))), None)
        for own in conditions
    ]
    return gates[0] if gates and all(gate is not None for gate in gates) else None
