"""Source lines for the formats that show or hash them (``full``, ``sarif``)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Optional, Tuple

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@lru_cache(maxsize=64)
def _lines(path: str, stamp: Tuple[int, int]) -> Tuple[str, ...]:
    from ..engine import UnreadableSource, decode_source  # here: most formats never show source

    try:
        return tuple(_LINE_BREAK.split(decode_source(Path(path).read_bytes())))
    except (OSError, UnreadableSource):
        return ()


def source_line(path: str, line: int) -> Optional[str]:
    """Line ``line`` (1-based) of the file, without its line break; None if unavailable."""
    absolute = os.path.abspath(path)
    try:
        status = os.stat(absolute)
    except OSError:
        return None
    # Keyed by absolute path, mtime and size: a path relative to another cwd, or an edited
    # file, is never served stale lines.
    lines = _lines(absolute, (status.st_mtime_ns, status.st_size))
    return lines[line - 1] if 0 < line <= len(lines) else None


def location(diagnostic) -> str:  # type: ignore[no-untyped-def]
    """``path:line:col``, with ``cell N`` for a notebook (1-based, as ruff writes it)."""
    cell = f"cell {diagnostic.cell}:" if diagnostic.cell is not None else ""
    return f"{diagnostic.path}:{cell}{diagnostic.line}:{diagnostic.column}"
