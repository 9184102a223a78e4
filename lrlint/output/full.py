"""The concise line, then the source line with a caret under the range and the rule's summary,
in the shape of ruff's ``full`` output."""

from __future__ import annotations

from typing import List, Sequence

from ..diagnostics import Diagnostic
from ..fixes import SAFE
from . import concise
from ._source import source_line


def render(diagnostics: Sequence[Diagnostic]) -> str:
    return "".join(_one(diagnostic) + "\n" for diagnostic in diagnostics)


def _one(diagnostic: Diagnostic) -> str:
    out: List[str] = [concise.line(diagnostic)]
    text = None if diagnostic.cell is not None else source_line(diagnostic.path, diagnostic.line)
    gutter = " " * len(str(diagnostic.line))
    if text is not None:
        start = min(max(diagnostic.column, 1), len(text) + 1)
        if diagnostic.end_line == diagnostic.line:
            width = diagnostic.end_column - start
        else:  # a multi-line range: underline to the end of its first line
            width = len(text) - start + 1
        # Keep the tabs of the line in the caret's indentation, so that both align.
        indent = "".join(char if char == "\t" else " " for char in text[: start - 1])
        out += [
            f"{gutter} |",
            f"{diagnostic.line} | {text}",
            f"{gutter} | {indent}{'^' * max(width, 1)} {diagnostic.code}",
            f"{gutter} |",
        ]
    out.append(f"{gutter} = help: {diagnostic.rule.summary}")
    if diagnostic.fix is not None:
        kind = "Fix" if diagnostic.fix.applicability == SAFE else "Suggested fix (not applied by --fix)"
        out.append(f"{gutter} = {kind}: {diagnostic.fix.message}")
    return "\n".join(out) + "\n"
