"""LR001: the scheduler steps before the optimizer it drives."""

from __future__ import annotations

from typing import Iterator

from ..model import Loop, OpaqueCall, Step, TrainingLoopModel
from . import Finding, rule
from .proposals import MoveStatementAfter
from .queries import driven_optimizers, may_train, optimizer_steps_of


@rule("LR001")
def scheduler_step_before_optimizer_step(model: TrainingLoopModel) -> Iterator[Finding]:
    for step in model.scheduler_steps():
        if not all(_order_matters(target) for target in step.targets):
            continue
        if len(step.positional_args) > 1:  # no LR scheduler's step() takes two arguments
            continue
        if (step.positional_args or step.keyword("epoch")) and not all(t.torch_api for t in step.targets):
            continue  # step(epoch) on a class we cannot see sets its position; it skips nothing
        if step.loop is None and step.conditions:
            continue  # `if epoch > 0:` in a per-epoch function whose loop we cannot see
        if any(condition.leaves for condition in step.conditions_within(step.loop)):
            continue  # `if epoch < start: scheduler.step(); continue`: a fast-forward, no training follows
        optimizers = driven_optimizers(model, step)
        steps = [s for s in optimizer_steps_of(model, optimizers) if _same_iteration(s, step)]
        calls = [c for c in model.calls if _same_iteration(c, step)]
        if any(s.seq < step.seq for s in steps) or any(c.seq < step.seq and may_train(c, optimizers) for c in calls):
            continue
        later = [s for s in steps if s.seq > step.seq] + [
            c for c in calls if c.seq > step.seq and may_train(c, optimizers)
        ]
        if later:
            first = min(later, key=lambda event: event.seq)
            if step.loop is not None and _skips_first_iteration(step, step.loop, first):
                continue
            described = _describe(model, first, optimizers)
            fields = {"scheduler": step.receiver, "optimizer_step": described}
            fix = MoveStatementAfter(
                step.node, first.node, f"Move `{step.receiver}.step()` after {described.split(',')[0]}"
            )
            yield Finding("LR001", step.node, fields, fix)


def _same_iteration(event, step: Step) -> bool:
    """Inside one iteration of the step's innermost loop; outside any loop, inside one run of
    the function nothing here calls (a per-epoch `train()` called from another module)."""
    if step.loop is not None:
        return event.in_iteration_of(step.loop) and not event.excludes(step)
    return event.root == step.root and not event.excludes(step)


def _order_matters(target) -> bool:
    # ReduceLROnPlateau reacts to a metric, not to a position in a schedule; timm has its own API.
    return not target.needs_metric and not target.is_timm


def _skips_first_iteration(step: Step, loop: Loop, optimizer_step) -> bool:
    """`if epoch > 0: scheduler.step()` at the top of the loop is the documented workaround,
    unless the same test also holds back the optimizer step that follows."""
    shared = {_key(condition) for condition in optimizer_step.conditions}
    return any(
        condition.names & loop.targets
        and not condition.modulo
        and _false_at_first(condition)
        and _key(condition) not in shared
        for condition in step.conditions_within(loop)
    )


def _key(condition) -> tuple:
    return (condition.text, condition.positive, id(condition.loop))


def _false_at_first(condition) -> bool:
    """`epoch > 0`, `epoch != start`, `not first`: tests that hold the first pass back.
    A plain equality (`phase == "train"`) selects an iteration; it skips nothing."""
    if not condition.positive:
        return True
    return any(operator in condition.text for operator in (">", "!="))


def _describe(model: TrainingLoopModel, event, optimizers) -> str:
    """How the message names the optimizer step: `optimizer.step()`, `scaler.step(opt)`, a helper."""
    if isinstance(event, Step):
        if event.via_scaler:
            return f"`{_short(model.text(event.node))}`"
        return f"`{event.receiver}.step()`"
    assert isinstance(event, OpaqueCall)
    return f"`{_short(event.callee)}(...)`, which runs the optimizer steps"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
