"""What a check reports: a finding located in a file, independent of any output format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from .catalogue import RULES, Rule
from .fixes import Fix


@dataclass(frozen=True)
class Diagnostic:
    """One finding. Lines and columns are 1-based; the end is exclusive, as in ruff and SARIF."""

    code: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    cell: Optional[int] = None
    fix: Optional[Fix] = field(default=None, compare=False)

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def severity(self) -> str:
        return self.rule.severity

    @property
    def url(self) -> str:
        return self.rule.url

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.line, self.column, self.code)

    def to_dict(self) -> Dict[str, Any]:
        """The JSON object of interfaces.md, field for field."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "cell": self.cell,
            "fix": self.fix.to_dict() if self.fix is not None else None,
            "url": self.url,
        }


@dataclass(frozen=True)
class FileResult:
    """The outcome of checking one file. ``error`` is set only for an internal crash (exit 2)."""

    path: str
    diagnostics: tuple = ()
    error: Optional[str] = None
