"""Which files need the analysis at all, decided before libcst sees them.

Every finding is about a learning-rate scheduler the model tracks, and the model only tracks one
that (a) a known class, factory or framework hook builds or hands out (`StepLR(`,
`get_scheduler(`, `create_scheduler(`, `configure_optimizers`, a subclass of `LRScheduler`,
a class the project declares), or (b) the code names like a scheduler (`scheduler`,
`self.lr_sched`) and that meets optimizer activity: an optimizer-like name, `param_groups`,
`get_lr`, `backward(`, or a call whose name says it trains (`train_one_epoch(`, `run_epoch(`),
in the file or in a project module it can follow. A file with neither cannot produce a finding,
so it is not parsed.

The test runs in three steps, each cheaper than the next and only on files the previous one kept:
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
from typing import Callable, Collection, Iterable, List

# Words that can begin any of the patterns below; a text without one of them is skipped at once.
_SUBSTRINGS = ("sched", "Sched", "SCHED", "LR", "lr_s", "WarmRestarts", "configure_optimizers")
# (a) what builds or hands out a scheduler: torch's classes (`StepLR`, `ReduceLROnPlateau`, the
# `LRScheduler` base) and module, transformers' and timm's factories, Lightning and ignite hooks.
BUILDS_SCHEDULER = re.compile(
    r"lr_sched|LR\b|LROn|WarmRestarts|LRScheduler|_schedule_with_warmup|get_scheduler|get_\w*schedule\b"
    r"|create_scheduler|timm\.scheduler|configure_optimizers|lr_schedulers|lr_scheduler_step|param_scheduler"
)
# (b) a name that reads like a scheduler, as ``known.looks_like_scheduler`` accepts ...
NAMED_LIKE_SCHEDULER = re.compile(r"[Ss]ched(?:ul|\b|_|\.)|_sched|lr_s|\blrs\b|SCHED")
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
    if not _text_may_concern_schedulers(source, declared_names):
        return imports_scheduler_code()
    identifiers = _identifiers(source)
    if identifiers is None:  # CPython cannot parse it: let the analysis report why
        return True
    if _concerns_schedulers(identifiers, declared_names, imports_training_code):
        return True
    return imports_scheduler_code()


def _text_may_concern_schedulers(text: str, declared_names: Collection[str]) -> bool:
    if any(name in text for name in declared_names):
        return True
    if not any(word in text for word in _SUBSTRINGS):
        return False
    if BUILDS_SCHEDULER.search(text):
        return True
    return bool(NAMED_LIKE_SCHEDULER.search(text)) and bool(OPTIMIZER_ACTIVITY.search(text))


def _concerns_schedulers(
    identifiers: str, declared_names: Collection[str], imports_training_code: Callable[[], bool]
) -> bool:
    if BUILDS_SCHEDULER.search(identifiers) or any(
        re.search(rf"\b{re.escape(n)}\b", identifiers) for n in declared_names
    ):
        return True
    if not NAMED_LIKE_SCHEDULER.search(identifiers):
        return False
    return bool(OPTIMIZER_ACTIVITY.search(identifiers)) or imports_training_code()


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
    for node in nodes:
        kind = type(node)
        if kind is ast.Name:
            add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            add(node.attr)  # type: ignore[attr-defined]
        elif kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            called = func.id if type(func) is ast.Name else func.attr if type(func) is ast.Attribute else ""
            add(called + "(")
        elif kind is ast.arg or kind is ast.keyword:
            add(node.arg or "")  # type: ignore[attr-defined]
        elif kind in _DEFINITIONS:
            add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.alias:
            add(f"{node.name} {node.asname or ''}")  # type: ignore[attr-defined]
        elif kind is ast.ImportFrom:
            add(node.module or "")  # type: ignore[attr-defined]
    return words


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
