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

The test runs in three steps, each dearer than the one before and run only on the files it kept:
1. plain substring tests (`"sched" in text`), which skip most of a library in microseconds;
2. the same tests as regular expressions over the whole text, comments and docstrings included;
3. the same tests over the identifiers of CPython's syntax tree (names, attributes, called
   names, parameters, imports, keyword arguments): a word in a docstring or a comment, such as a
   diffusion "noise scheduler" explained next to an "optimizer" argument, no longer counts.
   A file CPython cannot parse is kept: the analysis reports its syntax error.
Whatever a file imports from the project counts through ``ProjectModules``: a module that builds,
steps or hands out schedulers makes its importer a candidate.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Callable, Collection, Iterable, List

from .model.known import looks_like_scheduler

# Words that can begin any of the patterns below; a text without one of them is skipped at once.
_SUBSTRINGS = ("sched", "Sched", "SCHED", "LR", "lr_s", "WarmRestarts", "configure_optimizers")
# (a) what builds or hands out a scheduler: torch's classes (`StepLR`, `ReduceLROnPlateau`, the
# `LRScheduler` base) and module, transformers' and timm's factories, Lightning and ignite hooks.
BUILDS_SCHEDULER = re.compile(
    r"lr_sched|LR\b|LROn|WarmRestarts|LRScheduler|_schedule_with_warmup|get_scheduler|get_\w*schedule\b"
    r"|create_scheduler|timm\.scheduler|configure_optimizers|lr_schedulers|lr_scheduler_step|param_scheduler"
)
# (b) a name that reads like a scheduler, as ``known.looks_like_scheduler`` accepts ...
NAMED_LIKE_SCHEDULER = re.compile(r"[Ss]ched(?:ul|\b|_|\.)|_sched|\blrs\b|\blr_s\b|SCHED")
# ... that is stepped or read (a rule about a scheduler known only by its name needs one of these) ...
STEPPED = re.compile(r"\bstep\(|\bget_lr\(")
# ... and optimizer activity it can be judged against (``known.TRAINING_CALL`` for call names).
OPTIMIZER_ACTIVITY = re.compile(
    r"(?i:optim|\bopt(?:_?[a-z0-9]{1,3})?\b|\b[a-z0-9]{1,3}_?opt\b)|param_groups|get_lr|backward\(|zero_grad"
    r"|(?i:\b(?:\w*_)?(?:train|fit)\w*\(|\w*epoch\w*\()"
)


def may_have_findings(
    source: str,
    declared_names: Collection[str] = (),
    imports_scheduler_code: Callable[[], bool] = lambda: False,
    imports_training_code: Callable[[], bool] = lambda: False,
) -> bool:
    """Whether ``source`` may produce a finding. ``declared_names`` are the project's own scheduler
    classes (their last component); the callables say whether a project module the source imports
    builds/steps schedulers, or trains at all (asked only when the text alone cannot decide)."""
    if _concerns_schedulers(source, declared_names, imports_training_code, NAMED_LIKE_SCHEDULER.search):
        identifiers = _identifiers(source)
        if identifiers is None:  # CPython cannot parse it: let the analysis report why
            return True
        if _concerns_schedulers(identifiers, declared_names, imports_training_code, _names_a_scheduler):
            return True
    return imports_scheduler_code()


def has_optimizer_activity(source: str) -> bool:
    """Whether the code (not its comments) steps, names or trains an optimizer: what makes an
    imported module matter to a scheduler its importer steps."""
    if not OPTIMIZER_ACTIVITY.search(source):
        return False
    identifiers = _identifiers(source)
    return identifiers is None or bool(OPTIMIZER_ACTIVITY.search(identifiers))


def _concerns_schedulers(
    words: str,
    declared_names: Collection[str],
    imports_training_code: Callable[[], bool],
    names_a_scheduler: Callable[[str], object],
) -> bool:
    """(a) or (b) of the module docstring, on the whole text or on the identifiers only."""
    if any(re.search(rf"\b{re.escape(name)}\b", words) for name in declared_names):
        return True
    if not any(word in words for word in _SUBSTRINGS):
        return False
    if BUILDS_SCHEDULER.search(words):
        return True
    if not names_a_scheduler(words) or not STEPPED.search(words):
        return False
    return bool(OPTIMIZER_ACTIVITY.search(words)) or imports_training_code()


# In the identifiers: a word with "sched" in it, and whether it is called.
_SCHEDULER_WORD = re.compile(r"\b(\w*(?:sched|Sched|SCHED)\w*|lrs|lr_s)\b(\(?)")


def _names_a_scheduler(identifiers: str) -> bool:
    """Whether an object (not a called function) is named as the model takes for a scheduler."""
    return any(not called and looks_like_scheduler(word) for word, called in _SCHEDULER_WORD.findall(identifiers))


@lru_cache(maxsize=64)  # an imported module is asked both of its tests
def _identifiers(source: str) -> "str | None":
    """The code's own words, space separated; a called name is followed by `(`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return " ".join(_words(ast.walk(tree)))


def _words(nodes: Iterable[ast.AST]) -> List[str]:
    words: List[str] = []
    add = words.append
    called = set()  # the callee of each call: written once, with its `(`
    for node in nodes:
        kind = type(node)
        if kind is ast.Name:
            if id(node) not in called:
                add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            if id(node) not in called:
                add(node.attr)  # type: ignore[attr-defined]
        elif kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            called.add(id(func))
            name = func.id if type(func) is ast.Name else func.attr if type(func) is ast.Attribute else ""
            add(name + "(")
        elif kind is ast.arg or kind is ast.keyword:
            add(node.arg or "")  # type: ignore[attr-defined]
        elif kind in _DEFINITIONS:
            add(node.name + "(")  # type: ignore[attr-defined]  # a function or class, not an object
        elif kind is ast.alias:
            add(f"{node.name} {node.asname or ''}")  # type: ignore[attr-defined]
        elif kind is ast.ImportFrom:
            add(node.module or "")  # type: ignore[attr-defined]
    return words


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
