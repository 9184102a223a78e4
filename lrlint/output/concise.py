"""``path:line:col: CODE message``, one finding a line (flake8, pyflakes, ruff concise)."""

from __future__ import annotations

from typing import Sequence

from ..diagnostics import Diagnostic
from ._source import location


def line(diagnostic: Diagnostic) -> str:
    return f"{location(diagnostic)}: {diagnostic.code} {diagnostic.message}"


def render(diagnostics: Sequence[Diagnostic]) -> str:
    return "".join(line(diagnostic) + "\n" for diagnostic in diagnostics)
