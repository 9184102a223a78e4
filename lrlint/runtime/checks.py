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
from typing import Any, Dict, List, Optional, Set, Tuple

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
    return findings + check_cadence(scheduler, state, name)


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


def check_cadence(scheduler: Any, state: GuardState, name: str) -> List[Finding]:
    activity = state.activity
    total = activity.total
    interval = total - state.activity_at_last_step
    backwards_before = state.backwards_at_last_step
    state.activity_at_last_step = total
    state.backwards_at_last_step = COUNTS.backwards
    if total == state.activity_at_guard:  # the optimizer has not stepped yet
        state.leading_steps += 1
        state.leading_before_backward = COUNTS.backwards == state.backwards_at_guard
        return []
    if state.leading_steps:  # training started: one leading step is LR001, more a fast-forward (a resume)
        state.first_before_optimizer = state.leading_steps == 1
        state.scheduler_steps = int(state.first_before_optimizer)
        state.leading_steps = 0
    state.scheduler_steps += 1
    trained = total - state.activity_at_guard
    # Backward passes are evidence only when the loop trains with loss.backward().
    backwards_seen = COUNTS.backwards - state.backwards_at_guard >= trained
    order = Interleaving(interval, state.scheduler_steps - trained, backwards_before, activity.backwards_at_last_step)
    findings = check_order(state, name, order, backwards_seen)
    findings += check_per_batch_cadence(scheduler, state, name, interval)
    findings += check_per_epoch_cadence(scheduler, state, name, interval)
    state.previous_interval = interval
    return findings


@dataclass
class Interleaving:
    """Where this scheduler step falls among optimizer steps and backward passes."""

    interval: int  # optimizer steps since the previous scheduler step
    excess: int  # scheduler steps beyond the optimizer steps since training started
    backwards_before: int  # backward passes counted at the previous scheduler step
    backwards_at_optimizer: int  # ... and at the latest optimizer step

    @property
    def backward_between(self) -> bool:
        return COUNTS.backwards != self.backwards_before

    @property
    def optimizer_right_after_previous(self) -> bool:
        """S O with no backward between: the previous step ran before the optimizer's, in one iteration."""
        return self.interval == 1 and self.backwards_at_optimizer == self.backwards_before


def check_order(state: GuardState, name: str, order: Interleaving, backwards_seen: bool) -> List[Finding]:
    """LR001, LR009 and LR014 from the interleaving of scheduler steps, optimizer steps and backward passes."""
    lr001 = ("LR001", {"scheduler": name, "optimizer_step": "`optimizer.step()`"})
    state.zero_run = state.zero_run + 1 if order.interval == 0 else 0
    if state.first_before_optimizer:
        state.first_before_optimizer = False
        # S B O S: stepped before the first backward; B S O S: right before the optimizer. (B S B O S is
        # gradient accumulation beginning, judged below.)
        wrong_first = state.leading_before_backward or order.optimizer_right_after_previous or not backwards_seen
        if order.excess < 2 and order.interval >= 1 and wrong_first:
            return [lr001]
    if order.interval == 0:
        if order.excess < 2:
            state.suspect_swap = True
            return []
        state.suspect_swap = False
        if state.reported & {"LR009", "LR014"}:
            return []  # judged already; later runs of steps tell nothing new
        if backwards_seen and state.zero_run == 1 and not order.backward_between:  # O S S: twice in one iteration
            return [("LR014", {"scheduler": name})]
        condition = "it is stepped conditionally, e.g. under gradient accumulation"
        return [("LR009", {"scheduler": name, "optimizer": "optimizer", "condition": condition})]
    if backwards_seen and order.optimizer_right_after_previous and order.backward_between:
        return [lr001]  # B S O B S: the optimizer stepped right after the previous scheduler step
    if state.suspect_swap and order.interval >= 2 and order.excess <= 0:
        state.suspect_swap = False  # S S O O: the optimizer caught up, so the order was swapped
        return [lr001]
    return []


def check_per_batch_cadence(scheduler: Any, state: GuardState, name: str, interval: int) -> List[Finding]:
    """LR002: a schedule counted in optimizer steps, stepped twice in a row after many of them."""
    horizon = step_horizon(scheduler)
    if horizon is None or min(interval, state.previous_interval) < 2 or horizon < 2 * interval:
        return []
    return [("LR002", {"scheduler": name, "kind": name, "optimizer": "optimizer"})]


def check_per_epoch_cadence(scheduler: Any, state: GuardState, name: str, interval: int) -> List[Finding]:
    """LR003: stepped after every optimizer step of a DataLoader pass whose length would run the
    epoch-counted schedule to its end (or decay it a thousandfold) within half a pass."""
    if COUNTS.loader_passes != state.loader_pass:
        state.loader_pass, state.steps_in_pass, state.per_batch_in_pass = COUNTS.loader_passes, 0, True
    state.steps_in_pass += 1
    state.per_batch_in_pass = state.per_batch_in_pass and interval == 1
    batches = COUNTS.loader_length
    if state.steps_in_pass < 2 or not state.per_batch_in_pass or not batches or not COUNTS.in_loader_pass():
        return []
    if not schedule_ends_within(scheduler, batches // 2):
        return []
    return [("LR003", {"scheduler": name, "kind": name})]


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


def schedule_ends_within(scheduler: Any, steps: int) -> bool:
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
        return [("LR005", {"scheduler": name})]
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
