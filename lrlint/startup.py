"""Starting up at less cost: the methods of libcst's and lrlint's dataclasses compiled once.

libcst defines some two hundred dataclasses, lrlint some fifty. For each, ``dataclasses`` writes
the source text of ``__init__``, ``__eq__``, ``__repr__``, ``__hash__``… and compiles it with
``exec``: about 1,000 compilations in a process that checks a file, half of ``import libcst``
(some 0.15 of 0.3 s here), before it reads a line. Python keeps no bytecode of such text, as it
does of modules in ``__pycache__``.

So while lrlint imports its command line (``command_line``) and its analysis (``import_analysis``),
``dataclasses`` calls an ``exec`` that looks the text up in a cache of code objects kept in the
user's cache directory (``~/.cache/lrlint``; not written under ``PYTHONDONTWRITEBYTECODE``, as no
bytecode is), and compiles only text it has not seen. The key is the whole text and the file is
tagged with the interpreter's bytecode version, so a method is either the one ``exec`` would have
compiled from that text or compiled anew: new versions of Python or libcst only cost a miss. Outside those imports, ``dataclasses``
is left as it was.
"""

from __future__ import annotations

import builtins
import importlib.util
import marshal
import os
import sys
from contextlib import contextmanager
from types import CodeType
from typing import Any, Dict, Iterator, Optional, Sequence


def command_line(argv: Optional[Sequence[str]] = None) -> int:
    """The ``lrlint`` command (``lrlint.cli.main``), its modules imported with their compiled
    methods reused (a run whose results are all cached imports no more than these)."""
    with _methods_compiled_once("cli_methods"):
        from .cli import main
    return main(argv)


def import_analysis() -> None:
    """Import libcst and lrlint's analysis, the first time in a process with the compiled methods
    reused (later calls return at once). Called before anything parses or analyses a file."""
    global _imported
    if _imported:
        return
    _imported = True
    with _methods_compiled_once("dataclass_methods"):
        import libcst  # noqa: F401

        from . import locate, rules, slicing  # noqa: F401
        from .model import extract  # noqa: F401


_imported = False


@contextmanager
def _methods_compiled_once(name: str) -> Iterator[None]:
    """While the body imports modules, their dataclasses' methods come from the cache file
    ``name`` where their text is known; the file is rewritten when some were new."""
    import dataclasses

    if "exec" in vars(dataclasses):  # not the builtin: someone else's patch, left alone
        yield
        return
    path = cache_path(name)
    cached = _read(path) if path is not None else {}
    methods = _CompiledMethods(cached)
    patched = methods.exec
    dataclasses.exec = patched  # type: ignore[attr-defined]  # shadows the builtin there only
    try:
        yield
    finally:
        if vars(dataclasses).get("exec") is patched:  # still ours: not replaced meanwhile
            del dataclasses.exec  # type: ignore[attr-defined]
    if path is not None and methods.compiled_anew and not sys.dont_write_bytecode:
        _write(path, _kept(cached, methods.used))


def cache_path(name: str) -> Optional[str]:
    """Where this interpreter's compiled methods ``name`` are kept: in lrlint's folder of the
    user's cache directory, as black keeps its grammar tables, rather than in the installed
    package, which ``pip uninstall`` would leave behind. None where there is none."""
    folder = _user_cache_folder()
    if folder is None or sys.implementation.cache_tag is None:
        return None
    optimized = f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
    return os.path.join(folder, f"{name}.{sys.implementation.cache_tag}{optimized}.marshal")


def _user_cache_folder() -> Optional[str]:
    """``$XDG_CACHE_HOME/lrlint`` (``~/.cache/lrlint``), ``~/Library/Caches/lrlint`` on macOS,
    ``%LOCALAPPDATA%\\lrlint\\Cache`` on Windows; None without a home to put it in."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA", "")
        return os.path.join(base, "lrlint", "Cache") if os.path.isabs(base) else None
    home = os.path.expanduser("~")
    if not os.path.isabs(home):  # no HOME, no password entry: "~" stays as it is
        return None
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", "lrlint")
    base = os.environ.get("XDG_CACHE_HOME", "")
    return os.path.join(base if os.path.isabs(base) else os.path.join(home, ".cache"), "lrlint")


def _kept(cached: Dict[str, CodeType], used: Dict[str, CodeType]) -> Dict[str, CodeType]:
    """What the file keeps: what it held and what this import used. Processes use different sets
    (the command line imports the pre-filter before the rest, a program may import libcst
    itself first): keeping both spares each a rewrite when they alternate. Past a bound, which
    stale methods from earlier versions of libcst or lrlint reach first, only what this import
    used."""
    union = {**cached, **used}
    return union if len(union) <= _MOST_KEPT else used


_MOST_KEPT = 2500  # 3.5 times the 714 methods of libcst 1.9 and lrlint (read in 6-7 ms here; 2,500 in about 20)


class _CompiledMethods:
    """The ``exec`` that ``dataclasses`` calls during the import: cached code for a known text."""

    def __init__(self, compiled: Dict[str, CodeType]) -> None:
        self._compiled = compiled
        self.used: Dict[str, CodeType] = {}  # what this import used: what the file keeps

    @property
    def compiled_anew(self) -> bool:
        """Whether some method's text was not in the cache."""
        return not self.used.keys() <= self._compiled.keys()

    def exec(self, source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            code = self._compiled.get(source)
            if code is None:
                # What exec(source) compiles from dataclasses, which has no __future__ import.
                code = compile(source, "<string>", "exec", dont_inherit=True)
            self.used[source] = code
            source = code
        if globals is None:  # exec's own default: the caller's namespace, not this frame's
            caller = sys._getframe(1)
            globals = caller.f_globals
            if locals is None:
                locals = caller.f_locals
        builtins.exec(source, globals, locals)


def _read(path: str) -> Dict[str, CodeType]:
    """The cached methods: none when the file is absent, unreadable or from another bytecode."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return {}
    magic = importlib.util.MAGIC_NUMBER
    if not data.startswith(magic):
        return {}
    try:
        compiled = marshal.loads(data[len(magic) :])
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(compiled, dict):
        return {}
    return {text: code for text, code in compiled.items() if isinstance(text, str) and isinstance(code, CodeType)}


def _write(path: str, compiled: Dict[str, CodeType]) -> None:
    """Replace the file whole (a concurrent reader sees the old file or the new one); a cache
    directory that cannot be written only means no cache."""
    from .atomic import write_atomically

    try:
        write_atomically(path, importlib.util.MAGIC_NUMBER + marshal.dumps(compiled))
    except OSError:
        pass
