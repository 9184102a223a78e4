"""GitHub Actions workflow commands, in ruff's shape:
``::error title=lrlint (LR001),file=...,line=..,col=..,endLine=..,endColumn=..::path:l:c: LR001 msg``.
"""

from __future__ import annotations

from typing import Sequence

from ..diagnostics import Diagnostic
from . import concise


def escape_data(text: str) -> str:
    """The message part (actions/toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A ``key=value`` property (actions/toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def line(diagnostic: Diagnostic) -> str:
    level = "error" if diagnostic.severity == "error" else "warning"
    properties = {
        "title": f"lrlint ({diagnostic.code})",
        "file": diagnostic.path,
        "line": diagnostic.line,
        "col": diagnostic.column,
        "endLine": diagnostic.end_line,
        "endColumn": diagnostic.end_column,
    }
    joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{level} {joined}::{escape_data(concise.line(diagnostic))}"


def render(diagnostics: Sequence[Diagnostic]) -> str:
    return "".join(line(diagnostic) + "\n" for diagnostic in diagnostics)
