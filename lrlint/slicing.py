"""The part of a candidate file the analysis needs; libcst is given only that part.

The pre-filter (lrlint.prefilter) decides whether a file may have findings at all, from its
whole text. A large library file often passes for a few of its definitions: transformers'
`integration_utils.py` passes because two functions among its 2,500 lines use the `Trainer`.
libcst parses about nine times slower than CPython, and the analysis interprets every definition
it is given (a function nothing calls runs as a root). So CPython's parser first splits a
candidate into its top-level statements (looking inside `if` and `try`, as in
`if is_torch_available():`), and a statement the analysis cannot need is blanked: it becomes a
`pass` on its first line and empty lines after, so that every statement kept has its own line and
column (positions, fixes and `# noqa` are those of the file).

A statement is needed when
1. it, with every statement of the file that binds a name it mentions (transitively), passes the
   pre-filter's test (``prefilter.Traits``; importing what project code that builds, steps or
   hands out schedulers defines counts as a scheduler), or it declares command-line arguments
   (`add_argument`: the analysis reads their defaults from the whole file);
2. a needed statement mentions a name it binds;
3. it is top-level code (not a definition or an import) that mentions a variable needed code
   binds (`args.epochs = 3` between `args = parse_args()` and the scheduler that reads it), or a
   definition that mentions such a variable when it holds optimizer or scheduler state
   (`optimizer = SGD(...)`): a function nothing calls still runs as a root, and may set that
   optimizer's learning rate.
Names are words of the code (strings and comments blanked), so an attribute `x.scheduler` counts
as a mention of a variable `scheduler`: more is kept, never less. Nothing is blanked in a file
that imports `*`, whose names no text shows.
"""

from __future__ import annotations

import ast
import io
import re
from typing import Callable, Collection, Dict, FrozenSet, Iterable, Iterator, List, Optional, Set

from .prefilter import Traits, without_strings

_WORD = re.compile(r"\w+")
_GLOBAL = re.compile(r"\bglobal\b")  # the statement; not `global_step`
_DEFINITION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORT = (ast.Import, ast.ImportFrom)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


class _Unit:
    """One top-level statement (or a line of them joined by `;`), as the slicing sees it."""

    def __init__(self, nodes: List[ast.stmt], first: int, last: int) -> None:
        self.nodes = nodes
        self.first = first  # first line, decorators included
        self.last = last
        self.code = ""  # strings and comments blanked
        self.bound: Set[str] = set()
        self.mentioned: Set[str] = set()
        self.traits = Traits()

    @property
    def kind(self) -> str:
        """ "import", "definition" (functions and classes) or "code" (anything else, or a mix)."""
        if all(isinstance(node, _IMPORT) for node in self.nodes):
            return "import"
        if all(isinstance(node, _DEFINITION) for node in self.nodes):
            return "definition"
        return "code"


def needed_source(
    source: str,
    tree: ast.Module,
    declared_names: Collection[str] = (),
    scheduler_imports: Callable[[], FrozenSet[str]] = frozenset,
    imports_training_code: Callable[[], bool] = lambda: False,
) -> Optional[str]:
    """``source`` (which CPython parsed to ``tree``) with the statements the analysis cannot need
    blanked, or None when every statement is needed or a `from m import *` hides what names
    mean. ``scheduler_imports`` gives the words naming what the file imports from project code
    that builds, steps or hands out schedulers (a name taken from a module, or the module's own
    name); ``imports_training_code`` whether the file imports project code that trains (asked
    only when a statement steps a scheduler with no optimizer activity in sight, as
    ``prefilter.concerns_schedulers`` asks)."""
    lines = io.StringIO(source, newline="").readlines()  # only \n, \r\n and \r end lines, as in Python
    in_headers: Set[str] = set()  # names the kept headers of opened `if`s and `try`s mention
    units = list(_units(tree.body, lines, in_headers))
    if len(units) < 2 or any(_imports_star(unit) for unit in units):
        return None
    imported: List[FrozenSet[str]] = []  # scheduler_imports(), asked once at most
    binders: Dict[str, List[int]] = {}
    for index, unit in enumerate(units):
        unit.code = without_strings("".join(lines[unit.first - 1 : unit.last]))
        unit.traits = Traits.of(unit.code, declared_names)
        if "import" in unit.code:  # imports inside functions too: `def train(): from .trainer import Trainer`
            if not imported:
                imported.append(scheduler_imports())
            if imported[0] and not imported[0].isdisjoint(_WORD.findall(unit.code)):
                unit.traits = unit.traits._replace(declared=True)
        unit.bound = _bound_names(unit)
        for name in unit.bound:
            binders.setdefault(name, []).append(index)
    for unit in units:
        unit.mentioned = set(_WORD.findall(unit.code)).intersection(binders)
    needed = _needed(units, binders, _closure_traits(units, binders), imports_training_code, in_headers)
    if len(needed) == len(units):
        return None
    for index, unit in enumerate(units):
        if index not in needed:
            _blank(lines, unit.first, unit.last)
    return "".join(lines)


def _units(body: Iterable[ast.stmt], lines: List[str], in_headers: Set[str]) -> Iterator[_Unit]:
    """The statements run on import, looking inside `if` and `try` blocks whose statements start
    on lines of their own; statements sharing a line (`import os; import sys`) form one unit.
    The names the opened blocks' headers mention are added to ``in_headers``."""
    current: Optional[_Unit] = None
    for node in _flattened(body, lines, in_headers):
        first = min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", ())])
        last = node.end_lineno or node.lineno
        if current is not None and first <= current.last:
            current.nodes.append(node)
            current.last = max(current.last, last)
            continue
        if current is not None:
            yield current
        current = _Unit([node], first, last)
    if current is not None:
        yield current


def _flattened(body: Iterable[ast.stmt], lines: List[str], in_headers: Set[str]) -> Iterator[ast.stmt]:
    for node in body:
        blocks = _blocks(node, lines)
        if blocks is None:
            yield node
            continue
        # a header is always kept, and what it tests must mean what it means in the file:
        # `if args.warmup:` needs `args`
        headers = [node.test] if isinstance(node, ast.If) else [h.type for h in node.handlers if h.type]  # type: ignore[attr-defined]
        in_headers.update(name.id for header in headers for name in ast.walk(header) if isinstance(name, ast.Name))
        for block in blocks:
            yield from _flattened(block, lines, in_headers)


def _blocks(node: ast.stmt, lines: List[str]) -> Optional[List[List[ast.stmt]]]:
    """The blocks of an `if` or a `try` whose statements can be blanked one by one, or None:
    a block on its header's line (`if x: y`, `except E: y`, `else: y`) cannot, nor can an
    `elif` that could not itself be opened (its header line is no statement of its own)."""
    if not isinstance(node, (ast.If, ast.Try)):
        return None
    blocks = [node.body] + ([node.orelse] if node.orelse else [])
    if isinstance(node, ast.Try):
        blocks += [handler.body for handler in node.handlers] + ([node.finalbody] if node.finalbody else [])
    if not all(_starts_its_line(block[0], lines) for block in blocks):
        return None
    if isinstance(node, ast.If) and len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
        if _blocks(node.orelse[0], lines) is None:  # maybe `elif x: y`
            return None
    return blocks


def _starts_its_line(node: ast.stmt, lines: List[str]) -> bool:
    """Whether only indentation precedes the statement on its first line (a decorator never
    shares its line). Indentation is ASCII, so CPython's column in bytes counts characters here."""
    if getattr(node, "decorator_list", None):
        return True
    line = lines[node.lineno - 1]
    return len(line) - len(line.lstrip(" \t\f")) == node.col_offset


def _bound_names(unit: _Unit) -> Set[str]:
    """The names a unit binds in the module: a definition's name and those it declares `global`;
    an import's names; any name code assigns (a comprehension's too: more is kept, never less)."""
    declares_global = bool(_GLOBAL.search(unit.code))  # else no tree is walked for `global`: a class's is large
    return {name for node in unit.nodes for name in _assigned(node, declares_global)}


def _assigned(node: ast.AST, declares_global: bool) -> Iterator[str]:
    """Names a top-level statement stores in the module, outside the functions and classes it
    defines (their `global` names included when ``declares_global``)."""
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, ast.Name) and isinstance(current.ctx, (ast.Store, ast.Del)):
            yield current.id
        elif isinstance(current, _SCOPES):
            if not isinstance(current, ast.Lambda):
                yield current.name
            if declares_global:
                yield from _globals(current)
            continue
        elif isinstance(current, _IMPORT):
            yield from ((alias.asname or alias.name).split(".")[0] for alias in current.names)
        pending.extend(ast.iter_child_nodes(current))


def _globals(node: ast.AST) -> Iterator[str]:
    """The names a definition's code declares `global` (and so binds in the module)."""
    return (name for inner in ast.walk(node) if isinstance(inner, ast.Global) for name in inner.names)


def _closure_traits(units: List[_Unit], binders: Dict[str, List[int]]) -> List[Traits]:
    """Each unit's traits joined with those of every unit binding a name it mentions,
    transitively: propagated backwards along the mentions until nothing changes."""
    mentioned_by: Dict[int, Set[int]] = {}
    for index, unit in enumerate(units):
        for name in unit.mentioned:
            for binder in binders[name]:
                mentioned_by.setdefault(binder, set()).add(index)
    joined = [unit.traits for unit in units]
    pending = list(range(len(units)))
    while pending:
        index = pending.pop()
        for user in mentioned_by.get(index, ()):
            combined = joined[user] | joined[index]
            if combined != joined[user]:
                joined[user] = combined
                pending.append(user)
    return joined


def _needed(
    units: List[_Unit],
    binders: Dict[str, List[int]],
    joined: List[Traits],
    imports_training_code: Callable[[], bool],
    in_headers: Set[str],
) -> Set[int]:
    trains: List[bool] = []  # imports_training_code(), asked once at most

    def concerns(traits: Traits) -> bool:
        if traits.concern_schedulers():
            return True
        if traits.mentions and traits.stepped and traits.named and not traits.optimizer:
            if not trains:
                trains.append(imports_training_code())
            return trains[0]
        return False

    needed: Set[int] = set()
    pending = [index for index, unit in enumerate(units) if concerns(joined[index]) or _always_kept(unit)]
    pending += [binder for name in in_headers for binder in binders.get(name, ())]
    while pending:
        while pending:  # rule 2: what needed statements mention
            index = pending.pop()
            if index in needed:
                continue
            needed.add(index)
            pending.extend(binder for name in units[index].mentioned for binder in binders[name])
        variables = {name for index in needed if units[index].kind == "code" for name in units[index].bound}
        stateful = {name for name in variables if any(_holds_state(joined[binder]) for binder in binders[name])}
        pending = [
            index for index, unit in enumerate(units) if index not in needed and _acts_on(unit, variables, stateful)
        ]
    return needed


def _acts_on(unit: _Unit, variables: Set[str], stateful: Set[str]) -> bool:
    """Rule 3: top-level code that mentions a variable needed code binds, or a definition that
    mentions one that may hold optimizer or scheduler state."""
    if unit.kind == "code":
        return not unit.mentioned.isdisjoint(variables)
    return unit.kind == "definition" and not unit.mentioned.isdisjoint(stateful)


def _always_kept(unit: _Unit) -> bool:
    """`add_argument` declares defaults the analysis reads wherever they are."""
    return "add_argument" in unit.code


def _imports_star(unit: _Unit) -> bool:
    return any(isinstance(node, ast.ImportFrom) and node.names[0].name == "*" for node in unit.nodes)


def _holds_state(traits: Traits) -> bool:
    """Whether a variable bound by code with these traits may hold an optimizer or a scheduler."""
    return traits.declared or traits.mentions or traits.builds or traits.named or traits.optimizer


def _blank(lines: List[str], first: int, last: int) -> None:
    """Lines ``first``..``last`` (1-based) become a `pass` at the first line's indentation and
    empty lines, each keeping its own line ending."""
    for number in range(first, last + 1):
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if number == first:
            indentation = body[: len(body) - len(body.lstrip(" \t\f"))]
            lines[number - 1] = indentation + "pass" + ending
        else:
            lines[number - 1] = ending
