"""The runtime guard: the catalogue's rules checked on every step while training runs.

``lrlint.guard(scheduler)`` and ``with lrlint.guarded():`` need torch, imported on first use;
importing this package does not import torch.
"""

from __future__ import annotations

from typing import Any

from .errors import ScheduleMisuseError, ScheduleMisuseWarning

MODES = ("warn", "raise", "log")
# The catalogue codes the guard checks (the docs table reads this). LR015 is static-only so far.
CHECKED_CODES = frozenset(
    {"LR001", "LR002", "LR003", "LR004", "LR005", "LR006", "LR007", "LR009", "LR013", "LR014", "LR016"}
)


def guard(scheduler: Any, *, on_violation: str = "warn") -> Any:
    """Return ``scheduler`` itself, guarded: misuse is reported as ``on_violation`` says."""
    from .guarding import guard as _guard

    return _guard(scheduler, on_violation=on_violation)


def guarded(on_violation: str = "warn") -> Any:
    """``with lrlint.guarded():`` guards every scheduler constructed inside the block."""
    from .guarding import guarded as _guarded

    return _guarded(on_violation=on_violation)


__all__ = ["CHECKED_CODES", "MODES", "ScheduleMisuseError", "ScheduleMisuseWarning", "guard", "guarded"]
