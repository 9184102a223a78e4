"""The project's own modules, as seen from the file being checked.

A training script imports its helpers: `from utils import build_scheduler`, `from .engine import
train_one_epoch`, `import trainer`. The analysis follows such imports into the project's files
(never into installed packages), so a scheduler built in one module and stepped in another is
understood. Modules are found on disk from the checked file alone, so a single-file run (what
pre-commit does) sees the same project as a run over the whole folder. A module is read only
when a checked file calls into it, and each of its statements is parsed at most once per process
(see lrlint.followed).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Set,
    Tuple,
    TypeVar,
    Union,
)

from .followed import FollowedModule
from .prefilter import code_of, text_verdict

if TYPE_CHECKING:  # libcst is imported only when a module is parsed: the pre-filter needs none of it
    import libcst as cst

PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
MAX_MODULE_BYTES = 1_000_000  # a generated or vendored giant is not worth following
# libcst trees take about 100 times their source in memory: keep the most recently used only
# (a folder's files mostly follow the same few modules, and files are checked folder by folder).
MAX_PARSED_MODULES = 48
_PARSED: "OrderedDict[Tuple[str, int, int], Optional[cst.Module]]" = OrderedDict()
_SOURCE: Dict[Tuple[str, int, int], bytes] = {}
_SPLIT: "OrderedDict[Tuple[str, int, int], Optional[FollowedModule]]" = OrderedDict()  # as _PARSED
_JUDGED: Dict[Tuple[Tuple[str, int, int], Callable[[str], object]], object] = {}
StrPath = Union[str, Path]
_T = TypeVar("_T")
# A module worth following imports a training library and may build, step or train with optimizers
# and schedulers; anything else (models, data, the standard library) stays opaque, as before.
_TRAINING_LIBRARY = re.compile(
    r"^[ \t]*(?:import|from)[ \t]+(?:torch|lightning|pytorch_lightning|transformers|timm|accelerate|deepspeed)\b", re.M
)
_TRAINING_WORDS = re.compile(r"[Ss]ched|LR\b|optim|\.step\(|backward\(|lr_lambda")
# `from pkg.utils import a, b` / `from . import (engine, utils)` / `import pkg.utils as u, os`
_IMPORT = re.compile(r"[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]*(?:\(([^)]*)\)|([^\n#;]*))|import[ \t]+([^\n#;]*))")
# What an importer takes from a module: the names, or None for the module itself (any of its names).
ImportedNames = Optional[FrozenSet[str]]


class ProjectModules:
    """Resolves imported names to the project's own source files."""

    def __init__(self, path: Path) -> None:
        self.file = _resolved(path)
        self.roots = _search_roots(self.file.parent)
        # resolution works on strings: pathlib's objects cost more than the lookups themselves
        self._folder = str(self.file.parent)
        self._roots = tuple(str(root) for root in self.roots)

    def resolve(self, qualname: str, importer: Optional[Path] = None) -> Optional[Tuple[Path, List[str]]]:
        """The file defining the module part of ``qualname`` and the attribute path after it:
        `utils.build_scheduler` -> (…/utils.py, ["build_scheduler"]). Relative names
        (`.engine.train`) resolve against ``importer`` (default: the checked file)."""
        folder = str(importer.parent) if importer is not None else self._folder
        found = _resolve(folder, self._roots, qualname)
        return (Path(found[0]), list(found[1])) if found is not None else None

    def imported_names(self, source: str) -> Dict[str, ImportedNames]:
        """The project files a module's import statements name (read from the text, not parsed),
        each with the names taken from it: `from utils import a, b` -> {…/utils.py: {"a", "b"}};
        `import utils`, `from pkg import utils` and `from utils import *` take the whole module (None)."""
        found: Dict[str, ImportedNames] = {}
        for match in _import_statements(source):
            for path, names in _statement_imports(self._folder, self._roots, match.groups()):
                if names is None or (path in found and found[path] is None):
                    found[path] = None
                else:
                    found[path] = (found.get(path) or frozenset()) | names
        return found  # paths as strings: a file imports dozens of names, and Path objects cost

    @staticmethod
    def matches(path: StrPath, pattern: "re.Pattern[str]") -> bool:
        """Whether the module's text matches ``pattern``; judged once per version of the file."""
        return ProjectModules.satisfies(path, pattern.search)

    @staticmethod
    def satisfies(path: StrPath, test: Callable[[str], object]) -> bool:
        """Whether ``test`` holds for the module's text; judged once per version of the file."""
        return bool(ProjectModules.judge(path, test, False))

    @staticmethod
    def judge(path: StrPath, judgement: Callable[[str], _T], unreadable: _T) -> _T:
        """``judgement`` of the module's text, computed once per version of the file; ``unreadable``
        when the module cannot be read."""
        key, data = _read(path)
        if key is None:
            return unreadable
        memo = (key, judgement)
        if memo not in _JUDGED:
            _JUDGED[memo] = judgement(data.decode("utf-8", errors="replace"))
        return _JUDGED[memo]  # type: ignore[no-any-return]

    @staticmethod
    def earlier_judgement(path: StrPath, source: str, judgement: Callable[[str], _T]) -> Optional[_T]:
        """``judgement`` of exactly ``source`` when this process made it already, because a file it
        checked imports the module at ``path``; None when it did not. Reads nothing: the check of
        a file asks it of the file's own text."""
        key = _LATEST.get(os.fspath(path))
        if key is None or (key, judgement) not in _JUDGED or not _same_text(_SOURCE.get(key, b""), source):
            return None
        return _JUDGED[(key, judgement)]  # type: ignore[no-any-return]

    @staticmethod
    def worth_following(path: StrPath) -> bool:
        """Whether the module imports a training library and mentions training at all."""
        return _worth_following(path)

    @staticmethod
    def text(path: StrPath) -> str:
        """A module's source text, for the pre-filter ("" when unreadable or too large)."""
        return _read(path)[1].decode("utf-8", errors="replace")

    @staticmethod
    def parse(path: StrPath) -> Optional["cst.Module"]:
        """The module's syntax tree, parsed once per process; None when it cannot be read or parsed."""
        return _kept(_PARSED, path, _parse)

    @staticmethod
    def followed(path: StrPath) -> Optional[FollowedModule]:
        """The module as the analysis follows into it (see lrlint.followed); None when it cannot
        be read or parsed. A module that may have findings of its own is parsed whole when this
        process checks it later (its check then reuses the tree), or when that is not known."""
        if ProjectModules.satisfies(path, text_verdict) and _checked_later_here(path):
            tree = ProjectModules.parse(path)
            return FollowedModule.whole(tree) if tree is not None else None
        return _kept(_SPLIT, path, _split)


_CHECKED_LATER: Optional[Set[str]] = None  # see checked_later; None: not known


@contextmanager
def checked_later(paths: Iterable[str]) -> Iterator[Set[str]]:
    """Tells the analysis which files (absolute paths) this process checks next, in the block; the
    caller removes each from the set as its check starts. A followed module that may have
    findings is parsed whole only if it is among them: another process checks the others (a
    pool's worker gets runs of neighbouring files), and there a whole tree would be parsed
    twice, where following needs only the statements that bind the names looked up."""
    global _CHECKED_LATER
    outer, _CHECKED_LATER = _CHECKED_LATER, set(paths)
    try:
        yield _CHECKED_LATER
    finally:
        _CHECKED_LATER = outer


def _checked_later_here(path: StrPath) -> bool:
    return _CHECKED_LATER is None or os.fspath(path) in _CHECKED_LATER


def _kept(
    kept: "OrderedDict[_Key, Optional[_T]]", path: StrPath, make: Callable[[bytes], Optional[_T]]
) -> Optional[_T]:
    """``make`` of the module's bytes, made once per version of the file and kept among the
    ``MAX_PARSED_MODULES`` most recently used; None when the module cannot be read."""
    key, data = _read(path)
    if key is None or not data:
        return None
    if key in kept:
        kept.move_to_end(key)
    else:
        kept[key] = make(data)
        if len(kept) > MAX_PARSED_MODULES:
            kept.popitem(last=False)
    return kept[key]


def tree_parsed_from(path: StrPath, source: str) -> Optional["cst.Module"]:
    """The tree of the module at ``path`` when this process already parsed it, following an
    import, from exactly ``source``: a file that an earlier file imported is not parsed again when
    its own turn comes. Only for UTF-8 text without a byte order mark, where the bytes libcst
    parsed and the decoded text are the same characters."""
    wanted = os.fspath(path)
    for key, tree in _PARSED.items():  # a few dozen at most; an edited file may have several
        if key[0] == wanted and tree is not None and _same_text(_SOURCE.get(key, b""), source):
            return tree
    return None


def _same_text(data: bytes, source: str) -> bool:
    try:
        return data.decode("utf-8") == source
    except UnicodeDecodeError:
        return False


_Key = Tuple[str, int, int]  # path, mtime, size: an edited file is read anew
# Each recording of reads: the keys read, and the key each module path was read under.
_RECORDERS: List[Tuple[Set[_Key], Dict[str, _Key]]] = []
_DIGESTS: Dict[_Key, bytes] = {}
_STAMPS: Dict[_Key, Tuple[int, int, int, int]] = {}
_LATEST: Dict[str, _Key] = {}  # a module path -> the key it was last read under


@contextmanager
def recording_reads() -> Iterator[Set[_Key]]:
    """Collects the (path, mtime_ns, size) of every project module read meanwhile: what a
    file's result depends on besides its own bytes (see lrlint.cache)."""
    recorder: Tuple[Set[_Key], Dict[str, _Key]] = (set(), {})
    _RECORDERS.append(recorder)
    try:
        yield recorder[0]
    finally:
        _RECORDERS.remove(recorder)


def read_stamp_and_digest(key: _Key) -> Tuple[Optional[Tuple[int, int, int, int]], bytes]:
    """How the module looked when it was read (see lrlint.cache.Stamp) and the SHA-256 of its bytes."""
    return _STAMPS.get(key), _DIGESTS.get(key, b"")


def _read(path: StrPath) -> Tuple[Optional[_Key], bytes]:
    """A module's bytes, read once per process and version of the file. While a file's reads
    are recorded, each module is looked at once: the check of one file sees one version of it
    (the pre-filter and the analysis ask about the same few modules dozens of times)."""
    name = os.fspath(path)
    known = _RECORDERS[-1][1].get(name) if _RECORDERS else None
    if known is not None:
        return known, _SOURCE[known]
    try:
        stat = os.stat(path)
    except OSError:
        return None, b""
    key = (name, stat.st_mtime_ns, stat.st_size)
    _LATEST[name] = key
    for reads, looked_at in _RECORDERS:
        reads.add(key)
        looked_at[name] = key
    if key not in _SOURCE:
        try:
            # a giant's bytes are not kept, but hashed: a change to it must still be noticed
            with open(path, "rb") as stream:
                data = stream.read()
            _SOURCE[key] = data if stat.st_size <= MAX_MODULE_BYTES else b""
            _DIGESTS[key] = hashlib.sha256(data).digest()
            _STAMPS[key] = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        except OSError:
            _SOURCE[key] = b""
    return key, _SOURCE[key]


def _worth_following(path: StrPath) -> bool:
    return ProjectModules.matches(path, _TRAINING_LIBRARY) and ProjectModules.matches(path, _TRAINING_WORDS)


def _import_list(text: str) -> Optional[List[str]]:
    """`a, b as c` -> ["a", "b"]; `a.b as c` -> ["a.b"]; None for `*` or a list that does not read
    cleanly (a backslash continuation), so the caller takes the whole module."""
    names = []
    for part in (re.sub(r"#[^\n]*", "", text) if "#" in text else text).split(","):
        name = part.strip().split(" as ")[0].strip()
        if not name:
            continue
        if not all(piece.isidentifier() for piece in name.split(".")):
            return None
        names.append(name)
    return names


def names_used_outside_imports(source: str, names: Iterable[str]) -> FrozenSet[str]:
    """Those of ``names`` (as a module defines them) that the source mentions anywhere but in its
    import statements, under the name or an alias it imports them as (`from m import a as b`, then
    `b(...)`). A name only imported (a package's `__init__` re-exporting it) is never looked up, so
    the analysis cannot reach its definition (nor does it read names in strings, as `__all__` lists
    them). Where an alias cannot be told apart from another binding, the name counts as used."""
    source = code_of(source)
    statements = list(_import_statements(source))
    spans = [statement.span() for statement in statements]
    aliases: Dict[str, Set[str]] = {}
    for statement in statements:
        _, parenthesized, listed, imported = statement.groups()
        listing = next(text for text in (parenthesized, listed, imported, "") if text is not None)
        for part in listing.replace("\\", ",").split(","):  # comments are blanked already
            words = part.split()
            if len(words) == 3 and words[1] == "as":
                aliases.setdefault(words[0], set()).add(words[2])
    used = set()
    for name in names:
        for bound in {name, *aliases.get(name, ())}:
            if _occurs_outside(source, bound, spans):
                used.add(name)
                break
    return frozenset(used)


def _occurs_outside(source: str, word: str, spans: List[Tuple[int, int]]) -> bool:
    for match in re.finditer(rf"(?<![\w.]){re.escape(word)}\b", source):
        if not any(start <= match.start() < end for start, end in spans):
            return True
    return False


def _import_statements(source: str) -> Iterator["re.Match[str]"]:
    """The import statements, found from each `import` in the text: a regular expression anchored
    at every line start scans a large file several times slower."""
    index = source.find("import")
    while index != -1:
        match = _IMPORT.match(source, source.rfind("\n", 0, index) + 1)
        if match is not None and match.end() > index:
            yield match
            index = source.find("import", match.end())
        else:
            index = source.find("import", index + 6)


Statement = Tuple[Optional[str], Optional[str], Optional[str], Optional[str]]  # the groups of _IMPORT
StatementImports = Tuple[Tuple[str, ImportedNames], ...]
# Files repeat the same import statements (`from ...utils import logging` in every model of a
# library), and a statement resolves alike wherever the folders it is searched from are the same:
# each is resolved once per such place, which two thirds of the library's statements share.
_STATEMENTS: Dict[Tuple[object, Statement], StatementImports] = {}
MAX_STATEMENTS = 32768  # then forgotten all at once: a few megabytes


def _statement_imports(folder: str, roots: Tuple[str, ...], statement: Statement) -> StatementImports:
    """The project files one import statement names from ``folder`` (see ``_resolve_statement``)."""
    key = (_searched_from(folder, roots, statement[0]), statement)
    found = _STATEMENTS.get(key)
    if found is None:
        if len(_STATEMENTS) >= MAX_STATEMENTS:
            _STATEMENTS.clear()
        found = _STATEMENTS[key] = _resolve_statement(folder, roots, *statement)
    return found


def _searched_from(folder: str, roots: Tuple[str, ...], module: Optional[str]) -> object:
    """What resolving `from module import ...` depends on besides its text: the package a
    relative import climbs to, or the folders where an absolute one's first name exists. An
    `import a, b` is looked up from the folder itself."""
    if module is None:
        return ("import", folder, roots)
    dots = len(module) - len(module.lstrip("."))
    if dots:
        return ("relative", _relative_base(folder, dots))
    return ("absolute", _start_folders(folder, roots, module.split(".", 1)[0]))


def _resolve_statement(
    folder: str,
    roots: Tuple[str, ...],
    module: Optional[str],
    parenthesized: Optional[str],
    listed: Optional[str],
    imported: Optional[str],
) -> StatementImports:
    """The project files one import statement (the groups of ``_IMPORT``) names from ``folder``,
    each with a name taken from it, or None for the whole module."""
    found: List[Tuple[str, ImportedNames]] = []
    if module is None:  # `import a.b as c, d`
        for name in _import_list(imported or "") or []:
            resolved = _resolve(folder, roots, name + ".x")  # `.x`: any attribute of that module
            if resolved is not None:
                found.append((resolved[0], None))
        return tuple(found)
    names = _import_list(parenthesized if parenthesized is not None else listed or "")
    joiner = "" if module.endswith(".") else "."
    if names is None:  # `*`, or a list this reading cannot split: the whole module
        resolved = _resolve(folder, roots, module + joiner + "x")
        return ((resolved[0], None),) if resolved is not None else ()
    # `from m import a, b`: where `m` may start is looked up once, not once per name
    # (`from . import a` names no module to start from: each name is one)
    located = _search(folder, roots, module + ".x") if module.strip(".") else None
    if located is None and module.strip("."):
        return ()  # no project file can be `m`, nor `m.a`
    for name in names:
        if located is not None:
            search, parts = located
            resolved = _find_module(search, parts[:-1] + (name, "x"))
        else:
            resolved = _resolve(folder, roots, module + joiner + name + ".x")
        if resolved is not None:
            path, attributes = resolved
            # a submodule (`from pkg import utils`), or a path this reading cannot place
            found.append((path, frozenset([name]) if attributes == (name, "x") else None))
    return tuple(found)


def _resolve(folder: str, roots: Tuple[str, ...], qualname: str) -> Optional[Tuple[str, Tuple[str, ...]]]:
    located = _search(folder, roots, qualname)
    return _find_module(*located) if located is not None else None


def _search(folder: str, roots: Tuple[str, ...], qualname: str) -> Optional[Tuple[Tuple[str, ...], Tuple[str, ...]]]:
    """The folders where ``qualname`` may start, and its parts; None where it cannot be the project's."""
    # Not cached itself: a library's files sit in thousands of folders, so (folder, qualname) is
    # new nearly every time; what it reduces to (the package a relative import climbs to, the
    # roots that have the first name) is shared by every importer and cached.
    dots = len(qualname) - len(qualname.lstrip("."))
    parts = tuple(part for part in qualname.lstrip(".").split(".") if part)
    if not parts:
        return None
    if dots:
        base = _relative_base(folder, dots)
        search = (base,) if base is not None and _has_entry(base, parts[0]) else ()
    else:
        search = _start_folders(folder, roots, parts[0])
    return (search, parts) if search else None


def _start_folders(folder: str, roots: Tuple[str, ...], name: str) -> Tuple[str, ...]:
    """Where an absolute import of ``name`` may start: the importer's folder, then the roots.
    Most imports name an installed package: one cached look per root settles them."""
    searched = (folder,) + tuple(root for root in roots if root != folder)
    return tuple(root for root in searched if _has_entry(root, name))


@lru_cache(maxsize=16384)
def _relative_base(folder: str, dots: int) -> Optional[str]:
    """The folder a relative import with ``dots`` dots starts from, or None where it would climb
    above the top-level package: as in Python, `from ..... import x` must not read files outside
    the project."""
    for _ in range(dots - 1):
        if not _has_file(folder, "__init__.py"):
            return None
        folder = os.path.dirname(folder)
    return folder


@lru_cache(maxsize=65536)  # keyed by the roots searched, not the importer: shared
def _find_module(roots: Tuple[str, ...], parts: Tuple[str, ...]) -> Optional[Tuple[str, Tuple[str, ...]]]:
    for length in range(len(parts) - 1, 0, -1):
        for root in roots:
            found = _module_file(root, parts[:length])
            if found is not None:
                return found, parts[length:]
    return None


def _split(data: bytes) -> Optional[FollowedModule]:
    """The module split into its statements, after the checks ``engine.parse_module_safely``
    makes; where CPython cannot parse it (maybe syntax newer than this Python), parsed whole."""
    from .engine import UnreadableSource, decode_source, python_tree_or_refusal

    try:
        source = decode_source(data)
    except UnreadableSource:
        return None
    tree, refused = python_tree_or_refusal(source)
    if refused:
        return None
    if tree is None:
        whole = _parse(data)
        return FollowedModule.whole(whole) if whole is not None else None
    return FollowedModule.split(source, tree)


def _parse(data: bytes) -> Optional["cst.Module"]:
    from .engine import parse_module_safely  # CPython's parser first: libcst crashes on deep nesting

    return parse_module_safely(data)


def _has_entry(root: str, name: str) -> bool:
    """Whether `root/name.py` or `root/name/` exists: where a module path could start."""
    return _has_folder(root, name) or _has_file(root, name + ".py")


@lru_cache(maxsize=65536)  # one run asks the same few questions for every file of a folder
def _module_file(root: str, parts: Tuple[str, ...]) -> Optional[str]:
    """`root/a/b.py` or `root/a/b/__init__.py` for the parts (a, b), if either exists."""
    folder, name = os.path.join(root, *parts[:-1]), parts[-1]
    if _has_file(folder, name + ".py"):
        return os.path.join(folder, name + ".py")
    if _has_folder(folder, name) and _has_file(os.path.join(folder, name), "__init__.py"):
        return os.path.join(folder, name, "__init__.py")
    return None


class _Listing(NamedTuple):
    files: FrozenSet[str]
    folders: FrozenSet[str]


_ABSENT = _Listing(frozenset(), frozenset())


@lru_cache(maxsize=8192)
def _listing(folder: str) -> Optional[_Listing]:
    """The names of a folder's files and subfolders (links followed), read once: the import
    lookups ask whether a few dozen modules exist in each folder they search, which was a stat
    each (about 53,000 over the library corpus). Empty for a folder that does not exist; None for one
    that cannot be listed, whose entries may still be reachable."""
    files: List[str] = []
    folders: List[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_dir():
                        folders.append(entry.name)
                    elif entry.is_file():
                        files.append(entry.name)
                except OSError:
                    continue
    except (FileNotFoundError, NotADirectoryError):
        return _ABSENT
    except OSError:
        return None
    return _Listing(frozenset(files), frozenset(folders))


def _has_file(folder: str, name: str) -> bool:
    listing = _listing(folder)
    return name in listing.files if listing is not None else os.path.isfile(os.path.join(folder, name))


def _has_folder(folder: str, name: str) -> bool:
    listing = _listing(folder)
    return name in listing.folders if listing is not None else os.path.isdir(os.path.join(folder, name))


def _resolved(path: Path) -> Path:
    """``path.resolve()``, resolving its folder once per folder: resolving looks at every folder
    above, and a run checks thousands of files in a few hundred folders."""
    if os.path.islink(path):
        return path.resolve()
    # joined, not abspath'd: `link/..` must be resolved after the link is followed, as resolve() does
    return _resolved_folder(os.path.join(os.getcwd(), os.path.dirname(path))) / path.name


@lru_cache(maxsize=4096)
def _resolved_folder(folder: str) -> Path:
    return Path(folder).resolve()


@lru_cache(maxsize=1024)
def _search_roots(folder: Path) -> List[Path]:
    """Where absolute imports of the project start: the script's folder, the folder above its
    package (`pkg/train.py` importing `pkg.utils`), and the project root (the nearest folder with
    a pyproject.toml, setup.py, setup.cfg or .git), with its `src/` when it has one."""
    roots = [folder, Path(_above_package(str(folder)))]
    project_root = _project_root(str(folder))
    if project_root is not None:
        roots.extend([Path(project_root), Path(project_root, "src")])
    unique: List[Path] = []
    for root in roots:
        if root not in unique and root.is_dir():
            unique.append(root)
    return unique


# The two climbs below are shared by every folder under the same parents: each folder is looked at once.
@lru_cache(maxsize=4096)
def _above_package(folder: str) -> str:
    """The folder above the package ``folder`` is in (``folder`` itself when it is no package)."""
    parent = os.path.dirname(folder)
    if parent == folder or not _has_file(folder, "__init__.py"):
        return folder
    return _above_package(parent)


@lru_cache(maxsize=4096)
def _project_root(folder: str) -> Optional[str]:
    """The nearest folder, from ``folder`` up, with one of the ``PROJECT_MARKERS``."""
    if any(os.path.exists(os.path.join(folder, marker)) for marker in PROJECT_MARKERS):
        return folder
    parent = os.path.dirname(folder)
    return None if parent == folder else _project_root(parent)
