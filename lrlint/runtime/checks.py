"""The guard's checks: what one ``scheduler.step()`` call says about the training loop around it.

Every check reads counters (optimizer steps, backward passes, DataLoader passes) and the
scheduler's own configuration; it never reads a tensor on an accelerator. Each returns findings
as ``(code, message fields)``; the guard decides how to report them.

The event stream the checks reason about, per scheduler: ``B`` a backward pass, ``O`` an optimizer
step (or a step the GradScaler skipped), ``S`` this scheduler's step. Correct training is
``B O S B O S`` (per batch) or ``(B O)* S`` (per epoch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, NamedTuple, Optional, Set, Tuple

from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    StepLR,
)

from .signals import COUNTS, OptimizerActivity, learning_rates

Finding = Tuple[str, Dict[str, object]]
METRICS_SEEN = 6  # plateau metrics kept to judge their trajectory (LR007, LR016)
CONSTANT_AFTER = 5  # this many identical metrics in a row: fed a constant (LR016)
VANISHED = 1e-3  # an epoch-horizon schedule that decays the LR this much within one epoch (LR003)


@dataclass(eq=False)
class GuardState:
    mode: str
    activity: OptimizerActivity  # of the optimizer the scheduler drives
    activity_at_guard: int
    backwards_at_guard: int
    activity_at_last_step: int = 0
    backwards_at_last_step: int = 0
    leading_steps: int = 0  # steps before the optimizer first stepped: a wrong first step, or a fast-forward
    scheduler_steps: int = 0  # steps once training ran (a fast-forward excluded)
    leading_before_backward: bool = False  # ... taken before any backward pass
    first_before_optimizer: bool = False  # S O ...: decided at the next step (LR001, or LR009 if it outpaces)
    zero_run: int = 0  # consecutive steps with no optimizer step before them
    suspect_swap: bool = False  # one step ahead: a swapped order, or accumulation beginning
    previous_interval: int = 0  # optimizer steps before the previous scheduler step
    loader_pass: int = -1  # the DataLoader pass of the last step, and whether every step in it was per batch
    steps_in_pass: int = 0
    per_batch_in_pass: bool = False
    metrics: List[float] = field(default_factory=list)  # the first plateau metrics
    burst: int = -1  # calls inside one AcceleratedScheduler.step(); -1 outside one
    reported: Set[str] = field(default_factory=set)
    disabled: bool = False  # the guard hit an internal error and stands aside

    def __post_init__(self) -> None:
        self.activity_at_last_step = self.activity_at_guard
        self.backwards_at_last_step = self.backwards_at_guard


def check_step(scheduler: Any, state: GuardState, args: tuple, kwargs: dict) -> List[Finding]:
    name = type(scheduler).__name__
    findings = check_learning_rate_owner(scheduler, state, name)
    if isinstance(scheduler, ReduceLROnPlateau):
        return findings + check_plateau_step(scheduler, state, name, args, kwargs)
    if (args or "epoch" in kwargs) and not isinstance(scheduler, CosineAnnealingWarmRestarts):
        argument = repr(args[0]) if args else f"epoch={kwargs['epoch']!r}"
        findings.append(("LR006", {"scheduler": name, "argument": argument, "kind": name}))
    check_cadence(scheduler, state, name, findings)
    return findings


def check_learning_rate_owner(scheduler: Any, state: GuardState, name: str) -> List[Finding]:
    """LR013: the learning rates are no longer what a guarded scheduler left them at."""
    expected = state.activity.learning_rates
    if expected is None:
        return []
    now = learning_rates(scheduler.optimizer)
    if now is None or now == expected or len(now) != len(expected):
        return []
    return [("LR013", {"optimizer": "optimizer", "scheduler": name})]


# -- order and cadence -------------------------------------------------------------------------


def check_cadence(scheduler: Any, state: GuardState, name: str, findings: List[Finding]) -> None:
    activity = state.activity
    total = activity.total
    backwards = COUNTS.backwards
    interval = total - state.activity_at_last_step  # optimizer steps since the previous scheduler step
    backwards_before = state.backwards_at_last_step
    state.activity_at_last_step = total
    state.backwards_at_last_step = backwards
    if total == state.activity_at_guard:  # the optimizer has not stepped yet
        state.leading_steps += 1
        state.leading_before_backward = backwards == state.backwards_at_guard
        return
    if state.leading_steps:  # training started: one leading step is LR001, more a fast-forward (a resume)
        state.first_before_optimizer = state.leading_steps == 1
        state.scheduler_steps = int(state.first_before_optimizer)
        state.leading_steps = 0
    state.scheduler_steps += 1
    if interval == 1 and activity.backwards_at_last_step != backwards_before and not state.first_before_optimizer:
        state.zero_run = 0  # B O S: the usual per-batch order, nothing to judge (the hot path)
    else:
        trained = total - state.activity_at_guard
        order = Interleaving(
            interval,
            excess=state.scheduler_steps - trained,
            backward_between=backwards != backwards_before,
            # S O with no backward between: the previous scheduler step ran before the optimizer's
            optimizer_right_after=interval == 1 and activity.backwards_at_last_step == backwards_before,
            # backward passes are evidence only when the loop trains with loss.backward()
            backwards_seen=backwards - state.backwards_at_guard >= trained,
        )
        code = check_order(state, order)
        if code is not None:
            findings.append((code, order_fields(code, name)))
    if interval >= 2 and state.previous_interval >= 2 and is_counted_in_steps(scheduler, interval):
        findings.append(("LR002", {"scheduler": name, "kind": name, "optimizer": "optimizer"}))
    if per_batch_in_loader_pass(state, interval) and schedule_ends_within(scheduler, COUNTS.loader_length // 2):
        findings.append(("LR003", {"scheduler": name, "kind": name}))
    state.previous_interval = interval


class Interleaving(NamedTuple):
    """Where one scheduler step falls among optimizer steps and backward passes."""

    interval: int  # optimizer steps since the previous scheduler step
    excess: int  # scheduler steps beyond the optimizer steps since training started
    backward_between: bool  # a backward pass since the previous scheduler step
    optimizer_right_after: bool  # the optimizer stepped right after the previous scheduler step
    backwards_seen: bool


def check_order(state: GuardState, order: Interleaving) -> Optional[str]:
    """LR001, LR009 or LR014 from the interleaving of scheduler steps, optimizer steps and backward passes."""
    state.zero_run = state.zero_run + 1 if order.interval == 0 else 0
    if state.first_before_optimizer:
        state.first_before_optimizer = False
        # S B O S: stepped before the first backward; B S O S: right before the optimizer.
        # (B S B O S is gradient accumulation beginning, judged below.)
        wrong_first = state.leading_before_backward or order.optimizer_right_after or not order.backwards_seen
        if order.excess < 2 and order.interval >= 1 and wrong_first:
            return "LR001"
    if order.interval == 0:
        if order.excess < 2:
            state.suspect_swap = True
            return None
        state.suspect_swap = False
        if state.reported & {"LR009", "LR014"}:
            return None  # judged already; later runs of steps tell nothing new
        if order.backwards_seen and state.zero_run == 1 and not order.backward_between:
            return "LR014"  # O S S: twice in one iteration
        return "LR009"
    if order.backwards_seen and order.optimizer_right_after and order.backward_between:
        return "LR001"  # B S O B S: the optimizer stepped right after the previous scheduler step
    if state.suspect_swap and order.interval >= 2 and order.excess <= 0:
        state.suspect_swap = False  # S S O O: the optimizer caught up, so the order was swapped
        return "LR001"
    return None


def order_fields(code: str, name: str) -> Dict[str, object]:
    if code == "LR001":
        return {"scheduler": name, "optimizer_step": "`optimizer.step()`"}
    if code == "LR009":
        condition = "it is stepped conditionally, e.g. under gradient accumulation"
        return {"scheduler": name, "optimizer": "optimizer", "condition": condition}
    return {"scheduler": name}


def is_counted_in_steps(scheduler: Any, interval: int) -> bool:
    """LR002 evidence: stepped twice in a row after ``interval`` (>= 2) optimizer steps each, by a
    schedule whose length counts optimizer steps and spans at least two such intervals."""
    horizon = step_horizon(scheduler)
    return horizon is not None and horizon >= 2 * interval


def per_batch_in_loader_pass(state: GuardState, interval: int) -> bool:
    """Whether the scheduler has just been stepped after each of the last three optimizer steps of
    a DataLoader pass that is still running (decided once per pass)."""
    if COUNTS.loader_passes != state.loader_pass:
        state.loader_pass, state.steps_in_pass, state.per_batch_in_pass = COUNTS.loader_passes, 0, True
    state.steps_in_pass += 1
    state.per_batch_in_pass = state.per_batch_in_pass and interval == 1
    return (
        state.steps_in_pass == 3 and state.per_batch_in_pass and bool(COUNTS.loader_length) and COUNTS.in_loader_pass()
    )


def step_horizon(scheduler: Any) -> Optional[int]:
    """The length of a schedule that counts optimizer steps, when its class says it does."""
    if isinstance(scheduler, OneCycleLR):
        return scheduler.total_steps
    if isinstance(scheduler, CyclicLR):
        return int(scheduler.total_size)
    for factor in getattr(scheduler, "lr_lambdas", ()):  # transformers' warmup schedules
        keywords = getattr(factor, "keywords", None)
        if keywords and "num_training_steps" in keywords and "transformers" in getattr(factor.func, "__module__", ""):
            return int(keywords["num_training_steps"])
    return None


def schedule_ends_within(scheduler: Any, steps: int) -> bool:  # LR003
    """Whether an epoch-counted schedule ends (or decays the LR a thousandfold) within ``steps``."""
    if isinstance(scheduler, CosineAnnealingLR):
        return scheduler.T_max <= steps
    if isinstance(scheduler, PolynomialLR):
        return scheduler.total_iters <= steps
    if isinstance(scheduler, MultiStepLR):
        return scheduler.gamma < 1 and max(scheduler.milestones) <= steps
    if isinstance(scheduler, StepLR):
        return _decays_below(scheduler.gamma, steps // scheduler.step_size)
    if isinstance(scheduler, ExponentialLR):
        return _decays_below(scheduler.gamma, steps)
    return False


def _decays_below(gamma: float, times: int) -> bool:
    return 0 < gamma < 1 and times * math.log10(gamma) < math.log10(VANISHED)


# -- ReduceLROnPlateau -------------------------------------------------------------------------


def check_plateau_step(scheduler: Any, state: GuardState, name: str, args: tuple, kwargs: dict) -> List[Finding]:
    state.scheduler_steps += 1
    metric = args[0] if args else kwargs.get("metrics")
    if metric is None:
        return [("LR005", {"scheduler": name, "kind": name})]
    value = metric_value(metric)
    if value is None or len(state.metrics) >= METRICS_SEEN or math.isnan(value):
        return []
    state.metrics.append(value)
    return check_metric_trajectory(name, scheduler.mode, state.metrics)


def metric_value(metric: Any) -> Optional[float]:
    """The metric as a float, as ReduceLROnPlateau itself reads it (None when it cannot be)."""
    try:
        return float(metric)
    except (TypeError, ValueError, RuntimeError):
        return None


def check_metric_trajectory(name: str, mode: str, values: List[float]) -> List[Finding]:
    """LR016 when the first metrics never change; LR007 when they move only against ``mode``."""
    if len(values) == CONSTANT_AFTER and min(values) == max(values):
        return [("LR016", {"scheduler": name, "metric": _number(values[0])})]
    if len(values) != METRICS_SEEN:
        return []
    changes = [after - before for before, after in zip(values, values[1:])]
    against = [change for change in changes if (change > 0 if mode == "min" else change < 0)]
    along = [change for change in changes if (change < 0 if mode == "min" else change > 0)]
    if along or len(against) < len(changes) - 1:
        return []
    direction = "rose" if mode == "min" else "fell"
    fields = {
        "scheduler": name,
        "mode": mode,
        "metric": f"{_number(values[0])} … {_number(values[-1])}",
        "direction": f"{direction} over its first {len(values)} values, as a {_kind_fed(mode)} does",
    }
    return [("LR007", fields)]


def _kind_fed(mode: str) -> str:
    return "higher-is-better metric (accuracy, F1...)" if mode == "min" else "loss"


def _number(value: float) -> str:
    return f"{value:.4g}"
