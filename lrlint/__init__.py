"""lrlint: catch misuse of PyTorch learning-rate schedulers before it wastes a training run."""

from __future__ import annotations

__version__ = "0.1.0"

from .diagnostics import Diagnostic, FileResult  # noqa: E402
from .engine import lint_file, lint_source  # noqa: E402
from .runtime import ScheduleMisuseError, ScheduleMisuseWarning, guard, guarded  # noqa: E402  (no torch)

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
