"""The project's own modules, as seen from the file being checked.

A training script imports its helpers: `from utils import build_scheduler`, `from .engine import
train_one_epoch`, `import trainer`. The analysis follows such imports into the project's files
(never into installed packages), so a scheduler built in one module and stepped in another is
understood. Modules are found on disk from the checked file alone, so a single-file run (what
pre-commit does) sees the same project as a run over the whole folder. Each module is parsed
once per process, and only when a checked file calls into it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Set, Tuple

if TYPE_CHECKING:  # libcst is imported only when a module is parsed: the pre-filter needs none of it
    import libcst as cst

PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
MAX_MODULE_BYTES = 1_000_000  # a generated or vendored giant is not worth following
# libcst trees take about 100 times their source in memory: keep the most recently used only
# (a folder's files mostly follow the same few modules, and files are checked folder by folder).
MAX_PARSED_MODULES = 48
_PARSED: "OrderedDict[Tuple[str, int, int], Optional[cst.Module]]" = OrderedDict()
_SOURCE: Dict[Tuple[str, int, int], bytes] = {}
_MATCHES: Dict[Tuple[Tuple[str, int, int], Callable[[str], object]], bool] = {}
# A module worth following imports a training library and may build, step or train with optimizers
# and schedulers; anything else (models, data, the standard library) stays opaque, as before.
_TRAINING_LIBRARY = re.compile(
    r"^[ \t]*(?:import|from)[ \t]+(?:torch|lightning|pytorch_lightning|transformers|timm|accelerate|deepspeed)\b", re.M
)
_TRAINING_WORDS = re.compile(r"[Ss]ched|LR\b|optim|\.step\(|backward\(|lr_lambda")
# `from pkg.utils import a, b` / `from . import engine` / `import pkg.utils as u`
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]+\(?([^)\n#]*)|import[ \t]+([.\w]+))", re.M)


class ProjectModules:
    """Resolves imported names to the project's own source files."""

    def __init__(self, path: Path) -> None:
        self.file = path.resolve()
        self.roots = _search_roots(self.file.parent)

    def resolve(self, qualname: str, importer: Optional[Path] = None) -> Optional[Tuple[Path, List[str]]]:
        """The file defining the module part of ``qualname`` and the attribute path after it:
        `utils.build_scheduler` -> (…/utils.py, ["build_scheduler"]). Relative names
        (`.engine.train`) resolve against ``importer`` (default: the checked file)."""
        base = (importer or self.file).parent
        dots = len(qualname) - len(qualname.lstrip("."))
        parts = [part for part in qualname.lstrip(".").split(".") if part]
        if dots:
            for _ in range(dots - 1):
                base = base.parent
            roots = [base]
        else:
            roots = [base] + [root for root in self.roots if root != base]
        for length in range(len(parts) - 1, 0, -1):
            for root in roots:
                found = _module_file(root, tuple(parts[:length]))
                if found is not None:
                    return found, parts[length:]
        return None

    def imported_files(self, source: str) -> List[Path]:
        """The project files a module's import statements name (read from the text, not parsed)."""
        found: List[Path] = []
        for match in _IMPORT.finditer(source):
            module, names, imported = match.groups()
            if imported:
                candidates = [imported]
            else:
                joiner = "" if module.endswith(".") else "."
                candidates = [module] + [module + joiner + name for name in _names(names)]
            for candidate in candidates:
                resolved = self.resolve(candidate + ".x")  # `.x`: any attribute of that module
                if resolved is not None and resolved[0] not in found:
                    found.append(resolved[0])
        return found

    @staticmethod
    def matches(path: Path, pattern: "re.Pattern[str]") -> bool:
        """Whether the module's text matches ``pattern``; judged once per version of the file."""
        return ProjectModules.satisfies(path, pattern.search)

    @staticmethod
    def satisfies(path: Path, test: Callable[[str], object]) -> bool:
        """Whether ``test`` holds for the module's text; judged once per version of the file."""
        key, data = _read(path)
        if key is None:
            return False
        memo = (key, test)
        if memo not in _MATCHES:
            _MATCHES[memo] = bool(test(data.decode("utf-8", errors="replace")))
        return _MATCHES[memo]

    @staticmethod
    def worth_following(path: Path) -> bool:
        """Whether the module imports a training library and mentions training at all."""
        return _worth_following(path)

    @staticmethod
    def text(path: Path) -> str:
        """A module's source text, for the pre-filter ("" when unreadable or too large)."""
        return _read(path)[1].decode("utf-8", errors="replace")

    @staticmethod
    def parse(path: Path) -> Optional["cst.Module"]:
        """The module's syntax tree, parsed once per process; None when it cannot be read or parsed."""
        key, data = _read(path)
        if key is None or not data:
            return None
        if key in _PARSED:
            _PARSED.move_to_end(key)
        else:
            _PARSED[key] = _parse(data)
            if len(_PARSED) > MAX_PARSED_MODULES:
                _PARSED.popitem(last=False)
        return _PARSED[key]


_Key = Tuple[str, int, int]  # path, mtime, size: an edited file is read anew
_RECORDERS: List[Set[_Key]] = []
_DIGESTS: Dict[_Key, bytes] = {}
_STAMPS: Dict[_Key, Tuple[int, int, int, int]] = {}


@contextmanager
def recording_reads() -> Iterator[Set[_Key]]:
    """Collects the (path, mtime_ns, size) of every project module read meanwhile: what a
    file's result depends on besides its own bytes (see lrlint.cache)."""
    reads: Set[_Key] = set()
    _RECORDERS.append(reads)
    try:
        yield reads
    finally:
        _RECORDERS.remove(reads)


def read_stamp_and_digest(key: _Key) -> Tuple[Optional[Tuple[int, int, int, int]], bytes]:
    """How the module looked when it was read (see lrlint.cache.Stamp) and the SHA-256 of its bytes."""
    return _STAMPS.get(key), _DIGESTS.get(key, b"")


def _read(path: Path) -> Tuple[Optional[_Key], bytes]:
    """A module's bytes, read once per process and version of the file."""
    try:
        stat = path.stat()
    except OSError:
        return None, b""
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    for reads in _RECORDERS:
        reads.add(key)
    if key not in _SOURCE:
        try:
            # a giant's bytes are not kept, but hashed: a change to it must still be noticed
            data = path.read_bytes()
            _SOURCE[key] = data if stat.st_size <= MAX_MODULE_BYTES else b""
            _DIGESTS[key] = hashlib.sha256(data).digest()
            _STAMPS[key] = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        except OSError:
            _SOURCE[key] = b""
    return key, _SOURCE[key]


def _worth_following(path: Path) -> bool:
    return ProjectModules.matches(path, _TRAINING_LIBRARY) and ProjectModules.matches(path, _TRAINING_WORDS)


def _names(text: str) -> List[str]:
    """`a, b as c` -> ["a", "b"]."""
    names = (part.split(" as ")[0].strip() for part in text.split(","))
    return [name for name in names if name.isidentifier()]


def _parse(data: bytes) -> Optional["cst.Module"]:
    import libcst as cst

    try:
        return cst.parse_module(data)
    except (cst.ParserSyntaxError, RecursionError, UnicodeDecodeError, ValueError):
        return None


@lru_cache(maxsize=4096)  # one run asks the same few questions for every file of a folder
def _module_file(root: Path, parts: Tuple[str, ...]) -> Optional[Path]:
    folder = root.joinpath(*parts)
    for candidate in (folder.with_suffix(".py"), folder / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=1024)
def _search_roots(folder: Path) -> List[Path]:
    """Where absolute imports of the project start: the script's folder, the folder above its
    package (`pkg/train.py` importing `pkg.utils`), and the project root (the nearest folder with
    a pyproject.toml, setup.py, setup.cfg or .git), with its `src/` when it has one."""
    roots = [folder]
    package = folder
    while (package / "__init__.py").is_file() and package.parent != package:
        package = package.parent
    roots.append(package)
    for ancestor in [folder, *folder.parents]:
        if any(os.path.exists(ancestor / marker) for marker in PROJECT_MARKERS):
            roots.extend([ancestor, ancestor / "src"])
            break
    unique: List[Path] = []
    for root in roots:
        if root not in unique and root.is_dir():
            unique.append(root)
    return unique
