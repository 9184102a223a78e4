"""The result cache: a file whose content, settings and followed modules are unchanged is not
checked again (`.lrlint_cache/`, like ruff's `.ruff_cache/`).

An entry is keyed by the file's path and holds the SHA-256 of its bytes, a fingerprint of
everything else the result depends on (lrlint's version and the stamps of its own files, the
selected rules, the declared schedulers, the path as displayed), the project modules the analysis read while checking it
(each with its own digest), and the result. A file's size and modification time only decide
whether its bytes must be read and hashed again: a touched but unchanged file still hits, an
edited one always misses, whatever its timestamp says.

The cache is one file per lrlint version, written atomically (a temporary file, then
`os.replace`): two runs at once each write a complete cache and the last one wins, so a reader
never sees half an entry, and an unreadable or foreign cache file counts as empty. It holds only
plain values (``marshal``, never ``pickle``), so loading it cannot run code.

Not tracked: a project module that appears after the run where an import could now resolve
to it (`utils.py` created next to a script that imports `utils`). Edit the importer, or run
with `--no-cache`.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from . import __version__
from .diagnostics import Diagnostic, FileResult
from .files import read_regular_file
from .fixes import Edit, Fix

CACHE_DIR_NAME = ".lrlint_cache"
_FORMAT = 2  # bump when the entry layout changes

# Whether a file must be hashed again, as git's index decides: any write, `touch` or `chmod`
# changes the inode's ctime, which no program can set back (unlike the mtime).
Stamp = Tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
Dependency = Tuple[str, Stamp, bytes]  # path, stamp, digest


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def stamp(path: str) -> Optional[Stamp]:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return stamp_of(status)


def stamp_of(status: os.stat_result) -> Stamp:
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino


def settings_fingerprint(codes: Iterable[str], schedulers: Mapping[str, Tuple[str, ...]], display: str) -> str:
    """What besides the bytes decides a file's result: a digest of the settings a run shares
    (computed once per config, not once per file) and the path shown in the messages."""
    return _shared_settings(frozenset(codes), tuple(schedulers.items())) + repr(display)


@lru_cache(maxsize=64)  # a run has one or a few configs, and thousands of files
def _shared_settings(codes: FrozenSet[str], schedulers: Tuple[Tuple[str, Tuple[str, ...]], ...]) -> str:
    declared = tuple(sorted((cadence, tuple(sorted(names))) for cadence, names in schedulers))
    # A digest rather than the text itself: every entry of the cache file holds it.
    text = repr((__version__, _code_stamp(), _FORMAT, sorted(codes), declared))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    """lrlint's own code, by the size and modification time of its files: a git checkout or an
    editable install changes the code without changing the version, and must not reuse results."""
    files = sorted(_code_files(os.path.dirname(os.path.realpath(__file__)), ""))
    return hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]


def _code_files(folder: str, prefix: str) -> Iterator[str]:
    """`relative/path.py size mtime` of every module below ``folder`` (scandir's strings: this
    runs at every start, and pathlib's objects cost several times more)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):  # as Path.rglob: a linked folder is not entered
                yield from _code_files(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".py"):
                status = entry.stat()
                yield f"{prefix}{entry.name} {status.st_size} {status.st_mtime_ns}"
        except OSError:
            continue


class Entry(NamedTuple):
    stamp: Stamp
    digest: bytes
    settings: str
    dependencies: Tuple[Dependency, ...]
    result: FileResult


# The file holds (_FORMAT, dependencies, entries). Every module a check read is listed once in
# `dependencies`, as (path, stamp, digest); an entry names its modules by their index there, so a
# module that thousands of files import is stored, loaded and judged once.
# An entry as marshalled: (stamp, digest, settings, dependency indices, (path, diagnostics, error)).
# Entries stay in this form: a run looks up each once and converts only the result of a hit, and
# what it did not touch is written back as it was read.
RawEntry = tuple
# A raw entry of another shape (a foreign or damaged cache file) is a miss, never a crash.
_MALFORMED = (TypeError, ValueError, IndexError, AttributeError)


class ResultCache:
    """Results by absolute path, loaded once per run and saved once at its end."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / __version__ / "results.marshal"
        self._dependencies, self._raw = _load(self.file)
        self.changed = False
        self._stored = False  # entries replaced: some dependencies may no longer be named
        # Many files follow the same few modules: each is judged once per run, by its index.
        self._judged: List[Optional[bool]] = [None] * len(self._dependencies)
        self._index: Optional[Dict[Dependency, int]] = None  # dependency -> index, once something is stored
        # Stamps taken earlier in this run (by discovery), used instead of a stat of one's own.
        self._stamps: Dict[str, Stamp] = {}

    @property
    def entries(self) -> Mapping[str, Entry]:
        """Every entry, each converted when asked for."""
        return _EntryView(self._raw, self._dependencies)

    def remember_stamps(self, stamps: Mapping[str, Stamp]) -> None:
        """Stamps of files taken this run, before any of them was checked. A stamp only has to be
        taken before the bytes it vouches for are read, so an earlier one serves as well."""
        self._stamps.update(stamps)

    def lookup(self, path: str, settings: str) -> Optional[FileResult]:
        """The cached result when the file and every module it read are as they were."""
        raw = self._raw.get(path)
        if raw is None:
            return None
        try:
            return self._lookup(path, settings, raw)
        except _MALFORMED:
            return None

    def _lookup(self, path: str, settings: str, raw: RawEntry) -> Optional[FileResult]:
        recorded, recorded_digest, recorded_settings, indices, result = raw
        if recorded_settings != settings or (indices and min(indices) < 0):  # no index counts from the end
            return None
        current = self._stamps.get(path)  # as discovery found it (the usual case: unchanged)
        if current != recorded:
            current = self._unchanged(path, recorded, recorded_digest)
            if current is None:
                return None
        if current != recorded:  # touched, same bytes: remember the new stamp
            self._raw[path] = (current, *raw[1:])
            self.changed = True
        judged, dependencies = self._judged, self._dependencies
        for index in indices:
            still = judged[index]
            if still is None:
                still = judged[index] = self._unchanged(*dependencies[index]) is not None
            if not still:
                return None
        return _result(result)

    def store(self, path: str, entry: Entry) -> None:
        self._raw[path] = _dump(entry, self._index_of)
        self.changed = self._stored = True

    def _index_of(self, dependency: Dependency) -> int:
        if self._index is None:
            self._index = _indexed(self._dependencies)
            if self._index is None:  # a damaged table: start the cache afresh
                self._dependencies, self._raw, self._judged, self._index = [], {}, [], {}
        index = self._index.get(dependency)
        if index is None:
            index = self._index[dependency] = len(self._dependencies)
            self._dependencies.append(dependency)
            self._judged.append(None)
        return index

    def save(self) -> None:
        """Write the cache atomically; a cache that cannot be written is silently skipped."""
        if not self.changed:
            return
        dependencies, entries = self._dependencies, self._raw
        if self._stored:
            dependencies, entries = _compacted(dependencies, entries)
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            _mark_cache_folder(self.file.parents[1])
            data = marshal.dumps((_FORMAT, dependencies, entries))
            import tempfile  # here: a warm run with nothing new writes nothing

            handle, temporary = tempfile.mkstemp(dir=self.file.parent, prefix=".results.", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                os.replace(temporary, self.file)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only checkout still gets its findings

    def _unchanged(self, path: str, recorded: Stamp, recorded_digest: bytes) -> Optional[Stamp]:
        """The file's current stamp when its bytes are still ``recorded_digest``, else None."""
        current = self._stamps.get(path) or stamp(path)
        if current is None:
            return None
        if current == recorded:
            return current
        try:
            data = read_regular_file(path)  # a module replaced by a FIFO must not block the lookup
        except OSError:
            return None
        return current if digest(data) == recorded_digest else None


class _EntryView(Mapping[str, Entry]):
    """Raw entries seen as ``Entry`` objects, converted on access."""

    def __init__(self, raw: Mapping[str, RawEntry], dependencies: List[Dependency]) -> None:
        self._raw = raw
        self._dependencies = dependencies

    def __getitem__(self, path: str) -> Entry:
        return _entry(self._raw[path], self._dependencies)

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def _indexed(dependencies: List[Dependency]) -> Optional[Dict[Dependency, int]]:
    try:
        return {dependency: index for index, dependency in enumerate(dependencies)}
    except TypeError:  # something unhashable where a (path, stamp, digest) tuple belongs
        return None


def _compacted(
    dependencies: List[Dependency], entries: Dict[str, RawEntry]
) -> Tuple[List[Dependency], Dict[str, RawEntry]]:
    """Only the dependencies some entry still names, renumbered: a replaced entry's old modules
    must not pile up. A malformed entry is dropped."""
    kept: List[Dependency] = []
    renumbered: Dict[int, int] = {}
    compacted: Dict[str, RawEntry] = {}
    for path, raw in entries.items():
        try:
            indices = []
            for index in raw[3]:
                if index not in renumbered:
                    if not 0 <= index < len(dependencies):
                        raise IndexError(index)
                    renumbered[index] = len(kept)
                    kept.append(dependencies[index])
                indices.append(renumbered[index])
            if len(raw) == 5:
                compacted[path] = (*raw[:3], tuple(indices), raw[4])
        except _MALFORMED:
            continue
    return kept, compacted


def _mark_cache_folder(folder: Path) -> None:
    """As ruff does: git ignores the folder, backup tools skip it."""
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Automatically created by lrlint.\n*\n")
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by lrlint.\n"
        )


def _load(file: Path) -> Tuple[List[Dependency], Dict[str, RawEntry]]:
    """The dependency table and the raw entries, unconverted: a warm run looks at each entry once."""
    try:
        version, dependencies, raw = marshal.loads(file.read_bytes())
    except Exception:  # missing, truncated, from another Python or another layout: start empty
        return [], {}
    if version != _FORMAT or not isinstance(dependencies, list) or not isinstance(raw, dict):
        return [], {}
    return dependencies, raw


def _dump(entry: Entry, index_of: Callable[[Dependency], int]) -> RawEntry:
    result = entry.result
    return (
        tuple(entry.stamp),
        entry.digest,
        entry.settings,
        tuple(index_of(_plain(dependency)) for dependency in entry.dependencies),
        (result.path, tuple(_dump_diagnostic(d) for d in result.diagnostics), result.error),
    )


def _plain(dependency: Dependency) -> Dependency:
    """Tuples all through, as marshal gives them back: the dependency table is hashed."""
    path, stamp_, digest_ = dependency
    return path, tuple(stamp_), digest_  # type: ignore[return-value]


def _entry(value: RawEntry, dependencies: List[Dependency]) -> Entry:
    stamp_, digest_, settings, indices, result = value
    deps = tuple(dependencies[index] for index in indices)
    return Entry(tuple(stamp_), digest_, settings, deps, _result(result))  # type: ignore[arg-type]


def _result(value: tuple) -> FileResult:
    path, diagnostics, error = value
    return FileResult(path, tuple(map(_diagnostic, diagnostics)) if diagnostics else (), error)


def _dump_diagnostic(d: Diagnostic) -> tuple:
    fix = None
    if d.fix is not None:
        edits = tuple((e.line, e.column, e.end_line, e.end_column, e.content) for e in d.fix.edits)
        fix = (d.fix.message, edits, d.fix.applicability)
    return (d.code, d.message, d.path, d.line, d.column, d.end_line, d.end_column, d.cell, fix)


def _diagnostic(value: tuple) -> Diagnostic:
    *fields, fix = value
    if fix is not None:
        message, edits, applicability = fix
        fix = Fix(message, tuple(Edit(*edit) for edit in edits), applicability)
    return Diagnostic(*fields, fix=fix)


def dependencies_of(reads: Iterable[Tuple[str, int, int]]) -> Tuple[Dependency, ...]:
    """The project modules a check read (keys from ``project.recording_reads``), each with the
    stamp taken before it was read and the digest of what was read."""
    from .project import read_stamp_and_digest

    found = (read_stamp_and_digest(key) for key in sorted(reads))
    return tuple((path, stamp_, digest_) for (path, _, _), (stamp_, digest_) in zip(sorted(reads), found) if stamp_)
