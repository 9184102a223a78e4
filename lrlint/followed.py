"""A project module the analysis follows into, parsed whole or one top-level statement at a time.

The analysis reads only the top-level definitions and imports of a module a checked file imports
(see ``Interpreter.foreign_env``), and of those only the names the file's code reaches:
`from transformers.modeling_utils import unwrap_model` needs one function of a 5,000-line module.
libcst parses about nine times slower than CPython, so such a module is split by CPython's parser
into its top-level statements, and libcst parses a statement only when the analysis first looks
up a name it binds. A module that may itself have findings is parsed whole instead when this
process checks it later, as its check then reuses that tree (``project.tree_parsed_from``; see
``project.checked_later``).

Statements that bind the same name run together, in the order of the file, so the last binding
wins as it does when the module runs.
"""

from __future__ import annotations

import ast
import io
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple

from .parsing import parse_module

if TYPE_CHECKING:
    import libcst as cst


class FollowedModule:
    """A followed module's syntax: ``tree`` when parsed whole, else its statements by name."""

    def __init__(
        self,
        tree: "Optional[cst.Module]" = None,
        statements: Sequence[Tuple[int, str]] = (),
        groups: Sequence[Tuple[int, ...]] = (),
        group_of: Optional[Dict[str, int]] = None,
        starred: Sequence[int] = (),
    ) -> None:
        self.tree = tree
        self._statements = statements  # (first line, text) of every top-level statement
        self._groups = groups  # the statements that bind some names, each group in file order
        self._group_of = group_of or {}  # a name -> its group
        self.starred_groups = tuple(starred)  # groups with `from m import *`: they run first
        self._parsed: Dict[int, "Optional[cst.Module]"] = {}

    @staticmethod
    def whole(tree: "cst.Module") -> "FollowedModule":
        return FollowedModule(tree=tree)

    @staticmethod
    def split(source: str, tree: ast.Module) -> "FollowedModule":
        """The module ``source`` (which CPython parsed to ``tree``), split into its statements."""
        lines = io.StringIO(source, newline="").readlines()  # only \n, \r\n and \r end lines, as in Python
        statements: List[Tuple[int, str]] = []
        bound: List[List[str]] = []
        starred: List[int] = []
        for first, last, nodes in _logical_lines(tree.body):
            names = [name for node in nodes for name in _names_bound(node)]
            if any(isinstance(node, ast.ImportFrom) and node.names[0].name == "*" for node in nodes):
                starred.append(len(statements))
            statements.append((first, "".join(lines[first - 1 : last])))
            bound.append(names)
        groups, group_of_statement = _group(bound, starred)
        first_binder: Dict[str, int] = {}
        for index, names in enumerate(bound):
            for name in names:
                first_binder.setdefault(name, index)
        group_of = {name: group_of_statement[index] for name, index in first_binder.items()}
        starred_groups = sorted({group_of_statement[index] for index in starred})
        return FollowedModule(None, statements, groups, group_of, starred_groups)

    def group_of(self, name: str) -> Optional[int]:
        """The group of statements that bind ``name`` at the top level, if any does."""
        return self._group_of.get(name)

    def group(self, index: int) -> List["cst.BaseStatement"]:
        """The group's statements, parsed (once) by libcst; one libcst cannot parse is left out."""
        found: List["cst.BaseStatement"] = []
        for statement in self._groups[index]:
            tree = self._parse(statement)
            if tree is not None:
                found.extend(tree.body)
        return found

    def parsed(self) -> Iterator[Tuple[int, "cst.Module"]]:
        """Every tree parsed so far, with the number of lines above it in the module."""
        if self.tree is not None:
            yield 0, self.tree
            return
        for statement, tree in sorted(self._parsed.items()):
            if tree is not None:
                yield self._statements[statement][0] - 1, tree

    def trees_mentioning(self, word: str) -> List["cst.Module"]:
        """The trees of the statements whose text has ``word``, in file order (the whole tree
        when parsed whole)."""
        if self.tree is not None:
            return [self.tree]
        trees = (self._parse(index) for index, (_, text) in enumerate(self._statements) if word in text)
        return [tree for tree in trees if tree is not None]

    def _parse(self, statement: int) -> "Optional[cst.Module]":
        if statement not in self._parsed:
            import libcst as cst

            try:
                self._parsed[statement] = parse_module(self._statements[statement][1])
            except (cst.ParserSyntaxError, RecursionError, ValueError):
                self._parsed[statement] = None
        return self._parsed[statement]


def _logical_lines(body: Sequence[ast.stmt]) -> Iterator[Tuple[int, int, List[ast.stmt]]]:
    """(first line, last line, statements) of each top-level statement as libcst sees one: a
    compound statement with its decorators, or a line of simple statements joined by `;`."""
    current: List[ast.stmt] = []
    first = last = 0
    for node in body:
        start = min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", ())])
        end = node.end_lineno or node.lineno
        if current and start == last:  # `import os; import sys`
            current.append(node)
            last = end
            continue
        if current:
            yield first, last, current
        current, first, last = [node], start, end
    if current:
        yield first, last, current


def _names_bound(node: ast.stmt) -> List[str]:
    """The names a top-level statement binds as ``Interpreter.foreign_env`` runs it: definitions
    and imports only (its other statements never run)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Import):
        return [alias.asname or alias.name.split(".", 1)[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [alias.asname or alias.name for alias in node.names if alias.name != "*"]
    return []


def _group(bound: List[List[str]], starred: List[int]) -> Tuple[List[Tuple[int, ...]], Dict[int, int]]:
    """Statements joined when they bind a name in common (transitively), each group in file order,
    and the group of every statement that binds a name or imports `*`."""
    parent = list(range(len(bound)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    binder: Dict[str, int] = {}
    for index, names in enumerate(bound):
        for name in names:
            parent[root(index)] = root(binder.setdefault(name, index))
    members: Dict[int, List[int]] = {}
    for index, names in enumerate(bound):
        if names or index in starred:
            members.setdefault(root(index), []).append(index)
    groups = [tuple(indices) for indices in sorted(members.values())]  # by first statement
    return groups, {statement: number for number, indices in enumerate(groups) for statement in indices}
