"""Optional integrations of the runtime guard with training frameworks.

Import the one you use; each needs its framework installed, this package needs nothing:
``from lrlint.integrations.lightning import LRLintCallback`` or
``from lrlint.integrations.transformers import LRLintTrainerCallback``.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

from ..runtime import MODES, guard


def checked_mode(on_violation: str) -> str:
    if on_violation not in MODES:
        raise ValueError(f"on_violation must be one of {', '.join(MODES)}, not {on_violation!r}")
    return on_violation


def guard_framework_scheduler(scheduler: Any, on_violation: str) -> Optional[Any]:
    """Guard the torch scheduler a framework steps (unwrapped from accelerate's
    ``AcceleratedScheduler``); None for anything else (a timm scheduler, say) or when the guard
    cannot take it: a linter must never stop training."""
    from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

    if not isinstance(scheduler, (LRScheduler, ReduceLROnPlateau)):
        scheduler = getattr(scheduler, "scheduler", None)
    if not isinstance(scheduler, (LRScheduler, ReduceLROnPlateau)):
        return None
    try:
        return guard(scheduler, on_violation=on_violation)
    except Exception as error:
        warnings.warn(f"lrlint: not guarding {type(scheduler).__name__}: {error!r}", RuntimeWarning, stacklevel=3)
        return None
