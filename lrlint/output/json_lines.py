"""One JSON object a line: streams well and appends to logs."""

from __future__ import annotations

import json
from typing import Sequence

from ..diagnostics import Diagnostic


def render(diagnostics: Sequence[Diagnostic]) -> str:
    return "".join(json.dumps(diagnostic.to_dict()) + "\n" for diagnostic in diagnostics)
