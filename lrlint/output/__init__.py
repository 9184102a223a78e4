"""Output formats. Each module renders a list of (already noqa-filtered) diagnostics as text."""

from __future__ import annotations

import importlib
from typing import Callable, Dict, Sequence

from ..diagnostics import Diagnostic

Renderer = Callable[[Sequence[Diagnostic]], str]

# Each format's module (with its `render`), imported when the format is used: a run's start-up
# need not load xml.etree for junit or the SARIF writer.
FORMATTERS: Dict[str, str] = {
    "concise": "concise",
    "full": "full",
    "json": "json_output",
    "json-lines": "json_lines",
    "github": "github",
    "sarif": "sarif",
    "junit": "junit",
}
# Formats whose output is one machine-readable document: nothing else may reach stdout.
MACHINE_FORMATS = frozenset({"json", "json-lines", "sarif", "junit"})


def render(output_format: str, diagnostics: Sequence[Diagnostic]) -> str:
    renderer: Renderer = importlib.import_module(f"{__name__}.{FORMATTERS[output_format]}").render
    return renderer(diagnostics)


__all__ = ["FORMATTERS", "MACHINE_FORMATS", "Renderer", "render"]
