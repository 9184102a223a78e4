"""Output formats. Each module renders a list of (already noqa-filtered) diagnostics as text."""

from __future__ import annotations

from typing import Callable, Dict, Sequence

from ..diagnostics import Diagnostic
from . import concise, full, github, json_lines, json_output, junit, sarif

Renderer = Callable[[Sequence[Diagnostic]], str]

FORMATTERS: Dict[str, Renderer] = {
    "concise": concise.render,
    "full": full.render,
    "json": json_output.render,
    "json-lines": json_lines.render,
    "github": github.render,
    "sarif": sarif.render,
    "junit": junit.render,
}
# Formats whose output is one machine-readable document: nothing else may reach stdout.
MACHINE_FORMATS = frozenset({"json", "json-lines", "sarif", "junit"})


def render(output_format: str, diagnostics: Sequence[Diagnostic]) -> str:
    return FORMATTERS[output_format](diagnostics)


__all__ = ["FORMATTERS", "MACHINE_FORMATS", "Renderer", "render"]
