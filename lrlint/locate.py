"""Source ranges of CST nodes, computed only for files that have findings.

libcst's PositionProvider re-generates the whole module's code, which costs more than parsing;
most files have no findings, so the positions are resolved lazily, once per file that needs them.
"""

from __future__ import annotations

from typing import Dict, Iterable, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

Range = Tuple[int, int, int, int]


def locate(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Dict[int, Range]:
    """Map ``id(node)`` to (line, column, end_line, end_column), 1-based, end exclusive. A node of
    another module (code followed through an import) has no range here."""
    # unsafe_skip_copy keeps node identity: the findings refer to the nodes of this very tree.
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ranges: Dict[int, Range] = {}
    for node in nodes:
        where = positions.get(node)
        if where is not None:
            ranges[id(node)] = (where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)
    return ranges
