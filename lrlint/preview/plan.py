"""What ``lrlint preview`` replays, as plain data: the contract between the static side (which
reads a script into ``SchedulePlan``s), the replay (which runs each plan on the real torch
scheduler class) and the renderers (which draw the resulting ``Curve``s).

Nothing here imports torch or libcst.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, Mapping, Optional, Tuple, Union


@dataclass(frozen=True)
class Missing:
    """A value the script only knows at run time (``len(train_loader)``, ``args.epochs`` without a
    default): the preview needs it from a command-line option."""

    text: str  # the expression as written
    option: Optional[str] = None  # the option that supplies it ("--steps-per-epoch"), if any
    # Arithmetic over values the run knows (`self.hparams.lr / 10`): the expression with `<<i>>`
    # for each such value, and their texts; given those values, it becomes an Expression.
    template: Optional[str] = None
    parts: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Quantity:
    """One of the loop's sizes inside an argument: ``epochs * len(loader)`` is
    ``Expression("{epochs} * {steps_per_epoch}")``, filled in once the sizes are known."""

    name: str  # "epochs", "steps_per_epoch", "accumulation"


@dataclass(frozen=True)
class Expression:
    """Arithmetic over literals and loop sizes, written as Python with ``{name}`` holes for the
    ``Quantity`` names (``"{epochs} * {steps_per_epoch}"``, ``"int(0.1 * {epochs} * {steps_per_epoch})"``).
    Evaluated by the preview's safe evaluator, never by ``eval``."""

    text: str


@dataclass(frozen=True)
class Function:
    """A learning-rate function (``lr_lambda``) written in the script: a lambda, or a ``def``
    returning one expression. ``body`` is Python source over ``parameter``; ``bindings`` gives the
    script's names it reads (numbers, or ``Expression``s over the loop sizes). It is evaluated by
    the preview's safe evaluator (arithmetic, comparisons, ``min``/``max``/``abs``/``float``/
    ``int``, ``math.cos``/``math.pi``/...), never executed."""

    parameter: str
    body: str
    bindings: Tuple[Tuple[str, "Value"], ...] = ()
    statements: Tuple[str, ...] = ()  # a def's body, when it is more than one return (if/return chains)


# A constructor argument: a literal, a tuple/list of them, one of the above, or another scheduler
# built on the same optimizer (SequentialLR's and ChainedScheduler's ``schedulers``).
Value = Union[
    None, bool, int, float, str, Tuple["Value", ...], Missing, Quantity, Expression, Function, "SchedulerCall"
]

# Where the optimizer goes among a call's arguments (the replay passes its stand-in there).
OPTIMIZER = Quantity("optimizer")


@dataclass(frozen=True)
class SchedulerCall:
    """How the script builds the scheduler: ``torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1,
    epochs=10, steps_per_epoch=len(loader))``. The optimizer is ``OPTIMIZER`` among ``args`` (or
    ``kwargs["optimizer"]``)."""

    qualname: str  # "torch.optim.lr_scheduler.OneCycleLR", "transformers.get_cosine_schedule_with_warmup"
    args: Tuple[Value, ...] = ()  # positional arguments, the optimizer as OPTIMIZER
    kwargs: Tuple[Tuple[str, Value], ...] = ()
    label: str = "scheduler"  # how the script names it
    line: int = 0

    def keyword(self, name: str) -> Optional[Value]:
        return dict(self.kwargs).get(name)


class Cadence(Enum):
    """When a scheduler step runs, relative to the training loop."""

    PER_UPDATE = "per optimizer step"  # with each optimizer step (inside its accumulation branch)
    PER_BATCH = "per batch"  # every batch, also those without an optimizer step
    PER_EPOCH = "per epoch"  # once an epoch, after the epoch's batches
    BEFORE_EPOCH = "at the start of each epoch"  # once an epoch, before its batches


@dataclass(frozen=True)
class StepSite:
    """One ``scheduler.step(...)`` call in the loop."""

    cadence: Cadence
    before_optimizer: bool = False  # per batch/update: runs before that iteration's optimizer step
    metric: bool = False  # passes a metric (ReduceLROnPlateau): taken from the --metric values


@dataclass(frozen=True)
class Stepping:
    """How a scheduler is stepped: its step sites (two sites step it twice)."""

    sites: Tuple[StepSite, ...]

    @property
    def never(self) -> bool:
        return not self.sites


@dataclass(frozen=True)
class SchedulePlan:
    """One scheduler to replay: how it is built, the optimizer's learning rates, how it is stepped,
    and, when lrlint reports a finding about it, how the script most likely meant it."""

    scheduler: SchedulerCall
    base_lrs: Tuple[Value, ...]  # the optimizer's learning rate for each param group
    stepping: Stepping
    intended: Optional["Intended"] = None


@dataclass(frozen=True)
class Intended:
    """The curve the script most likely meant: another stepping and/or another constructor call,
    and the findings that say why."""

    codes: Tuple[str, ...]  # "LR002"
    reason: str  # one sentence: "OneCycleLR counts optimizer steps: step it after each optimizer step"
    stepping: Optional[Stepping] = None  # None: as the script steps it
    scheduler: Optional[SchedulerCall] = None  # None: as the script builds it


@dataclass(frozen=True)
class Loop:
    """The sizes of the training loop, each a number or ``Missing``."""

    epochs: Union[int, Missing]
    steps_per_epoch: Union[int, Missing]  # batches per epoch
    accumulation: Union[int, Missing] = 1  # batches per optimizer step

    def sizes(self) -> Dict[str, Union[int, Missing]]:
        return {"epochs": self.epochs, "steps_per_epoch": self.steps_per_epoch, "accumulation": self.accumulation}


@dataclass(frozen=True)
class Preview:
    """What the static side found in one script."""

    path: str
    loop: Loop
    plans: Tuple[SchedulePlan, ...] = ()
    notes: Tuple[str, ...] = ()  # why a scheduler of the script is not previewed, one sentence each


# --- what the replay produces ------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """Learning rates at each optimizer step (the rate that step trained with), one value per param
    group. ``epochs`` gives each step's epoch (None where unknown, as in a runtime trace)."""

    kind: str  # "actual", "intended" or "recorded"
    scheduler: str  # the scheduler's label
    lrs: Tuple[Tuple[float, ...], ...]
    epochs: Tuple[Optional[int], ...]
    stopped: Optional[str] = None  # the error that ended the run early ("TypeError: step() missing ...")
    title: str = ""  # "OneCycleLR (train.py:42)"
    reason: str = ""  # for an intended curve: Intended.reason

    def __post_init__(self) -> None:
        if len(self.lrs) != len(self.epochs):
            raise ValueError("a curve needs one epoch per optimizer step")


# The CSV that `preview -o lr.csv` writes and the runtime trace writes, one row per optimizer step
# and param group; `lrlint preview --trace lr.csv` draws it again.
CSV_COLUMNS = ("curve", "scheduler", "update", "epoch", "group", "lr")


@dataclass
class Options:
    """Values from the command line that fill what the script leaves open."""

    epochs: Optional[int] = None
    steps_per_epoch: Optional[int] = None
    accumulation: Optional[int] = None
    metrics: Tuple[float, ...] = ()  # the values a ReduceLROnPlateau is stepped with, in order
    extra: Mapping[str, object] = field(default_factory=dict)  # --set: numbers or tuples of numbers, by expression text
