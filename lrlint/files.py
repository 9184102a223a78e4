"""Turn the command line's PATHS into the files to check.

Folders are walked for ``*.py``, skipping the default excludes, the config's ``exclude`` and
``extend-exclude`` globs and what ``.gitignore`` files exclude. A path named on the command line
is checked even when excluded, unless ``force_exclude`` (what pre-commit passes).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Iterable, Iterator, List, NamedTuple, Optional, Pattern, Sequence, Tuple

from .config import ConfigError, ConfigResolver, Settings
from .globs import PathGlob, any_match, glob_to_regex

# ruff's defaults, less the tools lrlint has nothing to do with. `exclude` replaces this list.
DEFAULT_EXCLUDE: Tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    ".venv",
    "venv",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".lrlint_cache",
    ".eggs",
    "*.egg-info",
    ".ipynb_checkpoints",
    "__pypackages__",
    "site-packages",
)
SOURCE_SUFFIXES: Tuple[str, ...] = (".py", ".ipynb")


class SourceFile(NamedTuple):  # a named tuple: a warm run makes one per file, cheaply
    path: str  # what to open
    display: str  # what to show: as given on the command line, or found under it
    # The one stat discovery took (following symlinks): the cache reuses it rather than stat again.
    status: Optional[os.stat_result] = None


@dataclass
class Discovery:
    files: List[SourceFile] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)  # one line each: a missing or unreadable path
    skipped: List[str] = field(default_factory=list)  # one line each: a found entry that is no file


# --- reading -------------------------------------------------------------------------------

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotRegularFile(OSError):
    """A path that is not a regular file: a FIFO, a socket, a device or a folder."""

    def __init__(self, path: str, mode: int) -> None:
        kind = next((name for test, name in _KINDS if test(mode)), "an entry of another kind")
        super().__init__(errno.EINVAL, f"not a regular file ({kind})", path)


def read_regular_file(path: "str | os.PathLike[str]") -> bytes:
    """The bytes of a regular file. Anything else raises ``OSError`` without being read: opening a
    FIFO waits for a writer forever, and a device can be endless."""
    status = os.stat(path)
    if not stat.S_ISREG(status.st_mode):
        raise NotRegularFile(os.fspath(path), status.st_mode)
    # O_NONBLOCK: should the path turn into a FIFO since the stat, the open still returns at once.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with open(descriptor, "rb") as handle:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(os.fspath(path), mode)
        return handle.read()


def stat_problem(path: str, error: OSError) -> str:
    """Why ``os.stat`` failed, in words: a dangling symlink says more than "No such file"."""
    if error.errno == errno.ENOENT and os.path.islink(path):
        return "broken symbolic link (its target does not exist)"
    return error.strerror or str(error)


# --- gitignore ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnorePattern:
    regex: Pattern[str]
    negated: bool
    dir_only: bool

    def matches(self, relpath: str, is_dir: bool) -> bool:
        return (is_dir or not self.dir_only) and bool(self.regex.match(relpath))


def parse_gitignore(text: str) -> List[IgnorePattern]:
    """The patterns of one ``.gitignore`` file, in order (the last match wins)."""
    patterns = []
    for raw in text.splitlines():
        line = re.sub(r"(?<!\\)[ \t]+$", "", raw)  # trailing blanks go unless escaped
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        elif line.startswith(("\\!", "\\#")):
            line = line[1:]
        dir_only = line.endswith("/") and not line.endswith("\\/")
        line = line.rstrip("/") if dir_only else line
        if not line:
            continue
        # A "/" at the start or in the middle anchors the pattern to the .gitignore's folder;
        # otherwise it matches a name at any depth.
        if "/" in line:
            line = line.lstrip("/")
        else:
            line = "**/" + line
        patterns.append(IgnorePattern(re.compile(glob_to_regex(line) + r"\Z"), negated, dir_only))
    return patterns


# The patterns of one file, and the folder they are relative to.
IgnoreFile = Tuple[str, Tuple[IgnorePattern, ...]]


class Listings:
    """The names in each folder the walk listed, so that asking whether a folder has a
    `.gitignore`, `.git` or config file costs no stat when it has none (most folders).

    Names are compared case-folded: where the file system ignores case, `.GitIgnore` is
    `.gitignore`, so a name there in any case still gets the stat, as it did before."""

    def __init__(self) -> None:
        self._names: Dict[str, FrozenSet[str]] = {}

    def add(self, folder: str, names: Iterable[str]) -> None:
        self._names[folder] = frozenset(map(str.casefold, names))

    def may_have(self, folder: str, name: str) -> bool:
        """False only when ``folder`` was listed without ``name``: then it surely has none."""
        names = self._names.get(folder)
        return names is None or name.casefold() in names


class GitIgnore:
    """``.gitignore`` files, each read once. Inside a git repository every folder from the git
    root down contributes; outside one, only the folders at or below ``boundary`` (the folder
    being walked) do."""

    def __init__(self, listings: Optional[Listings] = None) -> None:
        self.listings = listings or Listings()
        self._files: Dict[str, Optional[IgnoreFile]] = {}
        self._chains: Dict[Tuple[str, Optional[str]], Tuple[IgnoreFile, ...]] = {}
        self._in_git: Dict[str, bool] = {}
        self._git_roots: Dict[str, bool] = {}

    def chain(self, folder: str, boundary: str) -> Tuple[IgnoreFile, ...]:
        """The ignore files that govern the entries of ``folder`` (absolute), outermost first."""
        in_git = self.inside_git_repo(folder)
        key = (folder, None if in_git else boundary)
        if key not in self._chains:
            parent = os.path.dirname(folder)
            if self._is_git_root(folder):
                inherited = self._read(os.path.join(folder, ".git", "info", "exclude"), folder)
            elif parent != folder and (in_git or _is_below(folder, boundary)):
                inherited = self.chain(parent, boundary)
            else:
                inherited = ()
            has_own = self.listings.may_have(folder, ".gitignore")
            self._chains[key] = (
                inherited + self._read(os.path.join(folder, ".gitignore"), folder) if has_own else inherited
            )
        return self._chains[key]

    def _is_git_root(self, folder: str) -> bool:
        if folder not in self._git_roots:  # asked by chain and by inside_git_repo
            self._git_roots[folder] = self.listings.may_have(folder, ".git") and _is_git_root(folder)
        return self._git_roots[folder]

    def _read(self, path: str, base: str) -> Tuple[IgnoreFile, ...]:
        if path not in self._files:
            try:
                text = read_regular_file(path).decode("utf-8", errors="replace")  # a FIFO is not read
                self._files[path] = (base, tuple(parse_gitignore(text)))
            except OSError:  # absent (the usual case), unreadable or no file: no patterns
                self._files[path] = None
        found = self._files[path]
        return (found,) if found and found[1] else ()

    def inside_git_repo(self, folder: str) -> bool:
        if folder not in self._in_git:
            parent = os.path.dirname(folder)
            self._in_git[folder] = self._is_git_root(folder) or (parent != folder and self.inside_git_repo(parent))
        return self._in_git[folder]

    def is_ignored(self, path: str, is_dir: bool, boundary: str, folder: Optional[str] = None) -> bool:
        """Whether ``path`` (absolute, in ``folder`` when given) is excluded; the last matching pattern wins."""
        ignored = False
        for base, patterns in self.chain(os.path.dirname(path) if folder is None else folder, boundary):
            relative = _relative_to(path, base)
            for pattern in patterns:
                if pattern.matches(relative, is_dir):
                    ignored = not pattern.negated
        return ignored


def _relative_to(path: str, base: str) -> str:
    """``path`` relative to the folder ``base`` above it, posix. Both come from the walk and are
    normalized: slicing does what ``os.path.relpath`` does, without its abspath calls per file."""
    prefix = base if base.endswith(os.sep) else base + os.sep
    relative = path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, base)
    return relative if os.sep == "/" else relative.replace(os.sep, "/")


def _is_git_root(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, ".git"))


def _is_below(path: str, root: str) -> bool:
    return path != root and path.startswith(root.rstrip(os.sep) + os.sep)


# --- exclusion ---------------------------------------------------------------------------


class Excluder:
    """Decides what is skipped: default/config excludes and, if respected, ``.gitignore``."""

    def __init__(self, settings: Settings, listings: Optional[Listings] = None) -> None:
        self.settings = settings
        base = settings.exclude if settings.exclude is not None else DEFAULT_EXCLUDE
        globs = [PathGlob.compile(p) for p in base + settings.extend_exclude]
        # Most excludes are names (`build`, `*.egg-info`): one regex over the name decides them,
        # and only the anchored ones (`src/gen`) need the path relative to the root.
        names = [glob.regex.pattern for glob in globs if glob.basename_only]
        self.name_pattern = re.compile("|".join(f"(?:{name})" for name in names)) if names else None
        self.anchored = tuple(glob for glob in globs if not glob.basename_only)
        self.gitignore = GitIgnore(listings) if settings.respect_gitignore else None

    def excludes(self, path: str, is_dir: bool, boundary: str) -> bool:
        """``path`` is absolute; the folders above it are assumed to be checked already."""
        return self.excludes_entry(os.path.dirname(path), os.path.basename(path), path, is_dir, boundary)

    def excludes_entry(
        self, folder: str, name: str, path: str, is_dir: bool, boundary: str, look_for_virtualenv: bool = True
    ) -> bool:
        """``excludes`` for the entry ``name`` of ``folder`` (``path`` is the two joined), as the
        walk knows them: no splitting of the path again for each file. The walk, which lists every
        folder it enters anyway, tells a virtualenv by that listing (``look_for_virtualenv=False``)
        rather than by a stat for every folder."""
        if self.name_pattern is not None and self.name_pattern.match(name):
            return True
        if self.anchored and any_match(self.anchored, self.settings.relpath(path)):
            return True
        if is_dir and look_for_virtualenv and _is_virtualenv(path):
            return True
        return self.gitignore is not None and self.gitignore.is_ignored(path, is_dir, boundary, folder)

    def file_excluder(self, folder: str, boundary: str) -> Callable[[str, str], bool]:
        """``excludes_entry`` for the files (not folders) of ``folder``, as ``(name, path) ->
        bool``: where no anchored exclude and no `.gitignore` can apply (most folders of a tree
        outside git), only the names are matched, without the per-file work of the general test."""
        if self.anchored or (self.gitignore is not None and self.gitignore.chain(folder, boundary)):
            return lambda name, path: self.excludes_entry(folder, name, path, False, boundary)
        match = self.name_pattern.match if self.name_pattern is not None else None
        return lambda name, path: match is not None and match(name) is not None

    def excludes_with_parents(self, path: str, is_dir: bool) -> bool:
        """For a path named on the command line (``--force-exclude``): it, or a folder above it,
        is excluded. Only folders below the project root or the git root are looked at, so that
        a project checked out under ``~/build/`` is not excluded as a whole."""
        boundary = os.path.dirname(path)
        if self.excludes(path, is_dir, boundary):
            return True
        tops = [str(self.settings.root)]
        if self.gitignore is not None:
            tops += [folder for folder in _parents(path) if _is_git_root(folder)][:1]
        for parent in _parents(path):
            if not any(_is_below(parent, top) for top in tops):
                break
            if self.excludes(parent, True, boundary):
                return True
        return False


def _parents(path: str) -> Iterator[str]:
    current = os.path.dirname(path)
    while True:
        yield current
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent


# --- discovery ---------------------------------------------------------------------------


class Excluders:
    """The excluder of the settings that govern each folder (nested configs bring their own)."""

    def __init__(self, settings: Settings, resolver: Optional[ConfigResolver], errors: List[str]) -> None:
        self.listings = Listings()  # what the walk found in each folder, shared by every excluder
        self.root = Excluder(settings, self.listings)
        self.resolver = resolver
        self.errors = errors
        self._by_settings: Dict[int, Excluder] = {id(settings): self.root}
        self._reported: set = set()

    def for_folder(self, folder: str) -> Optional[Excluder]:
        """None when the folder's config is broken (reported once; its files are skipped)."""
        if self.resolver is None:
            return self.root
        try:
            settings = self.resolver.for_folder(folder, self.listings.may_have)
        except ConfigError as error:
            if str(error) not in self._reported:
                self._reported.add(str(error))
                self.errors.append(str(error))
            return None
        if id(settings) not in self._by_settings:
            self._by_settings[id(settings)] = Excluder(settings, self.listings)
        return self._by_settings[id(settings)]


def discover(
    paths: Sequence[str], settings: Settings, force_exclude: bool = False, resolver: Optional[ConfigResolver] = None
) -> Discovery:
    """The files to check under ``paths`` (default ``.``), sorted by the path shown, each once.
    With a ``resolver``, a folder with its own config file is walked with that config's excludes."""
    found = Discovery()
    excluders = Excluders(settings, resolver, found.errors)
    excluder = excluders.root
    seen: Dict[str, SourceFile] = {}
    for given in paths or (".",):
        absolute = os.path.abspath(given)
        try:
            status = os.stat(absolute)
        except OSError as error:  # missing, a broken or looping symlink, a folder we may not enter
            found.errors.append(f"{given}: {stat_problem(absolute, error)}")
            continue
        mode = status.st_mode
        is_dir = stat.S_ISDIR(mode)
        if force_exclude and excluder.excludes_with_parents(absolute, is_dir):
            continue
        if not is_dir and not stat.S_ISREG(mode):  # named explicitly: as wrong as a missing path
            found.errors.append(f"{given}: {NotRegularFile(absolute, mode).strerror}")
            continue
        if not is_dir:
            candidates: Iterator[SourceFile] = iter([SourceFile(absolute, given, status)])
        else:
            candidates = _walk(absolute, _display_root(given), excluders, found)
        for source in candidates:
            # The same file reached by two paths (a symlink, `a/../a`) is checked once: the stat
            # already taken tells, where resolving the path would look at every folder above it.
            key = (source.status.st_dev, source.status.st_ino)  # type: ignore[union-attr]
            if key not in seen or source.display < seen[key].display:
                seen[key] = source
    found.files = sorted(seen.values(), key=lambda source: source.display)
    return found


def _display_root(given: str) -> str:
    """``src/`` -> ``src``; ``.`` and ``./`` -> "" so that files show as ``train.py``."""
    stripped = given.rstrip("/" + os.sep) or given
    return "" if stripped in (".", "." + os.sep) else stripped


def _walk(top: str, shown: str, excluders: Excluders, found: Discovery) -> Iterator[SourceFile]:
    """The source files below ``top``, folder by folder in sorted order (as ``os.walk`` top-down
    would give them), each stat'ed once. Symlinked folders are not entered, as with ``os.walk``."""

    def report(error: OSError) -> None:
        where = os.path.join(shown, os.path.relpath(error.filename, top)) if error.filename else shown
        if error.filename and os.path.abspath(error.filename) != top:  # a folder found inside: skip it
            found.skipped.append(f"{os.path.normpath(where)}: skipped: {error.strerror or error}")
        else:  # the folder named on the command line
            found.errors.append(f"{where}: {error.strerror or error}")

    pending: List[Tuple[str, str]] = [(top, shown)]  # (folder, its display prefix), a stack
    while pending:
        folder, prefix = pending.pop()
        listing = _list_folder(folder, report)
        if listing is None:
            continue
        dirs, files = listing
        excluders.listings.add(folder, [*dirs, *files])
        if folder != top and excluders.listings.may_have(folder, "pyvenv.cfg") and _is_virtualenv(folder):
            continue  # a virtualenv (ruff skips them too), told once it is listed
        excluder = excluders.for_folder(folder)
        if excluder is None:  # its config is broken: reported, and nothing below is checked
            continue
        # os.path.join(folder, name) for a plain name, once per folder rather than per entry
        folder_base, prefix_base = os.path.join(folder, ""), os.path.join(prefix, "")
        inner = []
        for name in sorted(dirs):
            path = folder_base + name
            if not dirs[name] and not excluder.excludes_entry(folder, name, path, True, top, look_for_virtualenv=False):
                inner.append((path, prefix_base + name))
        pending.extend(reversed(inner))  # popped in sorted order, each after the files above it
        excludes_file = excluder.file_excluder(folder, top)
        for name in sorted(files):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            absolute = folder_base + name
            if excludes_file(name, absolute):
                continue
            display = prefix_base + name
            status, problem = _source_status(absolute)
            if status is not None:
                yield SourceFile(absolute, display, status)
            else:
                found.skipped.append(f"{display}: skipped: {problem}")


def _is_virtualenv(folder: str) -> bool:
    """Any virtualenv, whatever its name: what ruff's default excludes skip too."""
    return os.path.isfile(os.path.join(folder, "pyvenv.cfg"))


def _list_folder(folder: str, report: Callable[[OSError], None]) -> Optional[Tuple[Dict[str, bool], List[str]]]:
    """The folders (name -> whether it is a symlink, not to be entered) and the other entries of
    ``folder``, or None when it cannot be listed (reported). ``scandir`` tells the kinds without a
    stat for most entries; what ``os.walk`` would call a folder is one here."""
    dirs: Dict[str, bool] = {}
    others: List[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    dirs[entry.name] = _is_symlink(entry)
                else:
                    others.append(entry.name)
    except OSError as error:  # not listable, or failed half way: skipped whole, as os.walk does
        report(error)
        return None
    return dirs, others


def _is_symlink(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _source_status(path: str) -> Tuple[Optional[os.stat_result], str]:
    """The stat of a `.py` entry found in a folder, or why it cannot be checked (a FIFO, a socket,
    a broken symlink or a loop). Only stat is used: opening a FIFO would block."""
    try:
        status = os.stat(path)
    except OSError as error:
        return None, stat_problem(path, error)
    if stat.S_ISREG(status.st_mode):
        return status, ""
    return None, NotRegularFile(path, status.st_mode).strerror
