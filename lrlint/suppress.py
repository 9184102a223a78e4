"""``# noqa`` comments: per line (specific or blanket) and per file (``# lrlint: noqa[: CODES]``)."""

from __future__ import annotations

import re
from typing import FrozenSet, List, Optional, Sequence

from .catalogue import RULES_BY_NAME

_CODE_LIST = r"[A-Za-z]+[0-9]+(?:-[a-z-]+)?|[a-z]+(?:-[a-z]+)+"
_LINE_NOQA = re.compile(rf"#\s*noqa(?::\s*(?P<codes>(?:{_CODE_LIST})(?:\s*,\s*(?:{_CODE_LIST}))*))?", re.I)
_FILE_NOQA = re.compile(
    rf"^[ \t]*#[ \t]*lrlint[ \t]*:[ \t]*noqa(?::[ \t]*(?P<codes>(?:{_CODE_LIST})(?:[ \t]*,[ \t]*(?:{_CODE_LIST}))*))?[ \t]*$",
    re.I | re.M,
)
# String literals on one line, so that a noqa marker inside a string does not count.
_STRING_LITERAL = re.compile(r"""(?:[rbuf]{0,2})("([^"\\]|\\.)*"|'([^'\\]|\\.)*')""", re.I)

ALL: FrozenSet[str] = frozenset({"*"})


def _normalise(codes: str) -> FrozenSet[str]:
    result = set()
    for item in re.split(r"[,\s]+", codes.strip()):
        if not item:
            continue
        rule = RULES_BY_NAME.get(item.lower())
        result.add(rule.code if rule else item.upper())
    return frozenset(result)


def file_exemptions(source: str) -> Optional[FrozenSet[str]]:
    """Codes silenced for the whole file: ``ALL`` for a blanket ``# lrlint: noqa``, None if none."""
    if "noqa" not in source.lower():  # a regular expression tried at every line start costs more
        return None
    exempt: set = set()
    for match in _FILE_NOQA.finditer(source):
        codes = match.group("codes")
        if not codes:
            return ALL
        exempt |= _normalise(codes)
    return frozenset(exempt) if exempt else None


def line_exemptions(line: str) -> Optional[FrozenSet[str]]:
    """Codes silenced on one line: ``ALL`` for a blanket ``# noqa``, None if the line has none."""
    if "noqa" not in line.lower():
        return None
    match = _LINE_NOQA.search(_STRING_LITERAL.sub('""', line))
    if not match:
        return None
    codes = match.group("codes")
    return ALL if not codes else _normalise(codes)


def is_exempt(code: str, exemptions: Optional[FrozenSet[str]]) -> bool:
    return exemptions is not None and (exemptions is ALL or "*" in exemptions or code in exemptions)


def filter_suppressed(diagnostics: Sequence, lines: Sequence[str]) -> List:
    """Drop diagnostics silenced by a ``# noqa`` on their first line."""
    kept = []
    for diagnostic in diagnostics:
        index = diagnostic.line - 1
        line = lines[index] if 0 <= index < len(lines) else ""
        if not is_exempt(diagnostic.code, line_exemptions(line)):
            kept.append(diagnostic)
    return kept
