"""Glob patterns as regular expressions: the gitignore flavour, shared by ``exclude`` and
``per-file-ignores``. Paths are posix and relative; ``*`` and ``?`` never match ``/``."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Pattern


def glob_to_regex(pattern: str) -> str:
    """Translate a glob: ``**`` spans folders, ``*``/``?``/``[...]`` stay within one name."""
    out: List[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/"):
            if pattern.startswith("**/", i):  # "**/": zero or more folders
                out.append("(?:.*/)?")
                i += 3
                continue
            if i + 2 == n:  # a trailing "/**": everything inside
                out.append(".*")
                i += 2
                continue
        if char == "*":
            while i + 1 < n and pattern[i + 1] == "*":  # "a**b" is "a*b", as in git
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end, cls = _char_class(pattern, i)
            out.append(cls)
            i = end
            continue
        elif char == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _char_class(pattern: str, start: int) -> "tuple[int, str]":
    """Parse ``[...]`` at ``start``; return (index after it, regex). An unclosed ``[`` is literal."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    body: List[str] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            i += 1
            char = pattern[i]
        body.append(char if char == "-" else re.escape(char))
        first = False
        i += 1
    if i >= len(pattern):
        return start + 1, re.escape("[")
    return i + 1, "[" + ("^/" if negate else "") + "".join(body) + "]"


@dataclass(frozen=True)
class PathGlob:
    """A glob as ruff's ``exclude``/``per-file-ignores`` read it: without a ``/`` it matches a
    file or folder name anywhere; with one it matches the path relative to the project root."""

    pattern: str
    regex: Pattern[str]
    basename_only: bool

    @classmethod
    def compile(cls, pattern: str) -> "PathGlob":
        text = pattern.strip()
        if text.startswith("./"):
            text = text[2:]
        anchored = "/" in text.rstrip("/")  # "/build" and "src/gen" are relative to the root
        text = text.strip("/")
        return cls(pattern, re.compile(glob_to_regex(text) + r"\Z"), not anchored)

    def matches(self, relpath: str) -> bool:
        """``relpath``: posix path relative to the project root (absolute if outside it)."""
        if self.basename_only:
            return bool(self.regex.match(posixpath.basename(relpath)))
        return bool(self.regex.match(relpath))


def any_match(globs: Iterable[PathGlob], relpath: str) -> Optional[PathGlob]:
    for glob in globs:
        if glob.matches(relpath):
            return glob
    return None
