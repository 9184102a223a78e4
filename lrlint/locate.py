"""Source ranges of CST nodes, computed only for files that have findings.

libcst's PositionProvider re-generates the whole module's code, which costs about as much as
parsing; most files have no findings, so the positions are resolved lazily, only as far into
the module as the nodes asked for (``Positions``), and by a lighter version of the provider's
own bookkeeping (``_PositionsState``).
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, Optional, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

try:
    from libcst.metadata.position_provider import PositionProvidingCodegenState
except ImportError:  # a libcst release that moved it: building on ``object`` fails, and the documented API serves
    PositionProvidingCodegenState = object  # type: ignore[assignment,misc]

Range = Tuple[int, int, int, int]
Position = Tuple[int, int]  # line (1-based), column (0-based), as libcst counts them
_LINE_BREAK = re.compile(r"\r\n?|\n")  # as libcst counts lines


class Positions:
    """Where the nodes of one module are, asked for by node.

    The module's code is generated again statement by statement, from the top, only until the
    node asked for has been passed: a file's findings are often in its first definitions, and a
    file seldom needs more than the positions of its findings. The ranges are those of a
    generation of the whole module, which continues from the same state."""

    def __init__(self, module: cst.Module) -> None:
        self._module = module
        self._computed: Dict[cst.CSTNode, Tuple[Position, Position]] = {}
        self._state: Optional[_PositionsState] = None
        self._generated = 0  # top-level statements generated so far
        self._whole = False  # generated whole (the module's own node and its footer need it)

    def range(self, node: cst.CSTNode) -> Optional[Range]:
        """(line, column, end_line, end_column), 1-based, end exclusive; None for a node of
        another module (code followed through an import)."""
        where = self._computed.get(node)
        if where is None and not self._whole:
            where = self._generate_until(node)
        if where is None:
            return None
        (line, column), (end_line, end_column) = where
        return (line, column + 1, end_line, end_column + 1)

    def _generate_until(self, node: cst.CSTNode) -> Optional[Tuple[Position, Position]]:
        module, computed = self._module, self._computed
        try:
            if self._state is None:  # as Module's own codegen starts: its header first
                self._state = _PositionsState(
                    default_indent=module.default_indent,
                    default_newline=module.default_newline,
                    provider=_Computed(computed),
                )
                for line in module.header:
                    line._codegen(self._state)
            while node not in computed and self._generated < len(module.body):
                module.body[self._generated]._codegen(self._state)
                self._generated += 1
        except (AttributeError, TypeError):  # a libcst release whose state differs: see _positions
            pass
        if node not in computed:  # the module itself, its footer, or another module's node
            self._computed = _positions(module)
            self._whole = True
        return self._computed.get(node)


def _positions(module: cst.Module) -> Dict[cst.CSTNode, Tuple[Position, Position]]:
    """What ``PositionProvider`` gives for every node, computed by ``_PositionsState``. Should a
    libcst release change what that state builds on, the documented API is used instead."""
    computed = _Computed()
    try:
        state = _PositionsState(
            default_indent=module.default_indent, default_newline=module.default_newline, provider=computed
        )
        module._codegen(state)
    except (AttributeError, TypeError):
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)  # node identity kept: findings refer to it
        documented = wrapper.resolve(PositionProvider)
        return {node: ((r.start.line, r.start.column), (r.end.line, r.end.column)) for node, r in documented.items()}
    return computed._computed


class _Computed:
    """Stands for the provider whose table a position-tracking codegen state fills."""

    __slots__ = ("_computed",)

    def __init__(self, computed: Optional[Dict[cst.CSTNode, Tuple[Position, Position]]] = None) -> None:
        self._computed: Dict[cst.CSTNode, Tuple[Position, Position]] = {} if computed is None else computed


class _PositionsState(PositionProvidingCodegenState):
    """libcst's own state for ``PositionProvider``, regenerating the module's code and noting where
    each node starts and ends, with the same results for a third of the work. Positions were a
    third of the training-script corpus's time (a file with findings needs them), and most of that
    went to bookkeeping:
    - a token with no line break only moves the column (libcst splits every token with a regular
      expression to count line breaks);
    - positions are tuples, not frozen dataclasses built for every node;
    - a node's syntactic range is noted by a small object, not a generator-based context manager.
    A test compares every node's range with ``PositionProvider``'s over the fixtures."""

    def add_token(self, value: str) -> None:
        self.tokens.append(value)  # Module's codegen asks whether any token was added
        if "\n" in value or "\r" in value:
            segments = _LINE_BREAK.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        computed = self.provider._computed  # type: ignore[attr-defined]
        if node not in computed:  # a syntactic position noted inside the node's codegen stays
            computed[node] = (start, (self.line, self.column))

    def record_syntactic_position(  # type: ignore[override]
        self, node: cst.CSTNode, *, start_node: Optional[cst.CSTNode] = None, end_node: Optional[cst.CSTNode] = None
    ) -> "_SyntacticPosition":
        return _SyntacticPosition(self, node, start_node, end_node)


class _SyntacticPosition:
    """The range of ``node`` from entry to exit, or from the start of ``start_node`` and to the end
    of ``end_node`` when given (a node whose own whitespace is not part of its position)."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(
        self,
        state: _PositionsState,
        node: cst.CSTNode,
        start_node: Optional[cst.CSTNode],
        end_node: Optional[cst.CSTNode],
    ) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node
        self.start: Position = (0, 0)

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(self, *exception: object) -> None:
        state = self.state
        computed = state.provider._computed  # type: ignore[attr-defined]
        start = computed[self.start_node][0] if self.start_node is not None else self.start
        end = computed[self.end_node][1] if self.end_node is not None else (state.line, state.column)
        computed[self.node] = (start, end)


def locate(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Dict[int, Range]:
    """Map ``id(node)`` to its range, for the nodes of this module."""
    positions = Positions(module)
    ranges: Dict[int, Range] = {}
    for node in nodes:
        where = positions.range(node)
        if where is not None:
            ranges[id(node)] = where
    return ranges
