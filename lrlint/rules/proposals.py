"""Proposals: the fixes rules attach to findings, in terms of CST nodes.

A rule stays a pure function over the model: it attaches a proposal to its finding. The engine,
which knows where every node is, turns it into a ``Fix`` of plain text edits. A proposal that
cannot be made mechanical and safe in the code at hand (a semicolon line, a `continue` between
the two statements) becomes no fix at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from ..fixes import SAFE, Edit, Fix
from ..locate import Positions
from ..model.syntax import child_nodes, walk
from .display import single_line


@dataclass(frozen=True, eq=False)
class ReplaceNode:
    """Put ``replacement`` (a node, or source text) where ``node`` is."""

    node: cst.CSTNode
    replacement: Union[cst.CSTNode, str]
    message: str
    applicability: str = SAFE

    def edits(self, module: cst.Module, positions: Positions, lines: Sequence[str]) -> Optional[List[Edit]]:
        where = positions.range(self.node)
        if where is None:
            return None
        text = self.replacement if isinstance(self.replacement, str) else module.code_for_node(self.replacement)
        return [Edit(*where, text)]


@dataclass(frozen=True, eq=False)
class InsertAfterNode:
    """Insert ``text`` right after ``node`` (an element added to a dict literal)."""

    node: cst.CSTNode
    text: str
    message: str
    applicability: str = SAFE

    def edits(self, module: cst.Module, positions: Positions, lines: Sequence[str]) -> Optional[List[Edit]]:
        where = positions.range(self.node)
        if where is None:
            return None
        _, _, end_line, end_column = where
        return [Edit(end_line, end_column, end_line, end_column, self.text)]


@dataclass(frozen=True, eq=False)
class MoveStatementAfter:
    """Move the statement that is exactly ``moved`` (``scheduler.step()``) to just after the
    statement holding ``anchor`` (``optimizer.step()``, or the batch loop around it), when both
    are statements of one block and nothing on the way can leave the block (`continue`, `return`)."""

    moved: cst.CSTNode
    anchor: cst.CSTNode
    message: str
    applicability: str = SAFE

    def edits(self, module: cst.Module, positions: Positions, lines: Sequence[str]) -> Optional[List[Edit]]:
        found = _siblings(module, self.moved, self.anchor)
        if found is None:
            return None
        statement, between, target = found
        if any(_may_leave_block(node) for node in between) or _guard_reassigned(statement, between):
            return None
        first, last = _lines_of(positions, statement)
        first -= _attached_comments(statement)
        _, target_last = _lines_of(positions, target)
        moved_text = "".join(lines[first - 1 : last])
        if not moved_text.endswith(("\n", "\r")):
            return None  # the last line of the file: nothing sensible to move
        if target_last == len(lines) and not lines[-1].endswith(("\n", "\r")):
            newline = _newline_of(moved_text)
            insert = Edit(
                target_last, len(lines[-1]) + 1, target_last, len(lines[-1]) + 1, newline + moved_text[: -len(newline)]
            )
        else:
            insert = Edit(target_last + 1, 1, target_last + 1, 1, moved_text)
        return [Edit(first, 1, last + 1, 1, ""), insert]


Proposal = Union[ReplaceNode, InsertAfterNode, MoveStatementAfter]


def resolve(proposal: Proposal, module: cst.Module, positions: Positions, lines: Sequence[str]) -> Optional[Fix]:
    """The proposal as text edits, or None when it cannot be applied mechanically here."""
    edits = proposal.edits(module, positions, lines)
    if not edits:
        return None
    return Fix(single_line(proposal.message), tuple(edits), proposal.applicability)


# --- statements and blocks -----------------------------------------------------------------


# The walks below go through ``child_nodes``: libcst's ``visit`` rebuilds every node it passes
# (a plain visitor too), which cost more than the whole analysis of a file with a fix.


def _chains(root: cst.CSTNode, wanted: Sequence[cst.CSTNode]) -> Dict[int, Tuple[cst.CSTNode, ...]]:
    """The chain of nodes from ``root`` down to each wanted node, by id."""
    missing = {id(node) for node in wanted}
    chains: Dict[int, Tuple[cst.CSTNode, ...]] = {}
    path: List[cst.CSTNode] = []
    pending: List[Optional[cst.CSTNode]] = [root]  # None: leave the node on top of the path
    while pending and missing:
        node = pending.pop()
        if node is None:
            path.pop()
            continue
        path.append(node)
        if id(node) in missing:
            missing.discard(id(node))
            chains[id(node)] = tuple(path)
        pending.append(None)
        pending.extend(reversed(child_nodes(node)))
    return chains


def _siblings(
    module: cst.Module, moved: cst.CSTNode, anchor: cst.CSTNode
) -> Optional[Tuple[cst.BaseStatement, Tuple[cst.CSTNode, ...], cst.BaseStatement]]:
    """The statement line holding ``moved``, the statements after it up to and including the one
    that runs ``anchor`` in the same block, and that one; None unless it is that simple."""
    chains = _chains(module, (moved, anchor))
    moved_chain, anchor_chain = chains.get(id(moved)), chains.get(id(anchor))
    if moved_chain is None or anchor_chain is None:
        return None
    statement_at = _innermost_statement_index(moved_chain)
    if statement_at is None:
        return None
    if not _is_bare_expression(moved_chain[statement_at], moved):
        return None
    statement_at = _guard_around(moved_chain, statement_at)
    block, statement = moved_chain[statement_at - 1], moved_chain[statement_at]
    body = list(block.body)
    start = _index(body, statement)
    if start is None:
        return None
    if len(anchor_chain) > statement_at and anchor_chain[statement_at - 1] is block:
        end = _index(body, anchor_chain[statement_at])
    else:  # the optimizer steps in a helper: anchor on the statement that calls it
        end = _calling_statement(module, body, start, anchor_chain)
    # After a loop or `with` that holds the optimizer steps is after them all; after an `if` is not.
    if end is None or end <= start or not isinstance(body[end], _TARGETS):
        return None
    return statement, tuple(body[start + 1 : end + 1]), body[end]


def _calling_statement(
    module: cst.Module, body: List[cst.CSTNode], start: int, anchor_chain: Tuple[cst.CSTNode, ...]
) -> Optional[int]:
    """The first statement after ``start`` that calls, directly or through other functions of the
    module, the function the anchor is in (`train(epoch)`, `self._run_epoch()`)."""
    callers = {node.name.value for node in anchor_chain if isinstance(node, cst.FunctionDef)}
    if not callers:
        return None
    functions = [node for node in _functions(module)]
    for _ in range(4):  # helpers calling helpers, a few levels deep
        more = {function.name.value for function in functions if _calls(function.body, callers)} - callers
        if not more:
            break
        callers |= more
    for index in range(start + 1, len(body)):
        if _calls(body[index], callers):
            return index
    return None


def _functions(module: cst.Module) -> List[cst.FunctionDef]:
    return [node for node in walk(module) if isinstance(node, cst.FunctionDef)]


def _calls(node: cst.CSTNode, names: Optional[Set[str]]) -> bool:
    """Does ``node`` call one of ``names`` (any function at all for None)?"""
    for inner in walk(node):
        if isinstance(inner, cst.Call):
            func = inner.func
            if names is None:
                return True
            if isinstance(func, cst.Name) and func.value in names:
                return True
            if isinstance(func, cst.Attribute) and func.attr.value in names:
                return True
    return False


_TARGETS = (cst.SimpleStatementLine, cst.For, cst.While, cst.With)


def _guard_around(chain: Tuple[cst.CSTNode, ...], index: int) -> int:
    """`if lr_scheduler is not None: lr_scheduler.step()` moves as a whole: the `if` (no `else`,
    a test that calls nothing) holding only the step is what moves."""
    while index >= 3:
        block, guard = chain[index - 1], chain[index - 2]
        if not (isinstance(block, cst.IndentedBlock) and len(block.body) == 1 and isinstance(guard, cst.If)):
            break
        if guard.orelse is not None or _calls(guard.test, None) or not isinstance(chain[index - 3], _BLOCKS):
            break
        index -= 2
    return index


_BLOCKS = (cst.Module, cst.IndentedBlock)


def _innermost_statement_index(chain: Tuple[cst.CSTNode, ...]) -> Optional[int]:
    for index in range(len(chain) - 1, 0, -1):
        if isinstance(chain[index], cst.BaseStatement) and isinstance(
            chain[index - 1], (cst.Module, cst.IndentedBlock)
        ):
            return index
    return None


def _index(body: List[cst.CSTNode], node: cst.CSTNode) -> Optional[int]:
    for index, item in enumerate(body):
        if item is node:
            return index
    return None


def _is_bare_expression(statement: cst.CSTNode, call: cst.CSTNode) -> bool:
    """`scheduler.step()` alone on its line: no `;`, no assignment of its value."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and statement.body[0].value is call
    )


def _guard_reassigned(statement: cst.BaseStatement, between: Sequence[cst.CSTNode]) -> bool:
    """`if warm: scheduler.step()` may not move past a statement that assigns `warm`."""
    if not isinstance(statement, cst.If):
        return False
    tested = {node.value for node in _nodes_of(statement.test, cst.Name)}
    assigned = set()
    for node in between:
        for target in _nodes_of(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr)):
            bound = target.target
            assigned |= {name.value for name in _nodes_of(bound, cst.Name)}
    return bool(tested & assigned)


def _nodes_of(root: cst.CSTNode, kinds) -> List:
    return [node for node in walk(root) if isinstance(node, kinds)]


def _may_leave_block(node: cst.CSTNode) -> bool:
    """Could control leave the block on the way, so that moving the statement changes whether it
    runs? A `return`, `raise` or `yield`, or a `break`/`continue` not inside a loop of its own
    (a nested function's or class's are not looked at)."""
    pending: List[Tuple[cst.CSTNode, int]] = [(node, 0)]  # a node, and how many loops it is in
    while pending:
        current, loops = pending.pop()
        if isinstance(current, (cst.Return, cst.Raise, cst.Yield)):
            return True
        if isinstance(current, (cst.Break, cst.Continue)) and not loops:
            return True
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        inside = loops + 1 if isinstance(current, (cst.For, cst.While)) else loops
        pending.extend((child, inside) for child in child_nodes(current))
    return False


def _lines_of(positions: Positions, statement: cst.CSTNode) -> Tuple[int, int]:
    where = positions.range(statement)
    assert where is not None  # a statement of this module
    return where[0], where[2]


def _attached_comments(statement: cst.BaseStatement) -> int:
    """Comment lines right above the statement (no blank line between) travel with it."""
    count = 0
    for line in reversed(statement.leading_lines):
        if line.comment is None:
            break
        count += 1
    return count


def _newline_of(text: str) -> str:
    for newline in ("\r\n", "\n", "\r"):
        if text.endswith(newline):
            return newline
    return "\n"
