"""The runtime guard. Imported only when ``lrlint.guard``/``lrlint.guarded`` is first used.

How it stays transparent:
- The guarded scheduler keeps its identity: its class is swapped for a cached subclass with the
  same name, module and qualname that only overrides ``step()``; ``isinstance`` holds and the
  learning rates are the base class's own.
- The guard's bookkeeping lives outside the scheduler (a weak dictionary), so ``state_dict()``
  has exactly the unguarded keys; pickling and deepcopy rebuild a guarded scheduler of the base
  class from the same state.
- Optimizer steps are counted by an optimizer step post-hook; an AMP ``GradScaler.step`` that
  skips the optimizer step (inf/NaN gradients) still counts as an attempt, so it is no LR001.
- Hot path: a dict lookup and a few integer operations per step; no ``.item()``, no device sync.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Set

from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, LRScheduler, ReduceLROnPlateau

from ..catalogue import RULES
from . import MODES
from .errors import ScheduleMisuseError, ScheduleMisuseWarning, describe

logger = logging.getLogger("lrlint")


@dataclass
class _Activity:
    """Optimizer steps, plus GradScaler attempts that skipped the step (counted once)."""

    steps: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.steps + self.skipped


@dataclass(eq=False)
class _State:
    mode: str
    activity_at_guard: int
    activity_at_last_step: int
    scheduler_steps: int = 0
    first_before_optimizer: bool = False  # decided at the next step: LR001, or LR009 if it outpaces
    suspect_swap: bool = False
    reported: Set[str] = field(default_factory=set)
    disabled: bool = False  # the guard hit an internal error and stands aside


# Keyed by id() with a weakref.finalize to drop the entry: a plain dict lookup on the hot path
# (a WeakKeyDictionary builds a weak reference on every lookup).
_STATES: Dict[int, _State] = {}
_ACTIVITY: Dict[int, _Activity] = {}
_LIVE_SCHEDULERS: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()
_GUARDED_CLASSES: Dict[type, type] = {}


# -- optimizer activity ------------------------------------------------------------------------


def _count_optimizer_step(optimizer: Any, args: Any, kwargs: Any) -> None:
    activity = _ACTIVITY.get(id(optimizer))
    if activity is not None:
        activity.steps += 1


def _watch(optimizer: Any) -> _Activity:
    activity = _ACTIVITY.get(id(optimizer))
    if activity is None:
        activity = _ACTIVITY[id(optimizer)] = _Activity()
        weakref.finalize(optimizer, _ACTIVITY.pop, id(optimizer), None)
        optimizer.register_step_post_hook(_count_optimizer_step)
        _patch_grad_scaler()
    return activity


_SCALER_PATCHED = False


def _patch_grad_scaler() -> None:
    """Count a GradScaler step that skips ``optimizer.step()`` as an attempt (torch#44511)."""
    global _SCALER_PATCHED
    if _SCALER_PATCHED:
        return
    _SCALER_PATCHED = True
    from torch.amp.grad_scaler import GradScaler

    original = GradScaler.step

    def step(self: Any, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        activity = _ACTIVITY.get(id(optimizer))
        before = activity.steps if activity is not None else 0
        result = original(self, optimizer, *args, **kwargs)
        if activity is not None and activity.steps == before:
            activity.skipped += 1
        return result

    step.__wrapped__ = original  # type: ignore[attr-defined]
    step.__doc__ = original.__doc__
    GradScaler.step = step  # type: ignore[method-assign]


def _activity_of(scheduler: Any) -> _Activity:
    return _ACTIVITY.get(id(scheduler.optimizer)) or _Activity()


# -- the guarded class -------------------------------------------------------------------------


def _guarded_class(base: type) -> type:
    """A subclass that looks like ``base`` (name, module, qualname) and checks ``step()``."""
    cls = _GUARDED_CLASSES.get(base)
    if cls is None:
        namespace = {
            "step": _guarded_step,
            "__reduce_ex__": _reduce_ex,
            "__setstate__": _setstate,
            "__module__": base.__module__,
            "__qualname__": base.__qualname__,
            "__doc__": base.__doc__,
            "_lrlint_base": base,
        }
        cls = _GUARDED_CLASSES[base] = type(base.__name__, (base,), namespace)
    return cls


def _guarded_step(self: Any, *args: Any, **kwargs: Any) -> Any:
    base = type(self)._lrlint_base
    state = _STATES.get(id(self))
    # `_step_count == 0`: the constructor's own initial step (SequentialLR re-runs it).
    if state is not None and not state.disabled and getattr(self, "_step_count", 1) != 0:
        try:
            _check_step(self, state, args, kwargs)
        except ScheduleMisuseError:
            raise
        except Exception as error:  # a bug of ours must never stop training
            state.disabled = True
            warnings.warn(
                f"lrlint: the runtime guard stopped checking {base.__name__} after an internal error: {error!r}",
                RuntimeWarning,
                stacklevel=2,
            )
    return base.step(self, *args, **kwargs)


def _reduce_ex(self: Any, protocol: int) -> Any:
    """Pickle and deepcopy as the base class, re-guarded on load with the same mode."""
    state = _STATES.get(id(self))
    mode = state.mode if state is not None else "warn"
    return (_rebuild, (type(self)._lrlint_base, mode), self.__dict__.copy())


def _rebuild(base: type, mode: str) -> Any:
    scheduler = base.__new__(base)
    scheduler.__class__ = _guarded_class(base)
    scheduler.__dict__["_lrlint_mode"] = mode  # taken back out by _setstate
    return scheduler


def _setstate(self: Any, state: Dict[str, Any]) -> None:
    mode = self.__dict__.pop("_lrlint_mode", "warn")
    base_setstate = getattr(type(self)._lrlint_base, "__setstate__", None)
    if base_setstate is not None:
        base_setstate(self, state)
    else:
        self.__dict__.update(state)
    if hasattr(self, "optimizer"):
        _register(self, mode)


# -- the checks --------------------------------------------------------------------------------


def _check_step(scheduler: Any, state: _State, args: tuple, kwargs: dict) -> None:
    name = type(scheduler).__name__
    activity = _activity_of(scheduler).total
    since_last = activity - state.activity_at_last_step
    since_guard = activity - state.activity_at_guard
    state.scheduler_steps += 1
    state.activity_at_last_step = activity
    plateau = isinstance(scheduler, ReduceLROnPlateau)

    if plateau and not args and "metrics" not in kwargs:
        _report(scheduler, state, "LR005", scheduler=name)
    if not plateau and not isinstance(scheduler, CosineAnnealingWarmRestarts) and (args or "epoch" in kwargs):
        argument = repr(args[0]) if args else f"epoch={kwargs['epoch']!r}"
        _report(scheduler, state, "LR006", scheduler=name, argument=argument, kind=name)
    if plateau:
        return
    if state.scheduler_steps == 1:
        state.first_before_optimizer = since_guard == 0
        return
    excess = state.scheduler_steps - since_guard
    if excess >= 2:
        state.first_before_optimizer = state.suspect_swap = False
        condition = "it is stepped conditionally, e.g. under gradient accumulation"
        _report(scheduler, state, "LR009", scheduler=name, optimizer="optimizer", condition=condition)
    elif state.first_before_optimizer and since_last >= 1:
        state.first_before_optimizer = False  # S O S O ...: the classic wrong order
        _report(scheduler, state, "LR001", scheduler=name, optimizer_step="`optimizer.step()`")
    elif since_last == 0:
        state.suspect_swap = True  # one step ahead: a swapped order, or accumulation beginning
    elif state.suspect_swap and since_last >= 2 and excess <= 0:
        state.suspect_swap = False  # the optimizer caught up: the order was swapped
        _report(scheduler, state, "LR001", scheduler=name, optimizer_step="`optimizer.step()`")


def _report(target: Any, state: _State, code: str, **fields: object) -> None:
    if code in state.reported:
        return
    state.reported.add(code)
    if not _reporting_rank():
        return
    text = describe(code, **fields)
    name = RULES[code].name
    if state.mode == "raise":
        raise ScheduleMisuseError(text, code=code, name=name)
    if state.mode == "log":
        logger.warning(text)
        return
    warnings.warn(ScheduleMisuseWarning(text, code=code, name=name), stacklevel=4)


def _reporting_rank() -> bool:
    """Under torch.distributed only rank 0 reports (LRLINT_ALL_RANKS=1: every rank). Called only
    when reporting, never on the hot path; it reads the rank, it adds no collective."""
    if os.environ.get("LRLINT_ALL_RANKS") == "1":
        return True
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


# -- never stepped -----------------------------------------------------------------------------


def report_unstepped(schedulers: Iterator[Any]) -> List[str]:
    """At the end of a run: LR004 for a scheduler whose optimizer stepped while it never did, and
    LR001 for one stepped once, before any optimizer step. Returns the codes reported."""
    reported = []
    for scheduler in schedulers:
        state = _STATES.get(id(scheduler))
        if state is None or state.disabled:
            continue
        trained = _activity_of(scheduler).total - state.activity_at_guard > 0
        name = type(scheduler).__name__
        if trained and not state.scheduler_steps:
            reported.append("LR004")
            _report(scheduler, state, "LR004", scheduler=name, kind=name)
        elif trained and state.first_before_optimizer:
            state.first_before_optimizer = False
            reported.append("LR001")
            _report(scheduler, state, "LR001", scheduler=name, optimizer_step="`optimizer.step()`")
    return reported


@atexit.register
def _report_at_exit() -> None:
    with contextlib.suppress(Exception):
        report_unstepped(list(_LIVE_SCHEDULERS.values()))


# -- public API --------------------------------------------------------------------------------


def _register(scheduler: Any, mode: str) -> None:
    activity = _watch(scheduler.optimizer).total
    _STATES[id(scheduler)] = _State(mode=mode, activity_at_guard=activity, activity_at_last_step=activity)
    _LIVE_SCHEDULERS[id(scheduler)] = scheduler
    weakref.finalize(scheduler, _STATES.pop, id(scheduler), None)


def guard(scheduler: Any, *, on_violation: str = "warn") -> Any:
    if on_violation not in MODES:
        raise ValueError(f"on_violation must be one of {', '.join(MODES)}, not {on_violation!r}")
    if not isinstance(scheduler, (LRScheduler, ReduceLROnPlateau)):
        raise TypeError(f"lrlint.guard() needs a torch learning-rate scheduler, not {type(scheduler).__name__}")
    if type(scheduler) in _GUARDED_CLASSES.values():
        _STATES[id(scheduler)].mode = on_violation
        return scheduler
    scheduler.__class__ = _guarded_class(type(scheduler))
    _register(scheduler, on_violation)
    return scheduler


@contextlib.contextmanager
def guarded(on_violation: str = "warn") -> Iterator[None]:
    """Guard every scheduler constructed inside the block; report LR004 when it ends."""
    if on_violation not in MODES:
        raise ValueError(f"on_violation must be one of {', '.join(MODES)}, not {on_violation!r}")
    created: List[Any] = []  # held for the block: a scheduler nobody kept was never stepped either
    original_init = LRScheduler.__init__
    plateau_init = ReduceLROnPlateau.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        _guard_new(self)

    def init_plateau(self: Any, *args: Any, **kwargs: Any) -> None:
        plateau_init(self, *args, **kwargs)
        _guard_new(self)

    def _guard_new(scheduler: Any) -> None:
        if type(scheduler) not in _GUARDED_CLASSES.values():
            guard(scheduler, on_violation=on_violation)
            created.append(scheduler)

    def _restore() -> None:
        LRScheduler.__init__ = original_init  # type: ignore[method-assign]
        ReduceLROnPlateau.__init__ = plateau_init  # type: ignore[method-assign]

    LRScheduler.__init__ = init  # type: ignore[method-assign]
    if not issubclass(ReduceLROnPlateau, LRScheduler):
        ReduceLROnPlateau.__init__ = init_plateau  # type: ignore[method-assign]
    try:
        yield
    except SystemExit as leaving:  # `sys.exit(main())` in a script run by lrlint.run
        _restore()
        if leaving.code in (None, 0):
            report_unstepped(created)
        raise
    except BaseException:
        _restore()  # training failed: its own error matters, not a never-stepped scheduler
        raise
    _restore()
    report_unstepped(created)
