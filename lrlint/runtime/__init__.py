"""The runtime guard: the catalogue's rules checked on every step while training runs.

``lrlint.guard(scheduler)`` and ``with lrlint.guarded():`` need torch, imported on first use;
importing this package does not import torch.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from .errors import ScheduleMisuseError, ScheduleMisuseWarning

MODES = ("warn", "raise", "log")
# The catalogue codes the guard checks (the docs table reads this). LR015 is static-only so far.
CHECKED_CODES = frozenset(
    {"LR001", "LR002", "LR003", "LR004", "LR005", "LR006", "LR007", "LR009", "LR013", "LR014", "LR016"}
)


PathLike = Union[str, "os.PathLike[str]"]


def guard(scheduler: Any, *, on_violation: str = "warn", trace: Optional[PathLike] = None) -> Any:
    """Return ``scheduler`` itself, guarded: misuse is reported as ``on_violation`` says.

    With ``trace="lr.csv"``, the learning rate of every param group at every step of the
    scheduler's optimizer (read as the step starts: the rate it trains with) is also written to
    that CSV file, one row per step and group: ``curve,scheduler,update,epoch,group,lr`` with
    ``recorded``, the scheduler's class name (``StepLR#2`` for a second StepLR), the optimizer's
    step counted from 0 at the first one traced, an empty epoch, the group's index and the
    float's ``repr``. Several schedulers may share one file; an optimizer driven by several
    (SequentialLR, ChainedScheduler, a replaced scheduler) writes each step once, named after the
    first scheduler traced on it, or the SequentialLR/ChainedScheduler around that one. Rows are written at least every second, and all of them when the
    run ends, raises or the optimizer is garbage collected. Only rank 0 writes under
    torch.distributed. If the file cannot be written (a missing folder: it is not created), one
    warning says so and tracing is off; training never fails because of the trace. A scheduler
    loaded by unpickling is guarded but not traced.
    """
    from .guarding import guard as _guard

    return _guard(scheduler, on_violation=on_violation, trace=trace)


def guarded(on_violation: str = "warn", *, trace: Optional[PathLike] = None) -> Any:
    """``with lrlint.guarded():`` guards every scheduler constructed inside the block.

    With ``trace="lr.csv"``, every one of them is also traced into that one file, as
    ``guard(trace=...)`` describes; the rows still queued are written when the block ends.
    """
    from .guarding import guarded as _guarded

    return _guarded(on_violation=on_violation, trace=trace)


__all__ = ["CHECKED_CODES", "MODES", "ScheduleMisuseError", "ScheduleMisuseWarning", "guard", "guarded"]
