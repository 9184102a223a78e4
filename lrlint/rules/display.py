"""Code quoted in messages, on one line: every output format prints a message as one line."""

from __future__ import annotations

import io
import re
import tokenize
from typing import List

from ..fixes import split_lines

# A line break with the indentation and the backslash continuation around it; \f and \v are
# whitespace to Python but line breaks to str.splitlines.
_BREAK = re.compile(r"[ \t\f\v]*\\?(?:\r\n|\r|\n)[ \t\f\v\r\n]*|[\f\v]")
_NO_SPACE_AFTER = "([{."
_NO_SPACE_BEFORE = ")]},.:"


def single_line(text: str) -> str:
    """``text`` as written, without its comments and line breaks: `(scheduler  # per batch\\n).step()`
    -> `(scheduler).step()`, `a and\\n    b` -> `a and b`."""
    if not _BREAK.search(text):
        return text
    return _BREAK.sub(_join, _without_comments(text)).strip()


def _join(match: re.Match) -> str:
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    return "" if not before or not after or before in _NO_SPACE_AFTER or after in _NO_SPACE_BEFORE else " "


def _without_comments(text: str) -> str:
    """The comments cut out, where the text tokenizes as Python (prose is left as it is)."""
    try:
        comments = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        return text
    if not comments:
        return text
    starts: List[int] = [0]
    for line in split_lines(text):
        starts.append(starts[-1] + len(line))
    pieces, position = [], 0
    for comment in comments:
        (row, column), (end_row, end_column) = comment.start, comment.end
        pieces.append(text[position : starts[row - 1] + column])
        position = starts[end_row - 1] + end_column
    return "".join(pieces) + text[position:]
