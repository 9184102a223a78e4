"""Source ranges of CST nodes, computed only for files that have findings.

libcst's PositionProvider re-generates the whole module's code, which costs more than parsing;
most files have no findings, so the positions are resolved lazily, once per file that needs them.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

Range = Tuple[int, int, int, int]


class Positions:
    """Where every node of one module is; computed once, asked for by node."""

    def __init__(self, module: cst.Module) -> None:
        # unsafe_skip_copy keeps node identity: the findings refer to the nodes of this very tree.
        self._positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)

    def range(self, node: cst.CSTNode) -> Optional[Range]:
        """(line, column, end_line, end_column), 1-based, end exclusive; None for a node of
        another module (code followed through an import)."""
        where = self._positions.get(node)
        if where is None:
            return None
        return (where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)


def locate(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Dict[int, Range]:
    """Map ``id(node)`` to its range, for the nodes of this module."""
    positions = Positions(module)
    ranges: Dict[int, Range] = {}
    for node in nodes:
        where = positions.range(node)
        if where is not None:
            ranges[id(node)] = where
    return ranges
