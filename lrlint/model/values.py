"""The abstract values of the interpreter (what a name may hold) and its environments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from . import Tracked, known

Guard = Tuple[str, bool]  # (normalised condition text, branch taken)

# ----------------------------------------------------------------------------------------------
# Abstract values
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QName:
    """A module or an object reached through imports: ``torch.optim.lr_scheduler.StepLR``."""

    name: str
    origin: Optional[str] = None  # the importing file of a relative import (`.engine.train`)


@dataclass(frozen=True)
class Const:
    """A literal True/False (flags passed to or defaulted in an inlined call)."""

    value: object


@dataclass(frozen=True)
class Options:
    """One of several tracked objects, each with the branch conditions under which it was bound."""

    options: Tuple[Tuple[Tracked, FrozenSet[Guard]], ...]

    def objects(self) -> Tuple[Tracked, ...]:
        return tuple(obj for obj, _ in self.options)


@dataclass(frozen=True)
class Each:
    """Every element of a collection, one per iteration: stepping it steps all of them."""

    objs: FrozenSet[Tracked]


@dataclass(eq=False)
class Container:
    """A list/dict/set holding tracked objects (mutable: ``.append`` adds)."""

    elements: Set[Tracked] = field(default_factory=set)
    entries: Dict[str, "Value"] = field(default_factory=dict)  # literal string keys of a dict
    others: List["Value"] = field(default_factory=list)  # the file's own objects (callbacks, ...)

    def add(self, value: "Value") -> None:
        self.elements.update(tracked_in(value))
        if isinstance(value, (Instance, Func)) and not any(other is value for other in self.others):
            self.others.append(value)


@dataclass(frozen=True)
class Multi:
    """Each of several values, one per iteration (`for cb in callbacks:`): calls reach all."""

    values: Tuple["Value", ...]


@dataclass(frozen=True)
class Tup:
    items: Tuple["Value", ...]


@dataclass(frozen=True)
class Enumerated:
    inner: "Value"


@dataclass(frozen=True)
class Zipped:
    inners: Tuple["Value", ...]


@dataclass(frozen=True)
class Items:
    container: Container


@dataclass(eq=False)
class ClassInfo:
    node: cst.ClassDef
    name: str
    env: "Env"
    bases: Tuple["Value", ...]
    methods: Dict[str, cst.FunctionDef]
    instances: List["Instance"] = field(default_factory=list)

    def known_base(self) -> Optional[str]:
        """The library class this one derives from, through local subclasses."""
        for base in self.bases:
            if isinstance(base, QName):
                return base.name
            if isinstance(base, ClassInfo) and base is not self:
                found = base.known_base()
                if found:
                    return found
        return None

    def find_method(self, name: str, seen: Optional[Set[int]] = None) -> Optional[Tuple[cst.FunctionDef, "ClassInfo"]]:
        if name in self.methods:
            return self.methods[name], self
        seen = seen or set()
        seen.add(id(self))
        for base in self.bases:
            if isinstance(base, ClassInfo) and id(base) not in seen:
                found = base.find_method(name, seen)
                if found:
                    return found
        return None


@dataclass(eq=False)
class Instance:
    cls: ClassInfo
    attrs: Dict[str, "Value"] = field(default_factory=dict)


@dataclass(frozen=True)
class Func:
    node: Union[cst.FunctionDef, cst.Lambda]
    env: "Env"
    bound: Optional[Instance] = None
    owner: Optional[ClassInfo] = None


MISSING = object()  # an attribute that was not set (for undoing writes)


@dataclass(eq=False)
class IgniteEngine:
    """An ignite ``Engine``: its process function (or the optimizer ``create_supervised_trainer``
    steps) and the handlers registered per event, run in event order by ``engine.run()``."""

    process: Optional["Func"]
    optimizers: Tuple[Tracked, ...]
    handlers: Dict[str, List["Func"]] = field(default_factory=dict)


@dataclass(frozen=True)
class ParamGroups:
    """``optimizer.param_groups`` (or, ``one=True``, one of its dicts): where a hand-set "lr" goes."""

    optimizers: FrozenSet[Tracked]
    one: bool = False


Value = Union[
    None,
    Const,
    QName,
    Options,
    Each,
    Container,
    Multi,
    Tup,
    Enumerated,
    Zipped,
    Items,
    ClassInfo,
    Instance,
    Func,
    ParamGroups,
    IgniteEngine,
]


def tracked_in(value: Value) -> Tuple[Tracked, ...]:
    """Every tracked object a value may refer to, however deeply held."""
    found: List[Tracked] = []
    _collect(value, found, set())
    return tuple(found)


def _collect(value: Value, found: List[Tracked], seen: Set[int]) -> None:
    if value is None or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Options):
        found.extend(value.objects())
    elif isinstance(value, Each):
        found.extend(value.objs)
    elif isinstance(value, Container):
        found.extend(value.elements)
        for entry in value.entries.values():
            _collect(entry, found, seen)
    elif isinstance(value, Multi):
        for inner in value.values:
            _collect(inner, found, seen)
    elif isinstance(value, Tup):
        for item in value.items:
            _collect(item, found, seen)
    elif isinstance(value, (Enumerated,)):
        _collect(value.inner, found, seen)
    elif isinstance(value, Zipped):
        for inner in value.inners:
            _collect(inner, found, seen)
    elif isinstance(value, Items):
        _collect(value.container, found, seen)


def single(obj: Tracked, guards: FrozenSet[Guard] = frozenset()) -> Options:
    return Options(((obj, guards),))


def merge_values(first: Value, second: Value, first_guard: Optional[Guard], second_guard: Optional[Guard]) -> Value:
    """The value of a name after an if/else whose branches bound it to ``first``/``second``.

    Shapes that agree merge structurally; otherwise no tracked object may be lost: they are
    kept together in a container (an early ``return optimizer`` beside ``return [opt], [sched]``).
    """
    if first is second:
        return first
    if first is None or second is None or isinstance(first, Options) and isinstance(second, Options):
        if not isinstance(first, (Options, type(None))) or not isinstance(second, (Options, type(None))):
            return first if first is not None else second
        merged: List[Tuple[Tracked, FrozenSet[Guard]]] = []
        for value, guard in ((first, first_guard), (second, second_guard)):
            if isinstance(value, Options):
                for obj, guards in value.options:
                    merged.append((obj, guards | {guard} if guard else guards))
        return Options(tuple(merged))
    if isinstance(first, Each) and isinstance(second, Each):
        return Each(first.objs | second.objs)
    if isinstance(first, Tup) and isinstance(second, Tup) and len(first.items) == len(second.items):
        return Tup(tuple(merge_values(a, b, first_guard, second_guard) for a, b in zip(first.items, second.items)))
    if isinstance(first, Container) and isinstance(second, Container):
        merged_container = Container(set(first.elements) | set(second.elements))
        for other in first.others + second.others:
            merged_container.add(other)
        for key in union_in_order(first.entries, second.entries):
            merged_container.entries[key] = merge_values(
                first.entries.get(key), second.entries.get(key), first_guard, second_guard
            )
        return merged_container
    held = tracked_in(first) + tracked_in(second)
    if held and tracked_in(first) and tracked_in(second):
        return Container(set(held))
    return first if tracked_in(first) or not tracked_in(second) else second


def union_in_order(first: Dict, second: Dict) -> List:  # type: ignore[type-arg]
    """The keys of both, first's then second's others, each once. Not ``keys() | keys()``: a set
    iterates strings in an order that changes from run to run (hash randomization), and merges
    that take the first of several objects would then differ too."""
    return [*first, *(key for key in second if key not in first)]


# ----------------------------------------------------------------------------------------------
# Environments
# ----------------------------------------------------------------------------------------------


class DefinedOnFirstUse(dict):  # type: ignore[type-arg]
    """A split followed module's top-level names (see lrlint.followed): the statements that bind a
    name run when the name is first looked up. Only looked up and assigned, never copied or
    iterated, as a followed module's scope is (its other statements never run)."""

    def __init__(self, group_of: Callable[[str], Optional[int]], run_group: Callable[[int], None]) -> None:
        super().__init__()
        self._group_of = group_of
        self._run_group = run_group
        self._run: Set[int] = set()

    def run(self, group: int) -> None:
        """Run the group's statements, unless they ran already."""
        if group not in self._run:
            self._run.add(group)  # first: a class whose base has its own name must not loop
            self._run_group(group)

    def _define(self, name: str) -> None:
        group = self._group_of(name)
        if group is not None:
            self.run(group)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self._define(name)
        return super().__contains__(name)

    def __getitem__(self, name: str) -> "Value":
        self._define(name)
        return super().__getitem__(name)

    def get(self, name: str, default: "Value" = None) -> "Value":  # type: ignore[override]
        self._define(name)
        return super().get(name, default)


class Env:
    """A scope: names to values, and names to the expression that defined them (for horizons)."""

    def __init__(self, parent: Optional["Env"], is_class: bool = False) -> None:
        self.parent = parent
        self.is_class = is_class
        self.values: Dict[str, Value] = {}
        self.exprs: Dict[str, cst.BaseExpression] = {}
        # Parameters of an inlined call: the argument expression written at the call site.
        self.arguments: Dict[str, cst.BaseExpression] = {}
        self.parameters: Set[str] = set()  # the function's own parameters
        self.globals: Set[str] = set()
        self.star_imports: List[str] = []

    def lookup(self, name: str) -> Tuple[Value, Optional["Env"]]:
        env: Optional[Env] = self
        first = True
        while env is not None:
            # A function body does not see its class body's names (Python's scoping rule).
            if (first or not env.is_class) and name in env.values:
                return env.values[name], env
            first = False
            env = env.parent
        return None, None

    def lookup_expr(self, name: str) -> Optional[cst.BaseExpression]:
        """What defined ``name``: its assigned expression, or the argument bound to a parameter."""
        env: Optional[Env] = self
        while env is not None:
            if name in env.exprs:
                return env.exprs[name]
            if name in env.arguments:
                return env.arguments[name]
            env = env.parent
        return None

    def lookup_argument(self, name: str) -> Optional[cst.BaseExpression]:
        env: Optional[Env] = self
        while env is not None:
            if name in env.exprs or name in env.values and name not in env.arguments:
                return None  # rebound locally: no longer the argument
            if name in env.arguments:
                return env.arguments[name]
            env = env.parent
        return None

    def root(self) -> "Env":
        env = self
        while env.parent is not None:
            env = env.parent
        return env

    def star_import_of(self, name: str) -> Optional[QName]:
        for module in self.root().star_imports:
            candidate = f"{module}.{name}"
            if known.scheduler_spec(candidate) or known.is_optimizer_class(candidate):
                return QName(candidate)
        return None


@dataclass
class Frame:
    """One function activation."""

    name: str
    node: Optional[cst.CSTNode]
    env: Env
    owner: Optional[ClassInfo]
    returns: List[Value] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# The interpreter


def element_of(iterable: Value) -> Value:
    """The loop variable's value when iterating ``iterable``."""
    if isinstance(iterable, Container):
        each = Each(frozenset(iterable.elements)) if iterable.elements else None
        if iterable.others:
            return Multi(tuple(iterable.others) + ((each,) if each else ()))
        return each
    if isinstance(iterable, Tup):
        objs = frozenset(tracked_in(iterable))
        own = tuple(item for item in iterable.items if isinstance(item, (Instance, Func)))
        each = Each(objs) if objs else None
        if own:
            return Multi(own + ((each,) if each else ()))
        return each
    if isinstance(iterable, Each):
        return iterable
    if isinstance(iterable, Options):
        return Each(frozenset(iterable.objects()))
    if isinstance(iterable, Enumerated):
        return Tup((None, element_of(iterable.inner)))
    if isinstance(iterable, Zipped):
        return Tup(tuple(element_of(inner) for inner in iterable.inners))
    if isinstance(iterable, Items):
        return Tup((None, element_of(iterable.container)))
    if isinstance(iterable, ParamGroups) and not iterable.one:
        return ParamGroups(iterable.optimizers, one=True)
    return None


def merge_all(values: Sequence[Value]) -> Value:
    result: Value = None
    for value in values:
        result = merge_values(result, value, None, None) if result is not None else value
    return result
