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
from typing import Dict, Iterator, List, Optional, Pattern, Sequence, Tuple

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


@dataclass(frozen=True)
class SourceFile:
    path: str  # what to open
    display: str  # what to show: as given on the command line, or found under it


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


class GitIgnore:
    """``.gitignore`` files, each read once. Inside a git repository every folder from the git
    root down contributes; outside one, only the folders at or below ``boundary`` (the folder
    being walked) do."""

    def __init__(self) -> None:
        self._files: Dict[str, Optional[IgnoreFile]] = {}
        self._chains: Dict[Tuple[str, Optional[str]], Tuple[IgnoreFile, ...]] = {}
        self._in_git: Dict[str, bool] = {}

    def chain(self, folder: str, boundary: str) -> Tuple[IgnoreFile, ...]:
        """The ignore files that govern the entries of ``folder`` (absolute), outermost first."""
        in_git = self.inside_git_repo(folder)
        key = (folder, None if in_git else boundary)
        if key not in self._chains:
            parent = os.path.dirname(folder)
            if _is_git_root(folder):
                inherited = self._read(os.path.join(folder, ".git", "info", "exclude"), folder)
            elif parent != folder and (in_git or _is_below(folder, boundary)):
                inherited = self.chain(parent, boundary)
            else:
                inherited = ()
            self._chains[key] = inherited + self._read(os.path.join(folder, ".gitignore"), folder)
        return self._chains[key]

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
            self._in_git[folder] = _is_git_root(folder) or (parent != folder and self.inside_git_repo(parent))
        return self._in_git[folder]

    def is_ignored(self, path: str, is_dir: bool, boundary: str) -> bool:
        """Whether ``path`` (absolute) is excluded; the last matching pattern wins."""
        ignored = False
        for base, patterns in self.chain(os.path.dirname(path), boundary):
            relative = os.path.relpath(path, base).replace(os.sep, "/")
            for pattern in patterns:
                if pattern.matches(relative, is_dir):
                    ignored = not pattern.negated
        return ignored


def _is_git_root(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, ".git"))


def _is_below(path: str, root: str) -> bool:
    return path != root and path.startswith(root.rstrip(os.sep) + os.sep)


# --- exclusion ---------------------------------------------------------------------------


class Excluder:
    """Decides what is skipped: default/config excludes and, if respected, ``.gitignore``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        base = settings.exclude if settings.exclude is not None else DEFAULT_EXCLUDE
        globs = [PathGlob.compile(p) for p in base + settings.extend_exclude]
        # Most excludes are names (`build`, `*.egg-info`): one regex over the name decides them,
        # and only the anchored ones (`src/gen`) need the path relative to the root.
        names = [glob.regex.pattern for glob in globs if glob.basename_only]
        self.name_pattern = re.compile("|".join(f"(?:{name})" for name in names)) if names else None
        self.anchored = tuple(glob for glob in globs if not glob.basename_only)
        self.gitignore = GitIgnore() if settings.respect_gitignore else None

    def excludes(self, path: str, is_dir: bool, boundary: str) -> bool:
        """``path`` is absolute; the folders above it are assumed to be checked already."""
        if self.name_pattern is not None and self.name_pattern.match(os.path.basename(path)):
            return True
        if self.anchored and any_match(self.anchored, self.settings.relpath(path)):
            return True
        if is_dir and os.path.isfile(os.path.join(path, "pyvenv.cfg")):  # any virtualenv
            return True
        return self.gitignore is not None and self.gitignore.is_ignored(path, is_dir, boundary)

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
        self.root = Excluder(settings)
        self.resolver = resolver
        self.errors = errors
        self._by_settings: Dict[int, Excluder] = {id(settings): self.root}
        self._reported: set = set()

    def for_folder(self, folder: str) -> Optional[Excluder]:
        """None when the folder's config is broken (reported once; its files are skipped)."""
        if self.resolver is None:
            return self.root
        try:
            settings = self.resolver.for_folder(folder)
        except ConfigError as error:
            if str(error) not in self._reported:
                self._reported.add(str(error))
                self.errors.append(str(error))
            return None
        if id(settings) not in self._by_settings:
            self._by_settings[id(settings)] = Excluder(settings)
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
            mode = os.stat(absolute).st_mode
        except OSError as error:  # missing, a broken or looping symlink, a folder we may not enter
            found.errors.append(f"{given}: {stat_problem(absolute, error)}")
            continue
        is_dir = stat.S_ISDIR(mode)
        if force_exclude and excluder.excludes_with_parents(absolute, is_dir):
            continue
        if not is_dir and not stat.S_ISREG(mode):  # named explicitly: as wrong as a missing path
            found.errors.append(f"{given}: {NotRegularFile(absolute, mode).strerror}")
            continue
        if not is_dir:
            candidates: Iterator[Tuple[str, str]] = iter([(absolute, given)])
        else:
            candidates = _walk(absolute, _display_root(given), excluders, found)
        for absolute_file, display in candidates:
            key = _identity(absolute_file)
            if key not in seen or display < seen[key].display:
                seen[key] = SourceFile(absolute_file, display)
    found.files = sorted(seen.values(), key=lambda source: source.display)
    return found


def _identity(path: str) -> object:
    """The same file reached by two paths (a symlink, `a/../a`) is checked once: one stat call
    tells, where resolving the path would look at every folder above it."""
    try:
        status = os.stat(path)
    except OSError:
        return os.path.normcase(os.path.realpath(path))
    return status.st_dev, status.st_ino


def _display_root(given: str) -> str:
    """``src/`` -> ``src``; ``.`` and ``./`` -> "" so that files show as ``train.py``."""
    stripped = given.rstrip("/" + os.sep) or given
    return "" if stripped in (".", "." + os.sep) else stripped


def _walk(top: str, shown: str, excluders: Excluders, found: Discovery) -> Iterator[Tuple[str, str]]:
    def report(error: OSError) -> None:
        where = os.path.join(shown, os.path.relpath(error.filename, top)) if error.filename else shown
        if error.filename and os.path.abspath(error.filename) != top:  # a folder found inside: skip it
            found.skipped.append(f"{os.path.normpath(where)}: skipped: {error.strerror or error}")
        else:  # the folder named on the command line
            found.errors.append(f"{where}: {error.strerror or error}")

    for folder, dirs, files in os.walk(top, onerror=report):
        relative_folder = os.path.relpath(folder, top)
        prefix = shown if relative_folder == "." else os.path.join(shown, relative_folder)
        excluder = excluders.for_folder(folder)
        if excluder is None:  # its config is broken: reported, and nothing below is checked
            dirs[:] = []
            continue
        # Prune in place: os.walk then never enters an excluded folder.
        dirs[:] = sorted(d for d in dirs if not excluder.excludes(os.path.join(folder, d), True, top))
        for name in sorted(files):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            absolute = os.path.join(folder, name)
            if excluder.excludes(absolute, False, top):
                continue
            display = os.path.join(prefix, name) if prefix else name
            problem = _not_a_source_file(absolute)
            if problem is None:
                yield absolute, display
            else:
                found.skipped.append(f"{display}: skipped: {problem}")


def _not_a_source_file(path: str) -> Optional[str]:
    """Why a `.py` entry of a folder cannot be checked (a FIFO, a socket, a symlink loop), or None.
    Only stat is used: opening a FIFO would block."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return stat_problem(path, error)
    return None if stat.S_ISREG(mode) else NotRegularFile(path, mode).strerror
