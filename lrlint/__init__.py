"""lrlint: catch misuse of PyTorch learning-rate schedulers before it wastes a training run."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .diagnostics import Diagnostic, FileResult
    from .engine import lint_file, lint_source
    from .runtime import ScheduleMisuseError, ScheduleMisuseWarning, guard, guarded

# The public names, each imported from its module on first use (PEP 562): `lrlint` on the command
# line, with every result cached, then never loads the analysis.
_HOMES = {
    "Diagnostic": ".diagnostics",
    "FileResult": ".diagnostics",
    "lint_file": ".engine",
    "lint_source": ".engine",
    "ScheduleMisuseError": ".runtime",
    "ScheduleMisuseWarning": ".runtime",
    "guard": ".runtime",
    "guarded": ".runtime",
}

__all__ = [
    "Diagnostic",
    "FileResult",
    "ScheduleMisuseError",
    "ScheduleMisuseWarning",
    "__version__",
    "guard",
    "guarded",
    "lint_file",
    "lint_source",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'lrlint' has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_HOMES))
