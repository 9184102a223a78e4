"""Source ranges of CST nodes, computed only for files that have findings.

libcst's PositionProvider re-generates the whole module's code, which costs more than parsing;
most files have no findings, so the positions are resolved lazily, once per file that needs them.
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Tuple

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

Range = Tuple[int, int, int, int]


class Positions:
    """Where every node of one module is; computed once, asked for by node."""

    def __init__(self, module: cst.Module) -> None:
        # unsafe_skip_copy keeps node identity: the findings refer to the nodes of this very tree.
        self._positions = _positions(MetadataWrapper(module, unsafe_skip_copy=True))

    def range(self, node: cst.CSTNode) -> Optional[Range]:
        """(line, column, end_line, end_column), 1-based, end exclusive; None for a node of
        another module (code followed through an import)."""
        where = self._positions.get(node)
        if where is None:
            return None
        return (where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)


def _positions(wrapper: MetadataWrapper) -> Mapping[cst.CSTNode, CodeRange]:
    """``wrapper.resolve(PositionProvider)``, without the walk that ``resolve`` adds for batchable
    providers: it rebuilds every node of the tree even when there are none to run (as here:
    PositionProvider depends on nothing), and cost 40% of the positions of the training-script
    corpus. The provider's own ``_gen`` is what ``resolve`` calls for it; should a libcst release
    change that private method, ``resolve`` is used as documented."""
    try:
        return PositionProvider()._gen(wrapper)
    except (AttributeError, TypeError):
        return wrapper.resolve(PositionProvider)


def locate(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Dict[int, Range]:
    """Map ``id(node)`` to its range, for the nodes of this module."""
    positions = Positions(module)
    ranges: Dict[int, Range] = {}
    for node in nodes:
        where = positions.range(node)
        if where is not None:
            ranges[id(node)] = where
    return ranges
