"""Which files need the analysis at all, decided before libcst sees them.

Every finding is about a learning-rate scheduler the model tracks, and the model only tracks one
that (a) a known class, factory or framework hook builds or hands out (`StepLR(`,
`get_scheduler(`, `create_scheduler(`, `configure_optimizers`, a subclass of `LRScheduler`,
a class the project declares), or (b) the code names like a scheduler (`scheduler`,
`self.lr_sched`, judged as ``known.looks_like_scheduler`` judges names). Every rule about (b)
needs it stepped or read (`.step(`, `.get_lr(`) next to optimizer activity: an optimizer-like
name, `param_groups`, `backward(`, or a call whose name says it trains (`train_one_epoch(`,
`run_epoch(`), in the file or in a project module it imports. A file with neither (a) nor (b)
cannot produce a finding, so it is not parsed.

The test is judged on the code alone: strings and comments are blanked first, so a diffusion
"noise scheduler" explained in a docstring next to an "optimizer" argument does not count. It runs
in two steps, each dearer than the one before and run only on the files it kept:
1. plain substring tests (`"sched" in text`), which skip most of a library in microseconds;
2. the tests above over the code, each opened by a substring test, because a regular expression
   with many branches scans a large file far slower than ``str.__contains__`` does.
A file with a syntax error is judged like any other: if its code concerns schedulers, the
analysis reports the error.

What a file imports from the project counts through ``ProjectModules``: a module that builds,
steps or hands out schedulers makes its importer a candidate, but only through the names the
importer takes from it (``names_concerning_schedulers``): a model file that imports
`is_deepspeed_zero3_enabled` from a module that also builds DeepSpeed's scheduler stays skipped.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Callable, Collection, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Set, Tuple, Union

# Words that can begin any of the patterns below; a text without one of them is skipped at once.
_SUBSTRINGS = ("sched", "Sched", "SCHED", "LR", "lr_s", "WarmRestarts", "configure_optimizers")
# (a) what builds or hands out a scheduler: torch's classes (`StepLR`, `ReduceLROnPlateau`, the
# `LRScheduler` base) and module, transformers' and timm's factories, Lightning and ignite hooks.
BUILDS_SCHEDULER = re.compile(
    r"lr_sched|LR\b|LROn|WarmRestarts|LRScheduler|_schedule_with_warmup|get_scheduler|get_\w*schedule\b"
    r"|create_scheduler|timm\.scheduler|configure_optimizers|lr_schedulers|lr_scheduler_step|param_scheduler"
)
# (b) a name that reads like a scheduler, as ``known.looks_like_scheduler`` accepts ...
_SCHEDULER_PART = re.compile(r"sched|Sched|SCHED|\blrs\b|\blr_s\b")
# ... that is stepped or read (a rule about a scheduler known only by its name needs one of these) ...
# Each pattern below starts with a plain word and checks what precedes it only after finding it
# (`step(?<!\wstep)` is `\bstep`): a pattern that starts with `\b` or with alternatives is tried
# at every position of the text, and scanned the library corpus's code 10-30 times slower.
_STEPPED = (re.compile(r"step(?<!\wstep)\s*\("), re.compile(r"get_lr(?<!\wget_lr)\s*\("))  # \b(?:step|get_lr)\s*\(
# ... and optimizer activity it can be judged against (``known.TRAINING_CALL`` for call names),
# matched in the lower-cased code: a word `opt` with up to three letters or digits after it
# (`opt_g`) or before it (`g_opt`) ...
_OPTIMIZER_WORD = re.compile(r"opt(?:_?[a-z0-9]{1,3})?|[a-z0-9]{1,3}_?opt")
# ... a call of `backward(` or `zero_grad(` ...
_OPTIMIZER_CALLS = (
    re.compile(r"backward(?<!\wbackward)\s*\("),
    re.compile(r"zero_grad(?<!\wzero_grad)\s*\("),
)
# ... or of a name that says it trains: (?:\b|_)(?:train|fit)\w*\s*\(|epoch\w*\s*\(
_TRAINING_CALLS = (
    re.compile(r"train(?<![^\W_]train)\w*\s*\("),
    re.compile(r"fit(?<![^\W_]fit)\w*\s*\("),
    re.compile(r"epoch\w*\s*\("),
)
# "optim" in the verb's forms, as in torch.compile's `OptimizedModule` that diffusers' pipelines
# check for: no name the model takes for an optimizer has it there (``known.looks_like_optimizer``
# wants "optim", "optimizer" or "optim" plus at most three letters; optimizer modules are named
# `optim`, `optimizers`, `optimization`), so such a word alone is no optimizer activity.
_OPTIM_AS_VERB = re.compile(r"optimi[sz](?:ed|es|ing)")

# Strings and comments, blanked before any test: a word there is not code. Each string's body is
# matched a run of plain characters at a time (`[^"\\]*`, then an escape or a lone quote and the
# next run) rather than one character per step of an alternation: twice as fast over the corpora,
# where docstrings are long, and the same matches.
_STRING_OR_COMMENT = re.compile(
    r"(?s)#[^\n]*"
    r'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    r"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
)
_WORD_TAIL = re.compile(r"\w*")
_CALLED = re.compile(r"\s*\(")


def may_have_findings(
    source: str,
    declared_names: Collection[str] = (),
    imports_scheduler_code: Callable[[], bool] = lambda: False,
    imports_training_code: Callable[[], bool] = lambda: False,
    verdict: "Optional[Verdict]" = None,
) -> bool:
    """Whether ``source`` may produce a finding. ``declared_names`` are the project's own scheduler
    classes (their last component); the callables say whether a project module the source imports
    builds/steps schedulers, or trains at all (asked only when the code alone cannot decide).
    ``verdict``, when given, is ``text_verdict(source, declared_names)``, judged already."""
    if verdict is None:
        verdict = text_verdict(source, declared_names)
    if verdict is True or (verdict is NEEDS_TRAINING and imports_training_code()):
        return True
    return imports_scheduler_code()


class _NeedsTraining:
    """The verdict on code that steps a scheduler-like name with no optimizer activity in sight:
    it concerns schedulers only if it imports project code that trains. False as a truth value,
    which is the verdict on the code alone."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NEEDS_TRAINING"


NEEDS_TRAINING = _NeedsTraining()
Verdict = Union[bool, _NeedsTraining]


def text_verdict(source: str, declared_names: Collection[str] = ()) -> Verdict:
    """``may_have_findings`` of the text alone, before anything it imports is asked: True, False,
    or NEEDS_TRAINING. Its truth is the verdict on a module that imports nothing; a file's own
    check may reuse it from the judgement made when an importer asked about the file."""
    if not _mentions_schedulers(source, declared_names):
        return False
    return _code_verdict(code_of(source), declared_names)


def has_optimizer_activity(source: str) -> bool:
    """Whether the code (not its comments) steps, names or trains an optimizer: what makes an
    imported module matter to a scheduler its importer steps."""
    return _optimizer_activity(code_of(source))


@lru_cache(maxsize=64)  # an imported module is asked both of its tests
def code_of(source: str) -> str:
    """The source with its strings and comments blanked (a string's prefix letter stays)."""
    return without_strings(source)


def without_strings(text: str) -> str:
    """``code_of``, not kept: for the many pieces of a module (its statements), which would push
    the modules out of that cache."""
    return _STRING_OR_COMMENT.sub(" ", text)


def _mentions_schedulers(text: str, declared_names: Collection[str]) -> bool:
    return any(word in text for word in _SUBSTRINGS) or any(name in text for name in declared_names)


def concerns_schedulers(
    code: str, declared_names: Collection[str] = (), imports_training_code: Callable[[], bool] = lambda: False
) -> bool:
    """(a) or (b) of the module docstring, on code whose strings and comments are blanked."""
    verdict = _code_verdict(code, declared_names)
    return verdict is True or (verdict is NEEDS_TRAINING and imports_training_code())


def _code_verdict(code: str, declared_names: Collection[str]) -> Verdict:
    """``concerns_schedulers`` before any import is asked: NEEDS_TRAINING for code that steps a
    scheduler-like name with no optimizer activity in sight."""
    if _names_declared(code, declared_names):
        return True
    if not any(word in code for word in _SUBSTRINGS):
        return False
    if BUILDS_SCHEDULER.search(code):
        return True
    if not _any_search(_STEPPED, code) or not _names_a_scheduler(code):
        return False
    return True if _optimizer_activity(code) else NEEDS_TRAINING


def _names_declared(code: str, declared_names: Collection[str]) -> bool:
    return any(name in code and re.search(rf"\b{re.escape(name)}\b", code) for name in declared_names)


class Traits(NamedTuple):
    """What ``concerns_schedulers`` asks of code, each of which holds for several pieces of code
    together when it holds for one of them: so a module's definitions are judged once each, and
    a name's definitions with every definition they use by combining their traits."""

    declared: bool = False
    mentions: bool = False  # one of _SUBSTRINGS
    builds: bool = False
    stepped: bool = False
    named: bool = False
    optimizer: bool = False

    @staticmethod
    def of(code: str, declared_names: Collection[str]) -> "Traits":
        return Traits(
            declared=bool(_names_declared(code, declared_names)),
            mentions=any(word in code for word in _SUBSTRINGS),
            builds=bool(BUILDS_SCHEDULER.search(code)),
            stepped=_any_search(_STEPPED, code),
            named=_names_a_scheduler(code),
            optimizer=_optimizer_activity(code),
        )

    def __or__(self, other: "Traits") -> "Traits":  # type: ignore[override]
        return Traits(*(mine or theirs for mine, theirs in zip(self, other)))

    def concern_schedulers(self) -> bool:
        """``concerns_schedulers`` of the code these traits were taken from (no imported code)."""
        return self.declared or (self.mentions and (self.builds or (self.stepped and self.named and self.optimizer)))


def _names_a_scheduler(code: str) -> bool:
    """Whether an object (not a called function) is named as the model takes for a scheduler."""
    # Imported here: a run over files that name no scheduler never loads the model package (its
    # dataclasses and patterns), and a candidate loads it with the analysis (lrlint.startup).
    from .model.known import looks_like_scheduler

    seen: Set[str] = set()
    for match in _SCHEDULER_PART.finditer(code):
        start, end = _word_around(code, match.start(), match.end())
        word = code[start:end]
        if word in seen:
            continue
        seen.add(word)
        if not _CALLED.match(code, end) and looks_like_scheduler(word):
            return True
    return False


def _word_around(text: str, start: int, end: int) -> Tuple[int, int]:
    """The span of the whole word (what ``\\w`` matches: letters, digits, `_`) around ``text[start:end]``."""
    while start and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return start, _WORD_TAIL.match(text, end).end()  # type: ignore[union-attr]


def _names_optim(lower: str) -> bool:
    """Whether "optim" occurs in the lower-cased code other than in `optimized`, `optimizes` or
    `optimizing` (each of those holds one "optim")."""
    count = lower.count("optim")
    return count > 0 and count > len(_OPTIM_AS_VERB.findall(lower))


def _optimizer_activity(code: str) -> bool:
    lower = code.lower()
    if _names_optim(lower) or "param_groups" in code or "get_lr" in code:
        return True
    return _any_search(_OPTIMIZER_CALLS, code) or _names_opt(lower) or _any_search(_TRAINING_CALLS, lower)


def _any_search(patterns: Iterable["re.Pattern[str]"], text: str) -> bool:
    return any(pattern.search(text) for pattern in patterns)


def _names_opt(lower: str) -> bool:
    """Whether a word of the lower-cased code is ``_OPTIMIZER_WORD`` (a word is what ``\\w``
    matches: letters, digits and `_`)."""
    index = lower.find("opt")
    while index != -1:
        start, end = _word_around(lower, index, index)
        if _OPTIMIZER_WORD.fullmatch(lower, start, end):
            return True
        index = lower.find("opt", end)
    return False


# -- the names a module hands its importers --------------------------------------------------


class Definitions(NamedTuple):
    """What a module's top level binds, and which of those names need the analysis when imported."""

    bound: FrozenSet[str]
    concerning: FrozenSet[str]


def names_concerning_schedulers(source: str, declared_names: Collection[str] = ()) -> Optional[Definitions]:
    """The module's top-level names whose definition, with every definition of the module it names
    (helpers, base classes, imports), passes the test of ``may_have_findings``. None when that
    cannot be told by name (the module does not parse, or imports `*`): then the whole module counts."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = source.splitlines(keepends=True)
    statements: List[ast.stmt] = []
    units: Dict[str, List[int]] = {}  # a name -> the statements that bind it
    for statement in _top_level(tree.body):
        names = _bound_names(statement)
        if names is None:
            return None
        for name in names:
            units.setdefault(name, []).append(len(statements))
        statements.append(statement)
    traits: List[Traits] = []
    uses: List[Set[str]] = []  # the module's names each statement mentions
    for statement in statements:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", ())])
        code = without_strings("".join(lines[first - 1 : statement.end_lineno]))
        traits.append(Traits.of(code, declared_names))
        uses.append(set(re.findall(r"\w+", code)).intersection(units))
    concerning = frozenset(name for name in units if _closure_traits(name, units, traits, uses).concern_schedulers())
    return Definitions(frozenset(units), concerning)


def _top_level(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements run on import, looking inside `if`/`try`/`with` (`if is_torch_available():`)."""
    for statement in body:
        if isinstance(statement, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for block in ("body", "orelse", "finalbody"):
                yield from _top_level(getattr(statement, block, ()))
            for handler in getattr(statement, "handlers", ()):
                yield from _top_level(handler.body)
        else:
            yield statement


def _bound_names(statement: ast.stmt) -> Optional[List[str]]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        if any(alias.name == "*" for alias in statement.names):
            return None
        return [(alias.asname or alias.name).split(".")[0] for alias in statement.names]
    targets = ast.walk(statement) if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)) else ()
    return [node.id for node in targets if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)]


def _closure_traits(name: str, units: Dict[str, List[int]], traits: List[Traits], uses: List[Set[str]]) -> Traits:
    """The traits of ``name``'s definitions and, transitively, of every module name they mention."""
    pending, seen, combined = [name], {name}, Traits()
    while pending:
        for index in units.get(pending.pop(), ()):
            combined |= traits[index]
            for word in uses[index] - seen:
                seen.add(word)
                pending.append(word)
    return combined
