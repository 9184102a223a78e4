"""The replay: each ``SchedulePlan`` run on PyTorch's own scheduler class, over a stand-in optimizer,
stepped exactly as the script steps it, recording the learning rate of every optimizer step.

The scheduler's arithmetic is torch's, not a re-implementation: what the curve shows is what the
script trains with. Where the script would crash (a ``ReduceLROnPlateau`` stepped without a
metric), the curve ends there and says why. torch is imported only when a replay runs, so the
static checker keeps working without it.
"""

from __future__ import annotations

import ast
import importlib
import re
import types
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import PreviewError
from .plan import (
    OPTIMIZER,
    Cadence,
    Curve,
    Expression,
    Function,
    Loop,
    Missing,
    Options,
    Preview,
    Quantity,
    SchedulePlan,
    SchedulerCall,
    Stepping,
    StepSite,
    Value,
)
from .safe_eval import Number, compile_function, evaluate_expression

__all__ = ["MAX_BATCHES", "MAX_UPDATES", "PreviewError", "replay", "replay_all", "resolve_sizes"]

MAX_UPDATES = 1_000_000  # optimizer steps in one replay
MAX_BATCHES = 5_000_000  # batches visited, where the scheduler is stepped per batch

# Each loop size: its name in the plan, how a message names it, and the option that supplies it.
_SIZES: Tuple[Tuple[str, str, str, int], ...] = (
    ("epochs", "epochs", "--epochs", 0),
    ("steps_per_epoch", "steps per epoch", "--steps-per-epoch", 0),
    ("accumulation", "batches per optimizer step", "--accumulation", 1),
)
_SIZE_OF_OPTION = {option: name for name, _, option, _ in _SIZES}

_TORCH_MODULES = ("torch.optim.lr_scheduler", "torch.optim.swa_utils")
_TRANSFORMERS_FACTORY = re.compile(r"get_(\w*_)?schedule(_\w*)?|get_scheduler")


def replay(plan: SchedulePlan, loop: Loop, options: Options, *, kind: str = "actual") -> Curve:
    """The learning rates ``plan`` gives, as the script builds and steps it (``kind="actual"``) or as
    its ``Intended`` says the script meant (``kind="intended"``).

    Raises ``PreviewError`` when the replay lacks something (a loop size, a metric, torch) or cannot
    evaluate an argument; an exception from the scheduler itself ends the curve with ``stopped``."""
    if kind == "actual":
        return _replay(plan.scheduler, plan.base_lrs, plan.stepping, loop, options, kind, "")
    if kind == "intended":
        if plan.intended is None:
            raise ValueError("this plan has no intended curve")
        intended = plan.intended
        call = intended.scheduler or plan.scheduler
        stepping = intended.stepping or plan.stepping
        return _replay(call, plan.base_lrs, stepping, loop, options, kind, intended.reason)
    raise ValueError(f"kind is 'actual' or 'intended', not {kind!r}")


def replay_all(preview: Preview, options: Options) -> List[Curve]:
    """Every plan's actual curve, each followed by its intended curve where the plan has one."""
    curves: List[Curve] = []
    for plan in preview.plans:
        curves.append(replay(plan, preview.loop, options))
        if plan.intended is not None:
            curves.append(replay(plan, preview.loop, options, kind="intended"))
    return curves


def resolve_sizes(loop: Loop, options: Options) -> Dict[str, int]:
    """The loop's sizes as numbers: a command-line value wins over the script's; a size the script
    only knows at run time (``len(train_loader)``) needs its option."""
    sizes: Dict[str, int] = {}
    for name, words, option, least in _SIZES:
        given = getattr(options, name)
        value = given if given is not None else loop.sizes()[name]
        if isinstance(value, Missing):
            raise PreviewError(f"the {words} come from {_source(value.text)}: pass {value.option or option} N")
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise PreviewError(f"the {words} must be a whole number of at least {least}, not {value!r}")
        sizes[name] = value
    return sizes


# --- one replay --------------------------------------------------------------------------


def _replay(
    call: SchedulerCall,
    base_lrs: Tuple[Value, ...],
    stepping: Stepping,
    loop: Loop,
    options: Options,
    kind: str,
    reason: str,
) -> Curve:
    title = _title(call)
    sizes = resolve_sizes(loop, options)
    _check_work(stepping, sizes)
    metrics = _Metrics(options.metrics, call, stepping)
    torch = _import_torch()
    resolver = _Resolver(sizes, options, title)
    lrs_of_groups = [resolver.number(lr, "the learning rate") for lr in base_lrs]
    if not lrs_of_groups:
        raise PreviewError(f"{title}: the optimizer has no param groups to replay")
    recorder = _Recorder()
    stopped: Optional[str] = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "step() before optimizer.step()", deprecations: the curve says it
        try:
            optimizer = _stand_in_optimizer(torch, lrs_of_groups)
            scheduler = _Builder(optimizer, resolver).build(call)
            _step(scheduler, optimizer, stepping, sizes, metrics, recorder)
        except PreviewError:
            raise
        except Exception as error:  # the script's own crash: the curve ends where it would
            stopped = _one_line(error)
    return Curve(
        kind=kind,
        scheduler=call.label,
        lrs=tuple(recorder.lrs),
        epochs=tuple(recorder.epochs),
        stopped=stopped,
        title=title,
        reason=reason,
    )


def _title(call: SchedulerCall) -> str:
    short = call.qualname.rsplit(".", 1)[-1]
    return f"{short} ({call.label}, line {call.line})" if call.line else f"{short} ({call.label})"


def _check_work(stepping: Stepping, sizes: Mapping[str, int]) -> None:
    epochs, steps, accumulation = sizes["epochs"], sizes["steps_per_epoch"], sizes["accumulation"]
    updates = epochs * (steps // accumulation)
    if updates > MAX_UPDATES:
        raise PreviewError(
            f"the loop makes {updates:,} optimizer steps; the preview replays at most {MAX_UPDATES:,}:"
            " pass smaller --epochs or --steps-per-epoch"
        )
    per_batch = any(site.cadence is Cadence.PER_BATCH for site in stepping.sites)
    if per_batch and epochs * steps > MAX_BATCHES:
        raise PreviewError(
            f"the loop has {epochs * steps:,} batches; the preview replays at most {MAX_BATCHES:,}:"
            " pass smaller --epochs or --steps-per-epoch"
        )


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise PreviewError("the preview replays PyTorch's own schedulers: install torch") from None
    return torch


def _stand_in_optimizer(torch: Any, lrs: Sequence[float]) -> Any:
    """SGD with one zero parameter per param group: schedulers only read and write the groups'
    ``lr`` (and, for OneCycleLR and CyclicLR, ``momentum``, hence momentum=0.9).

    Its parameters never have gradients, so ``SGD.step`` would change nothing; a plain method in its
    place does the same in a fraction of the time (torch's step costs some 40 microseconds, most of
    a replay). Schedulers still wrap it, as they wrap any optimizer's step."""
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    optimizer = _stand_in_class(torch)(groups, lr=lrs[0], momentum=0.9)
    optimizer.step = types.MethodType(_no_update, optimizer)
    return optimizer


@lru_cache(maxsize=None)
def _stand_in_class(torch: Any) -> type:
    """SGD whose ``add_param_group`` only fills in the defaults. torch's is wrapped in
    ``torch._disable_dynamo``, whose first call imports ``torch._dynamo``: 1.5 s of a preview's
    6 s here, for groups that hold one plain tensor each."""

    class StandIn(torch.optim.SGD):  # type: ignore[misc, name-defined]
        def add_param_group(self, param_group: Dict[str, Any]) -> None:
            param_group["params"] = list(param_group["params"])
            for name, default in self.defaults.items():
                param_group.setdefault(name, default)
            self.param_groups.append(param_group)

    return StandIn


def _no_update(optimizer: Any, closure: Optional[Callable[[], Any]] = None) -> Any:
    return closure() if closure is not None else None


def _scheduler_class(qualname: str) -> Callable[..., Any]:
    """The scheduler class (or transformers factory) a qualified name names, from the modules the
    preview supports only."""
    module_name, _, attribute = qualname.rpartition(".")
    if qualname.startswith("timm."):
        raise PreviewError(f"`{qualname}` is a timm scheduler: the preview replays PyTorch's and transformers' only")
    if module_name in _TORCH_MODULES:
        return _torch_scheduler(module_name, attribute, qualname)
    if module_name.split(".")[0] == "transformers" and _TRANSFORMERS_FACTORY.fullmatch(attribute):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise PreviewError(f"`{qualname}` comes from transformers: install transformers to preview it") from None
        factory = getattr(module, attribute, None)
        if not callable(factory):
            raise PreviewError(f"this version of transformers has no `{qualname}`")
        return factory
    raise PreviewError(
        f"`{qualname}` is not a scheduler the preview replays"
        " (torch.optim.lr_scheduler, torch.optim.swa_utils, transformers' get_*schedule* factories)"
    )


def _torch_scheduler(module_name: str, attribute: str, qualname: str) -> Callable[..., Any]:
    module = importlib.import_module(module_name)
    scheduler_class = getattr(module, attribute, None) if not attribute.startswith("_") else None
    lr_scheduler = importlib.import_module("torch.optim.lr_scheduler")
    bases = tuple(
        base
        for base in (getattr(lr_scheduler, name, None) for name in ("LRScheduler", "_LRScheduler", "ReduceLROnPlateau"))
        if isinstance(base, type)
    )
    if not (isinstance(scheduler_class, type) and issubclass(scheduler_class, bases)):
        raise PreviewError(f"this version of torch has no scheduler `{qualname}`")
    return scheduler_class


# --- arguments ---------------------------------------------------------------------------


class _Resolver:
    """Turns plan values that are not the optimizer or a scheduler into Python values."""

    def __init__(self, sizes: Mapping[str, int], options: Options, title: str) -> None:
        self.sizes = sizes
        self.options = options
        self.title = title

    def number(self, value: Value, what: str) -> float:
        resolved = self.plain(value, what)
        if isinstance(resolved, bool) or not isinstance(resolved, (int, float)):
            raise PreviewError(f"{self.title}: {what} is {resolved!r}, not a number")
        return float(resolved)

    def plain(self, value: Value, what: str) -> Any:
        try:
            if isinstance(value, Missing):
                return self.missing(value)
            if isinstance(value, Quantity):
                if value.name not in self.sizes:
                    raise PreviewError(f"`{what}` is `{value.name}`, which the preview does not know")
                return self.sizes[value.name]
            if isinstance(value, Expression):
                return evaluate_expression(value, self.sizes, missing=self.missing)
            if isinstance(value, Function):
                return compile_function(value, self.sizes, name=what, missing=self.missing)
        except PreviewError as error:
            raise PreviewError(f"{self.title}: {error}") from None
        return value

    def missing(self, missing: Missing) -> Number:
        """A value the script only knows at run time: a loop size, or one given in ``Options.extra``."""
        option = missing.option
        if option in _SIZE_OF_OPTION:
            return self.sizes[_SIZE_OF_OPTION[option]]
        keys = [missing.text] + ([option, option.lstrip("-").replace("-", "_")] if option else [])
        for key in keys:
            if key in self.options.extra:
                return self.options.extra[key]
        how = f": pass {option} VALUE" if option else ""
        raise PreviewError(f"{_source(missing.text)} is only known when the script runs{how}")


@dataclass
class _Builder:
    """Builds a ``SchedulerCall`` on the stand-in optimizer; nested calls (SequentialLR's schedulers)
    are built first, in argument order, as the script builds them."""

    optimizer: Any
    resolver: _Resolver

    def build(self, call: SchedulerCall) -> Any:
        scheduler_class = _scheduler_class(call.qualname)
        args = [self.value(value, f"argument {index + 1}") for index, value in enumerate(call.args)]
        kwargs = {name: self.value(value, name) for name, value in call.kwargs}
        return scheduler_class(*args, **kwargs)

    def value(self, value: Value, name: str) -> Any:
        if isinstance(value, Quantity) and value == OPTIMIZER:
            return self.optimizer
        if isinstance(value, SchedulerCall):
            return self.build(value)
        if isinstance(value, tuple):  # a list in the script as often as a tuple; torch takes either
            return [self.value(element, name) for element in value]
        # A function passed positionally is LambdaLR's or MultiplicativeLR's lr_lambda.
        return self.resolver.plain(value, "lr_lambda" if name.startswith("argument") else name)


def _source(text: str) -> str:
    """Where a value comes from, in a message: code in backticks, a description as it is."""
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return text
    return f"`{text}`"


# --- stepping ----------------------------------------------------------------------------


class _Metrics:
    """The values a ``step(metric)`` site passes, in order; the last repeats once they run out."""

    def __init__(self, values: Sequence[float], call: SchedulerCall, stepping: Stepping) -> None:
        if not values and any(site.metric for site in stepping.sites):
            short = call.qualname.rsplit(".", 1)[-1]
            raise PreviewError(f"{short} is stepped with a metric: pass --metric VALUES")
        self.values = list(values)
        self.index = 0

    def next(self) -> float:
        value = self.values[min(self.index, len(self.values) - 1)]
        self.index += 1
        return value


class _Recorder:
    """What the replay has recorded so far, kept when the scheduler crashes midway."""

    def __init__(self) -> None:
        self.lrs: List[Tuple[float, ...]] = []
        self.epochs: List[int] = []


def _step(
    scheduler: Any,
    optimizer: Any,
    stepping: Stepping,
    sizes: Mapping[str, int],
    metrics: _Metrics,
    recorder: _Recorder,
) -> None:
    """The training loop, with the optimizer step every ``accumulation`` batches and the scheduler
    stepped at each of the stepping's sites."""

    def sites(cadence: Cadence, before: Optional[bool] = None) -> List[StepSite]:
        return [s for s in stepping.sites if s.cadence is cadence and (before is None or s.before_optimizer is before)]

    def fire(chosen: List[StepSite]) -> None:
        for site in chosen:
            if site.metric:
                scheduler.step(metrics.next())
            else:
                scheduler.step()

    before_epoch, after_epoch = sites(Cadence.BEFORE_EPOCH), sites(Cadence.PER_EPOCH)
    batch_before, batch_after = sites(Cadence.PER_BATCH, True), sites(Cadence.PER_BATCH, False)
    update_before, update_after = sites(Cadence.PER_UPDATE, True), sites(Cadence.PER_UPDATE, False)
    accumulation = sizes["accumulation"]
    steps = sizes["steps_per_epoch"]
    # Without per-batch sites only the batches that end in an optimizer step matter.
    batches = range(steps) if batch_before or batch_after else range(accumulation - 1, steps, accumulation)
    groups = optimizer.param_groups
    for epoch in range(sizes["epochs"]):
        fire(before_epoch)
        for batch in batches:
            fire(batch_before)
            if (batch + 1) % accumulation == 0:
                fire(update_before)
                recorder.lrs.append(tuple(float(group["lr"]) for group in groups))
                recorder.epochs.append(epoch)
                optimizer.step()
                fire(update_after)
            fire(batch_after)
        fire(after_epoch)


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return message if len(message) <= 300 else message[:297] + "..."
