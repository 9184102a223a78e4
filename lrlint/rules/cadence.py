"""LR002 and LR003: a scheduler stepped at the wrong cadence for what its horizon counts."""

from __future__ import annotations

from typing import Iterator, Optional

from ..model import Horizon, LoopKind, Step, Tracked, TrainingLoopModel
from ..model.syntax import argument, number_literal
from . import Finding, rule
from .queries import Cadence, cadence, in_epoch_loop

# A literal horizon at most this large is a typical epoch count (StepLR(step_size=30),
# MultiStepLR(milestones=[150, 225])); larger ones are usually counted in iterations.
EPOCH_LITERAL_MAX = {"StepLR": 50.0}
DEFAULT_EPOCH_LITERAL_MAX = 300.0


def counts_steps(obj: Tracked) -> bool:
    if obj.spec is None or obj.is_timm or obj.needs_metric or obj.custom or obj.symbolic:
        return False
    if obj.horizon is Horizon.EPOCHS:
        return False
    return obj.spec.per_step or obj.horizon is Horizon.STEPS


def counts_epochs(obj: Tracked, step: Step) -> bool:
    if not obj.torch_api or obj.needs_metric or obj.spec.per_step:
        return False
    if obj.horizon is Horizon.EPOCHS:
        return True
    literal = obj.horizon_literal if obj.horizon_literal is not None else obj.horizon_default
    if obj.horizon is Horizon.UNKNOWN and literal is not None and obj.spec.epoch_literal_ok:
        limit = EPOCH_LITERAL_MAX.get(obj.spec.name, DEFAULT_EPOCH_LITERAL_MAX)
        return literal <= limit and step.loop is not None and in_epoch_loop(step.loop)
    return False


def _offending(step: Step, predicate) -> Optional[Tracked]:
    """The target the rule applies to: any of a list stepped together, all of alternatives."""
    if step.each:
        return next((target for target in step.targets if predicate(target)), None)
    if step.targets and all(predicate(target) for target in step.targets):
        return step.targets[0]
    return None


def _optimizer_name(obj: Tracked) -> str:
    if obj.optimizers:
        return sorted(opt.label for opt in obj.optimizers)[0]
    return "optimizer"


@rule("LR002")
def per_batch_scheduler_stepped_per_epoch(model: TrainingLoopModel) -> Iterator[Finding]:
    for step in model.scheduler_steps():
        obj = _offending(step, counts_steps)
        if obj is None or _sized_for_the_loop(obj, step):
            continue
        if cadence(model, step) is Cadence.PER_EPOCH and not _also_per_batch(model, step, obj):
            fields = {"scheduler": step.receiver, "kind": obj.kind, "optimizer": _optimizer_name(obj)}
            yield Finding("LR002", step.node, fields)


def _sized_for_the_loop(obj: Tracked, step: Step) -> bool:
    """OneCycleLR(total_steps=30) in `for epoch in range(50)`: a literal total of at most twice the
    loop's literal length is sized for these per-epoch steps (overrunning it is LR012's business)."""
    total = number_literal(argument(obj.node, "total_steps", 2)) if obj.node is not None else None
    if total is None or step.loop is None or step.loop.count is None:
        return False
    return total <= step.loop.count * 2


def _also_per_batch(model: TrainingLoopModel, step: Step, obj: Tracked) -> bool:
    """Stepped per batch in a loop nested in this one as well: that is LR014, not LR002."""
    return any(
        other is not step
        and obj in other.targets
        and other.loop is not None
        and any(ancestor is step.loop for ancestor in other.loop.ancestors())
        and cadence(model, other) is Cadence.PER_STEP
        for other in model.scheduler_steps()
    )


@rule("LR003")
def per_epoch_scheduler_stepped_per_batch(model: TrainingLoopModel) -> Iterator[Finding]:
    for step in model.scheduler_steps():
        loop = step.loop
        if loop is None or loop.kind is LoopKind.EPOCH:
            continue
        if not (loop.kind is LoopKind.BATCH or loop.nested):
            continue
        if step.positional_args and any(t.spec and t.spec.epoch_argument_ok for t in step.targets):
            continue  # CosineAnnealingWarmRestarts.step(epoch + i / iters) sets its position itself
        obj = _offending(step, lambda target, step=step: counts_epochs(target, step))
        if obj is not None and cadence(model, step) is Cadence.PER_STEP:
            yield Finding("LR003", step.node, {"scheduler": step.receiver, "kind": obj.kind})
