"""libcst's parser, without libcst checking again every node its own parser built.

Every libcst node validates its fields when it is created (``CSTNode.__post_init__`` calls
``_validate``: whitespace that is whitespace, balanced parentheses). That guards trees built by
hand; a tree the parser built from source text holds by construction, and libcst's own comment
on ``__post_init__`` notes that parsing could skip it. The checks took about a sixth of libcst's
parse time over the benchmark's library corpus (one process).

So while lrlint parses, and only in the thread that parses, nodes are created unchecked; a node
built anywhere else (a codemod in another thread, lrlint's fixes) is validated as before.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Union

from .startup import import_analysis

if TYPE_CHECKING:
    import libcst as cst

_parsing = threading.local()  # .active: this thread is inside parse_module


def parse_module(source: Union[str, bytes]) -> "cst.Module":
    """``libcst.parse_module(source)``: the same tree and the same errors, faster."""
    import_analysis()
    import libcst as cst

    _install()
    outer = getattr(_parsing, "active", False)
    _parsing.active = True
    try:
        return cst.parse_module(source)
    finally:
        _parsing.active = outer


_installed = False


def _install() -> None:
    """Replace ``CSTNode.__post_init__`` once per process by one that skips the checks while this
    thread parses. A libcst without that method (a future layout) is left alone: only slower."""
    global _installed
    if _installed:
        return
    _installed = True
    import libcst as cst

    validate_on_creation = cst.CSTNode.__dict__.get("__post_init__")
    if validate_on_creation is None:
        return

    def __post_init__(self: "cst.CSTNode") -> None:
        if not getattr(_parsing, "active", False):
            validate_on_creation(self)

    cst.CSTNode.__post_init__ = __post_init__  # type: ignore[method-assign]
