"""Fixes as text edits (1-based, end exclusive, as the diagnostics are), and applying them.

Rules propose fixes in terms of CST nodes (``rules/proposals.py``); the engine resolves those into
the ``Fix`` objects here, which the output formats print and ``--fix`` applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

SAFE, UNSAFE = "safe", "unsafe"


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, column) up to, not including, (end_line, end_column)."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str

    def to_dict(self) -> Dict[str, Any]:
        return {
            "content": self.content,
            "location": {"line": self.line, "column": self.column},
            "end_location": {"line": self.end_line, "column": self.end_column},
        }


@dataclass(frozen=True)
class Fix:
    """One finding's fix. ``--fix`` applies only ``safe`` ones; ``unsafe`` ones are suggestions."""

    message: str
    edits: Tuple[Edit, ...]
    applicability: str = SAFE

    @property
    def first_line(self) -> int:
        return min(edit.line for edit in self.edits)

    @property
    def last_line(self) -> int:
        return max(edit.end_line for edit in self.edits)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [edit.to_dict() for edit in self.edits],
        }


# --- applying edits ------------------------------------------------------------------------


class OverlappingEdits(ValueError):
    pass


def apply_edits(source: str, edits: Sequence[Edit]) -> str:
    """The source with the edits applied (all positions refer to the original text)."""
    starts = _line_offsets(source)

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1 if line <= len(starts) else len(source)

    spans = sorted(((offset(e.line, e.column), offset(e.end_line, e.end_column), e.content) for e in edits))
    pieces: List[str] = []
    position = 0
    for start, end, content in spans:
        if start < position:
            raise OverlappingEdits(f"edit at offset {start} overlaps the previous one")
        pieces.append(source[position:start])
        pieces.append(content)
        position = end
    pieces.append(source[position:])
    return "".join(pieces)


def _line_offsets(source: str) -> List[int]:
    offsets = [0]
    for line in split_lines(source):
        offsets.append(offsets[-1] + len(line))
    return offsets


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(source: str) -> List[str]:
    """Lines with their endings, split only where Python (and libcst) end a line."""
    return _LINE.findall(source)
