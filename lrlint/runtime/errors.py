"""What the runtime guard reports: warnings and errors carrying the catalogue's code and name.

No torch here: `import lrlint` must stay cheap for the static checker.
"""

from __future__ import annotations

from ..catalogue import RULES


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
