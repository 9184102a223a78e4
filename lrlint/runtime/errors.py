"""What the runtime guard reports: warnings and errors carrying the catalogue's code and name.

No torch here: `import lrlint` must stay cheap for the static checker.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import warnings
from types import FrameType
from typing import Optional

from ..catalogue import RULES

logger = logging.getLogger("lrlint")
RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))


class ScheduleMisuseWarning(UserWarning):
    """A scheduler misuse seen while training; the text starts with the code (``"LR001 ..."``)."""

    def __init__(self, message: str, code: str = "", name: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.name = name


class ScheduleMisuseError(RuntimeError):
    """Raised instead of warning under ``on_violation="raise"``."""

    def __init__(self, message: str, code: str = "", name: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.name = name


def describe(code: str, **fields: object) -> str:
    """The same message the static checker prints, prefixed with the code and name."""
    rule = RULES[code]
    return f"{code} {rule.name}: {rule.format(**fields)} (lrlint --explain {code})"


# -- the guard's own errors ------------------------------------------------------------------------


class Health:
    """Whether the guard still runs. An error in one of the hooks it installs (the optimizer-step,
    backward, DataLoader, GradScaler or accelerate hooks) leaves the counters every check reads
    unreliable, so the whole guard stands aside: the hooks become no-ops, ``step()`` the base one."""

    stopped: bool = False


HEALTH = Health()


def stand_aside(error: BaseException, scheduler: str = "", where: str = "") -> None:
    """Warn once that the guard stopped checking after an internal error; never raises, so that
    a bug of lrlint's cannot stop training (under ``on_violation="raise"`` either)."""
    if scheduler:  # one scheduler's checks failed: the caller disables that scheduler
        text = f"lrlint: the runtime guard stopped checking {scheduler} after an internal error: {error!r}"
    elif HEALTH.stopped:
        return
    else:
        HEALTH.stopped = True
        text = (
            f"lrlint: the runtime guard stopped checking every scheduler after an internal error in "
            f"{where}: {error!r}; training goes on unchecked"
        )
    try:
        _warn_at_user_line(text)
    except Exception:  # the user's filters turned warnings into errors: a log line instead
        with contextlib.suppress(Exception):
            logger.warning(text)


def _warn_at_user_line(text: str) -> None:
    frame = _outer_frame()
    if frame is None:
        warnings.warn(text, RuntimeWarning, stacklevel=2)
        return
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    module = frame.f_globals.get("__name__", "")
    warnings.warn_explicit(text, RuntimeWarning, frame.f_code.co_filename, frame.f_lineno, module, registry)


def _outer_frame() -> Optional[FrameType]:
    """The innermost frame outside lrlint's runtime package and torch (whose hooks call ours)."""
    torch = sys.modules.get("torch")
    torch_dir = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep if getattr(torch, "__file__", None) else None
    plumbing = {contextlib.__file__, functools.__file__}
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        inside = os.path.dirname(os.path.abspath(filename)) == RUNTIME_DIR
        if not (inside or filename in plumbing or (torch_dir and filename.startswith(torch_dir))):
            return frame
        frame = frame.f_back
    return None
