"""The training-loop model: what one file does with its optimizers and schedulers.

Built once per file by ``extract.build_model`` (one libcst parse, then an abstract interpretation
that inlines the file's own functions and methods), and read by the rules, which never touch the
syntax tree themselves except to point at nodes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

if TYPE_CHECKING:  # the types only: the pre-filter reads known.py without loading libcst
    import libcst as cst

    from ..followed import FollowedModule

from .known import SchedulerSpec


class Role(Enum):
    OPTIMIZER = "optimizer"
    SCHEDULER = "scheduler"


class LoopKind(Enum):
    """What one iteration of a loop is, judged from its syntax (names, iterables)."""

    EPOCH = "epoch"
    BATCH = "batch"
    UNKNOWN = "unknown"


class Horizon(Enum):
    """What a scheduler's horizon argument counts."""

    STEPS = "steps"
    EPOCHS = "epochs"
    UNKNOWN = "unknown"


_serials = itertools.count()


def restart_serials() -> None:
    """Number tracked objects from 0 again; done for each file, so that its analysis hashes them
    the same way on every run, whatever was analysed before in the process."""
    global _serials
    _serials = itertools.count()


@dataclass(eq=False)
class Tracked:
    """An optimizer or scheduler: constructed here (``node``), or known only by name (symbolic)."""

    role: Role
    label: str  # how the code names it: "scheduler", "self.lr_scheduler"
    qualname: Optional[str] = None
    spec: Optional[SchedulerSpec] = None
    node: Optional[cst.Call] = None  # the construction call; None for a symbolic object
    optimizers: Optional[FrozenSet["Tracked"]] = None  # what a scheduler drives; None if unknown
    horizon: Horizon = Horizon.UNKNOWN
    horizon_literal: Optional[float] = None  # the horizon when it is a plain number
    horizon_default: Optional[float] = None  # ... or the default of the command-line option it is
    custom: bool = False  # a subclass defined in the analysed code
    own_get_lr: bool = False  # ... that defines get_lr() itself (or a local base does)
    dynamic_kind: bool = False  # e.g. get_scheduler(name_from_config, ...): class unknown
    escapes: List[str] = field(default_factory=list)  # where it was handed to code we cannot see
    stored_on: Set[str] = field(default_factory=set)  # classes whose instances hold it
    constructed_in_class: Optional[str] = None
    labelled: bool = False
    created_in: Tuple["Loop", ...] = ()  # the loops around its construction, outermost first
    created_under: Tuple["Condition", ...] = ()  # the branches around its construction
    root: int = -1  # the top-level run that constructed it (see Event.root)
    created_seq: int = -1  # when it was constructed, in the order of Event.seq
    entry: Optional[cst.Call] = None  # built in another module of the project: the call here that led there
    serial: int = field(default_factory=lambda: next(_serials), repr=False)  # the order of creation

    def __hash__(self) -> int:
        # Sets of tracked objects become sequences (`for sched in schedulers: sched.step()` steps
        # each of a set); an id()-based hash made that order, and so messages, vary between runs.
        return self.serial

    @property
    def site(self) -> Optional[cst.CSTNode]:
        """Where a finding about its construction points: in this file, always."""
        return self.entry or self.node

    @property
    def symbolic(self) -> bool:
        return self.node is None

    @property
    def kind(self) -> str:
        if self.spec is not None and not self.custom:
            return self.spec.name
        if self.qualname:
            return self.qualname.rsplit(".", 1)[-1]
        return self.role.value

    @property
    def torch_api(self) -> bool:
        """A torch scheduler of a known class, judged by the torch rules."""
        return (
            self.spec is not None
            and self.spec.torch_step_api
            and not self.custom
            and not self.dynamic_kind
            and not self.symbolic
        )

    @property
    def is_timm(self) -> bool:
        return self.spec is not None and not self.spec.torch_step_api

    @property
    def needs_metric(self) -> bool:
        return self.spec is not None and self.spec.needs_metric


@dataclass(eq=False)
class Loop:
    """One loop as entered during interpretation (a helper inlined twice gives two Loops)."""

    node: cst.CSTNode
    kind: LoopKind
    parent: Optional["Loop"]
    targets: FrozenSet[str] = frozenset()
    function: Optional[str] = None
    count: Optional[float] = None  # iterations, when it is `range(N)` with literal bounds

    @property
    def nested(self) -> bool:
        return self.parent is not None

    def ancestors(self) -> Iterator["Loop"]:
        loop = self.parent
        while loop is not None:
            yield loop
            loop = loop.parent


@dataclass(frozen=True)
class Condition:
    """An ``if`` branch enclosing an event."""

    test: cst.BaseExpression
    text: str
    positive: bool
    loop: Optional[Loop]  # the innermost loop when the branch was entered
    names: FrozenSet[str]
    modulo: bool  # `(i + 1) % accum == 0`: accumulation-style, not a first-iteration guard
    compound: bool = False  # `a or b` / `a and b`
    leaves: bool = False  # the branch ends in `continue`/`break`/`return`: the rest of the iteration is skipped


@dataclass(eq=False)
class Event:
    seq: int  # execution order
    node: cst.CSTNode  # the call (or, for a LearningRateWrite, the assigned subscript)
    loops: Tuple[Loop, ...]
    conditions: Tuple[Condition, ...]
    classes: FrozenSet[str]  # classes whose methods are on the call stack
    root: int  # the top-level run it belongs to: the module body, or a function nothing here calls

    @property
    def loop(self) -> Optional[Loop]:
        return self.loops[-1] if self.loops else None

    def in_iteration_of(self, loop: Loop) -> bool:
        return any(own is loop for own in self.loops)

    def excludes(self, other: "Event") -> bool:
        """Whether the two events sit in opposite branches of one `if` (never both run)."""
        return any(
            mine.test is theirs.test and mine.positive != theirs.positive
            for mine in self.conditions
            for theirs in other.conditions
        )

    def conditions_within(self, loop: Optional[Loop]) -> Iterator[Condition]:
        """The conditions entered inside ``loop``'s body (or anywhere, for None)."""
        inside = loop is None
        for condition in self.conditions:
            if condition.loop is loop:
                inside = True
            if inside and (loop is None or condition.loop is loop or _below(condition.loop, loop)):
                yield condition


def _below(inner: Optional[Loop], outer: Loop) -> bool:
    return inner is not None and any(ancestor is outer for ancestor in inner.ancestors())


@dataclass(eq=False)
class Step(Event):
    """``x.step(...)`` (or ``scaler.step(opt)``) on tracked objects."""

    role: Role = Role.SCHEDULER
    targets: Tuple[Tracked, ...] = ()
    each: bool = False  # True: every target is stepped (a loop over a list); False: one of them
    receiver: str = ""  # the source text of what is stepped
    method: str = "step"
    args: Tuple[cst.Arg, ...] = ()
    via_scaler: bool = False

    @property
    def positional_args(self) -> Tuple[cst.Arg, ...]:
        return tuple(arg for arg in self.args if arg.keyword is None and not arg.star)

    def keyword(self, name: str) -> Optional[cst.Arg]:
        for arg in self.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg
        return None


@dataclass(eq=False)
class Read(Event):
    """A method call on a tracked scheduler that neither steps nor hands it on (``get_lr()``)."""

    targets: Tuple[Tracked, ...] = ()
    receiver: str = ""
    method: str = ""
    in_scheduler_class: bool = False  # made from a method of a scheduler subclass


@dataclass(eq=False)
class LearningRateWrite(Event):
    """``group["lr"] = ...`` (or ``*=``) on a param group of tracked optimizers; ``node`` is the
    assignment's target, the subscript."""

    optimizers: FrozenSet[Tracked] = frozenset()


@dataclass(eq=False)
class OpaqueCall(Event):
    """A call into code the analysis cannot see, which receives tracked objects or says it trains."""

    callee: str = ""
    passed: Tuple[Tracked, ...] = ()
    trains: bool = False  # its name says it trains (train_one_epoch, trainer.fit, ...)


@dataclass(eq=False)
class SchedulerStepOverride:
    """A Lightning ``lr_scheduler_step(self, scheduler, metric)`` override."""

    node: cst.FunctionDef
    class_name: str
    scheduler: Tracked  # the symbolic object bound to the ``scheduler`` parameter
    uses_metric: bool


@dataclass(frozen=True)
class Binding:
    """A value bound to a plain name, and the loops around the binding."""

    expr: Optional[cst.BaseExpression]  # None: not one expression (parameter, loop target, `+=`, unpacking)
    loops: Tuple[Loop, ...]


@dataclass(eq=False)
class LightningSchedulerConfig:
    """One scheduler as ``configure_optimizers`` hands it to Lightning, with its config keys."""

    node: cst.CSTNode  # the config dict literal, or the return statement for a bare scheduler
    schedulers: Tuple[Tracked, ...]
    interval: Optional[str]  # "step", "epoch", None when absent; "?" when not a literal
    has_monitor: bool
    class_name: Optional[str]


# Why a scheduler left the code we can see (Tracked.escapes holds these or free text).
RETURNED_TO_LIGHTNING = "returned by configure_optimizers()"


@dataclass
class TrainingLoopModel:
    path: str
    objects: List[Tracked] = field(default_factory=list)
    steps: List[Step] = field(default_factory=list)
    reads: List[Read] = field(default_factory=list)
    lr_writes: List[LearningRateWrite] = field(default_factory=list)
    lightning_configs: List[LightningSchedulerConfig] = field(default_factory=list)
    bindings: Dict[str, List["Binding"]] = field(default_factory=dict)  # by plain name, as the run went
    # the project's other modules the analysis followed into: their path and syntax
    followed: List[Tuple[str, "FollowedModule"]] = field(default_factory=list)
    calls: List[OpaqueCall] = field(default_factory=list)
    loops: List[Loop] = field(default_factory=list)
    overrides: List[SchedulerStepOverride] = field(default_factory=list)
    manual_optimization: Set[str] = field(default_factory=set)  # Lightning modules stepping by hand
    fetches_lr_schedulers: Set[str] = field(default_factory=set)  # classes calling self.lr_schedulers()
    code_for_node: object = None  # callable(node) -> str, for messages

    def schedulers(self) -> Iterator[Tracked]:
        return (obj for obj in self.objects if obj.role is Role.SCHEDULER)

    def scheduler_steps(self) -> Iterator[Step]:
        return (step for step in self.steps if step.role is Role.SCHEDULER and step.method == "step")

    def optimizer_steps(self) -> List[Step]:
        return [step for step in self.steps if step.role is Role.OPTIMIZER]

    def steps_of(self, obj: Tracked) -> List[Step]:
        return [step for step in self.steps if any(target is obj for target in step.targets)]

    def text(self, node: cst.CSTNode) -> str:
        return self.code_for_node(node) if self.code_for_node else ""


def build_model(*args: Any, **kwargs: Any) -> TrainingLoopModel:
    """See ``extract.build_model`` (imported on first use: it needs libcst)."""
    from .extract import build_model as build

    return build(*args, **kwargs)
