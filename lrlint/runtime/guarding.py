"""The runtime guard. Imported only when ``lrlint.guard``/``lrlint.guarded`` is first used.

How it stays transparent:
- The guarded scheduler keeps its identity: its class is swapped for a cached subclass with the
  same name, module and qualname that only overrides ``step()``; ``isinstance`` holds and the
  learning rates are the base class's own.
- The guard's bookkeeping lives outside the scheduler (dictionaries keyed by id), so
  ``state_dict()`` has exactly the unguarded keys; pickling and deepcopy rebuild a guarded
  scheduler of the base class from the same state.
- What it observes (optimizer steps, backward passes, DataLoader passes) comes from counters in
  ``signals``; the checks live in ``checks``. Hot path: dictionary lookups and integer arithmetic
  per step; no ``.item()``, no device synchronisation, no collective.
- ``trace=`` also records the learning rate each optimizer step trained with, as CSV (``trace``
  says how; it is independent of the checks).
- A bug of the guard's own never stops training: every path from the user's code into the guard
  (``step()``, the hooks in ``signals``, construction, unpickling, the end-of-run report) catches
  its own errors, warns once and stands aside; only a finding under ``on_violation="raise"``, or a
  warning the user's filters turn into an error, leaves it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import warnings
import weakref
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from torch.optim.lr_scheduler import ChainedScheduler, LRScheduler, ReduceLROnPlateau, SequentialLR

from ..catalogue import RULES
from . import MODES
from .checks import GuardState, check_step, metric_value
from .errors import HEALTH, RUNTIME_DIR, ScheduleMisuseError, ScheduleMisuseWarning, describe, stand_aside
from .signals import COUNTS, patch_accelerate, remember_learning_rates, watch
from .trace import PathLike, flush_traces, start_trace, trace_path

logger = logging.getLogger("lrlint")
TORCH_ORDER_WARNING = "Detected call of `lr_scheduler.step()` before `optimizer.step()`"

_STATES: Dict[int, GuardState] = {}
_LIVE_SCHEDULERS: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()
_GUARDED_CLASSES: Dict[type, type] = {}


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
    state = None if HEALTH.stopped else _STATES.get(id(self))
    if state is None or state.disabled:
        return base.step(self, *args, **kwargs)
    try:
        checked_args, reroute, drop = _before_step(self, state, args, kwargs)
    except (ScheduleMisuseError, Warning):
        raise  # a finding under on_violation="raise", or a warning the user's filters made an error
    except Exception as error:  # a bug of ours: the step runs as if unguarded
        _stop_checking(self, state, error)
        return base.step(self, *args, **kwargs)
    if reroute:
        with _warnings_from_caller(self, state, drop):
            result = base.step(self, *checked_args, **kwargs)
    else:
        result = base.step(self, *checked_args, **kwargs)
    try:
        if state.activity.learning_rates is not None:
            remember_learning_rates(state.activity, self.optimizer)
    except Exception as error:
        _stop_checking(self, state, error)
    return result


def _before_step(scheduler: Any, state: GuardState, args: tuple, kwargs: dict) -> Tuple[tuple, bool, Optional[str]]:
    """Check the step about to run. Returns its positional arguments, whether to re-route torch's
    warnings from it, and the one to drop."""
    step_count = getattr(scheduler, "_step_count", None)  # ReduceLROnPlateau and the containers have none
    # The constructor's own initial step (SequentialLR re-runs a child's): torch marks it with
    # `_is_initial`; before torch 2.2, `_step_count == 0` (which CosineAnnealingWarmRestarts never leaves).
    marked = getattr(scheduler, "_is_initial", None)
    initial = marked if marked is not None else step_count == 0
    if state.burst >= 0:  # inside AcceleratedScheduler.step(): one step per process counts once
        state.burst += 1
        initial = initial or state.burst > 1
    if not initial:
        args = _checked(scheduler, state, args, kwargs)
    expected_arguments = 1 if isinstance(scheduler, ReduceLROnPlateau) else 0  # its metric
    # torch's own first-step and epoch warnings; its order warning after an optimizer step the
    # GradScaler skipped is the false alarm of pytorch#44511 (a true one is the guard's LR001)
    reroute = step_count == 1 or len(args) + len(kwargs) > expected_arguments
    attempted = state.activity.total > state.activity_at_guard
    return args, reroute, TORCH_ORDER_WARNING if attempted else None


def _checked(scheduler: Any, state: GuardState, args: tuple, kwargs: dict) -> tuple:
    """Run the checks and report; returns the step's positional arguments (a plateau metric read
    as a float once, as ReduceLROnPlateau itself would, so a device tensor is synchronised once)."""
    if args and type(scheduler)._lrlint_base.step is ReduceLROnPlateau.step:
        value = metric_value(args[0])
        args = args if value is None else (value, *args[1:])
    for code, fields in check_step(scheduler, state, args, kwargs):
        _report(state, code, fields)
    return args


def _stop_checking(scheduler: Any, state: GuardState, error: Exception) -> None:
    """One scheduler's checks failed: it runs unchecked from now on. Its steps still set the
    learning rates, so LR013 is no longer judged on its optimizer (a sibling would see them move)."""
    state.disabled = True
    state.activity.unchecked_writer = True
    state.activity.learning_rates = None
    stand_aside(error, scheduler=type(scheduler).__name__)


@contextlib.contextmanager
def _warnings_from_caller(scheduler: Any, state: GuardState, drop: Optional[str]) -> Iterator[None]:
    """Re-emit the warnings torch raises inside ``step()`` at the user's line, not the guard's,
    except one starting with ``drop``. An error in ``step()`` itself passes through untouched."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    try:
        _reemit(caught, drop)
    except Warning:
        raise  # the user's filters turn torch's warning into an error, as they would unguarded
    except Exception as error:
        _stop_checking(scheduler, state, error)


def _reemit(caught: List[warnings.WarningMessage], drop: Optional[str]) -> None:
    frame = _user_frame()
    for warning in caught:
        if drop and str(warning.message).startswith(drop):
            continue
        registry = frame.f_globals.setdefault("__warningregistry__", {}) if frame else None
        filename, lineno = (frame.f_code.co_filename, frame.f_lineno) if frame else (warning.filename, warning.lineno)
        module = frame.f_globals.get("__name__", "") if frame else None
        warnings.warn_explicit(warning.message, warning.category, filename, lineno, module, registry)


def _user_frame() -> Any:
    """The innermost frame outside lrlint's runtime package: the line that stepped the scheduler."""
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename == contextlib.__file__
        or os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == RUNTIME_DIR
    ):
        frame = frame.f_back
    return frame


def _reduce_ex(self: Any, protocol: int) -> Any:
    """Pickle and deepcopy as the base class, re-guarded on load with the same mode. (A pickle of
    a guarded scheduler names ``_rebuild``: loading it needs lrlint; its ``state_dict()`` does not.)"""
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
    if hasattr(self, "optimizer") and not HEALTH.stopped:
        _guard_or_stand_aside(self, mode)


# -- reporting -------------------------------------------------------------------------------


def _report(state: GuardState, code: str, fields: Dict[str, object]) -> None:
    """Once per scheduler and code, from rank 0, as the guard's mode says."""
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
    frame = _user_frame()
    if frame is None:
        warnings.warn(ScheduleMisuseWarning(text, code=code, name=name), stacklevel=2)
        return
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    module = frame.f_globals.get("__name__", "")
    warning = ScheduleMisuseWarning(text, code=code, name=name)
    warnings.warn_explicit(warning, ScheduleMisuseWarning, frame.f_code.co_filename, frame.f_lineno, module, registry)


def _reporting_rank() -> bool:
    """Under torch.distributed only rank 0 reports (LRLINT_ALL_RANKS=1: every rank). Called only
    when reporting, never on the hot path; it reads the rank, it adds no collective."""
    if os.environ.get("LRLINT_ALL_RANKS") == "1":
        return True
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


# -- the end of a run --------------------------------------------------------------------------


def report_unstepped(schedulers: Iterable[Any]) -> List[str]:
    """At the end of a run: LR004 for a scheduler whose optimizer stepped while it never did, and
    LR001 for one stepped once, before any optimizer step. Returns the codes reported."""
    if HEALTH.stopped:
        return []
    try:
        return _report_unstepped(list(schedulers))
    except (ScheduleMisuseError, Warning):
        raise  # a finding under on_violation="raise", or a warning the user's filters made an error
    except Exception as error:
        stand_aside(error, where="the end-of-run report")
        return []


def _report_unstepped(schedulers: List[Any]) -> List[str]:
    stepped_by_parent = {id(child) for parent in _LIVE_SCHEDULERS.values() for child in _children(parent)}
    reported = []
    for scheduler in schedulers:
        state = _STATES.get(id(scheduler))
        if state is None or state.disabled or id(scheduler) in stepped_by_parent:
            continue
        trained = state.activity.total > state.activity_at_guard
        name = type(scheduler).__name__
        if not trained:
            continue
        if not (state.scheduler_steps or state.leading_steps):
            reported.append("LR004")
            _report(state, "LR004", {"scheduler": name, "kind": name})
        elif state.leading_steps == 1 and state.leading_before_backward:
            state.leading_steps = 0
            reported.append("LR001")
            _report(state, "LR001", {"scheduler": name, "optimizer_step": "`optimizer.step()`"})
    return reported


def _children(scheduler: Any) -> Tuple[Any, ...]:
    """The schedulers a SequentialLR or ChainedScheduler steps for the user."""
    return tuple(getattr(scheduler, "_schedulers", ()) or ())


@atexit.register
def _report_at_exit() -> None:
    """Schedulers guarded outside ``guarded()``. Nothing is left to stop at exit: a finding under
    ``on_violation="raise"`` (or a warning made an error) is logged, not a traceback."""
    try:
        for scheduler in list(_LIVE_SCHEDULERS.values()):
            try:
                report_unstepped([scheduler])
            except (ScheduleMisuseError, Warning) as finding:
                logger.warning(str(finding))
    except Exception as error:  # the interpreter is exiting: never a traceback of ours
        stand_aside(error, where="the report at exit")


# -- public API --------------------------------------------------------------------------------


def _register(scheduler: Any, mode: str) -> None:
    activity = watch(scheduler.optimizer)
    remember_learning_rates(activity, scheduler.optimizer)
    state = GuardState(mode, activity, activity_at_guard=activity.total, backwards_at_guard=COUNTS.backwards)
    _STATES[id(scheduler)] = state
    _LIVE_SCHEDULERS[id(scheduler)] = scheduler
    weakref.finalize(scheduler, _STATES.pop, id(scheduler), None)
    patch_accelerate(_accelerate_burst)


def _accelerate_burst(scheduler: Any, entering: bool) -> None:
    state = _STATES.get(id(scheduler))
    if state is not None:
        state.burst = 0 if entering else -1


def _guard_or_stand_aside(scheduler: Any, mode: str) -> None:
    """Swap in the guarded class and register. On an internal error (an exotic scheduler class
    included) the scheduler keeps or gets back its own class and the whole guard stands aside:
    what failed here would fail for the next scheduler too."""
    base = type(scheduler).__dict__.get("_lrlint_base", type(scheduler))
    try:
        scheduler.__class__ = _guarded_class(base)
        _register(scheduler, mode)
    except Exception as error:
        _STATES.pop(id(scheduler), None)
        _LIVE_SCHEDULERS.pop(id(scheduler), None)
        scheduler.__class__ = base
        stand_aside(error, where=f"guarding {base.__name__}")


def guard(scheduler: Any, *, on_violation: str = "warn", trace: Optional[PathLike] = None) -> Any:
    """Guard ``scheduler`` (see ``lrlint.guard``); with ``trace``, also write the learning rate of
    each optimizer step of its optimizer to that CSV file (see ``trace``). A scheduler rebuilt by
    unpickling a traced one is guarded again but not traced."""
    if on_violation not in MODES:
        raise ValueError(f"on_violation must be one of {', '.join(MODES)}, not {on_violation!r}")
    if not isinstance(scheduler, (LRScheduler, ReduceLROnPlateau)):
        raise TypeError(f"lrlint.guard() needs a torch learning-rate scheduler, not {type(scheduler).__name__}")
    path = trace_path(trace)
    if path is not None:
        start_trace(scheduler, path)  # independent of the checks: it goes on when they stand aside
    if HEALTH.stopped:
        return scheduler  # the guard stood aside after an internal error
    state = _STATES.get(id(scheduler)) if type(scheduler) in _GUARDED_CLASSES.values() else None
    if state is not None:
        state.mode = on_violation
        return scheduler
    _guard_or_stand_aside(scheduler, on_violation)
    return scheduler


# Classes whose constructor does not run LRScheduler.__init__, each patched on its own.
_CONSTRUCTORS = (LRScheduler, ReduceLROnPlateau, SequentialLR, ChainedScheduler)


@contextlib.contextmanager
def guarded(on_violation: str = "warn", *, trace: Optional[PathLike] = None) -> Iterator[None]:
    """Guard every scheduler constructed inside the block; report LR004 when it ends. With
    ``trace``, every one of them is traced into that one CSV file (a path relative to the working
    directory when the block starts), whose queued rows are written when the block ends."""
    if on_violation not in MODES:
        raise ValueError(f"on_violation must be one of {', '.join(MODES)}, not {on_violation!r}")
    path = trace_path(trace)
    created: List[Any] = []  # held for the block: a scheduler nobody kept was never stepped either
    originals = {cls: cls.__dict__["__init__"] for cls in _CONSTRUCTORS}

    def guarding(original: Any) -> Any:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            if type(self) not in _GUARDED_CLASSES.values():
                guard(self, on_violation=on_violation, trace=path)
                created.append(self)

        return __init__

    def restore() -> None:
        for cls, original in originals.items():
            cls.__init__ = original  # type: ignore[misc]
        if path is not None:
            flush_traces()

    for cls, original in originals.items():
        cls.__init__ = guarding(original)  # type: ignore[misc]
    try:
        yield
    except SystemExit as leaving:  # `sys.exit(main())` in a script run by lrlint.run
        restore()
        if leaving.code in (None, 0):
            report_unstepped(created)
        raise
    except BaseException:
        restore()  # training failed: its own error matters, not a never-stepped scheduler
        raise
    restore()
    report_unstepped(created)
