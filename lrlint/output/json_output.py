"""One JSON array of the objects of interfaces.md, indented by 2."""

from __future__ import annotations

import json
from typing import Sequence

from ..diagnostics import Diagnostic


def render(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([diagnostic.to_dict() for diagnostic in diagnostics], indent=2) + "\n"
