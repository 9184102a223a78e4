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
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Mapping, Optional, Tuple

from . import __version__
from .diagnostics import Diagnostic, FileResult
from .files import read_regular_file
from .fixes import Edit, Fix

CACHE_DIR_NAME = ".lrlint_cache"
_FORMAT = 1  # bump when the entry layout changes

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
    """What besides the bytes decides a file's result."""
    declared = tuple(sorted((cadence, tuple(sorted(names))) for cadence, names in schedulers.items()))
    return _shared_settings(frozenset(codes), declared) + repr(display)


@lru_cache(maxsize=64)  # a run has one or a few configs, and thousands of files
def _shared_settings(codes: FrozenSet[str], declared: tuple) -> str:
    return repr((__version__, _code_stamp(), _FORMAT, sorted(codes), declared))


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    """lrlint's own code, by the size and modification time of its files: a git checkout or an
    editable install changes the code without changing the version, and must not reuse results."""
    package = Path(__file__).resolve().parent
    files = []
    for path in sorted(package.rglob("*.py")):
        try:
            status = path.stat()
        except OSError:
            continue
        files.append(f"{path.relative_to(package)} {status.st_size} {status.st_mtime_ns}")
    return hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]


@dataclass
class Entry:
    stamp: Stamp
    digest: bytes
    settings: str
    dependencies: Tuple[Dependency, ...]
    result: FileResult


class ResultCache:
    """Results by absolute path, loaded once per run and saved once at its end."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / __version__ / "results.marshal"
        self.entries: Dict[str, Entry] = _load(self.file)
        self.changed = False
        # Many files follow the same few modules: each is judged once per run.
        self._judged: Dict[Tuple[str, Stamp, bytes], bool] = {}

    def lookup(self, path: str, settings: str) -> Optional[FileResult]:
        """The cached result when the file and every module it read are as they were."""
        entry = self.entries.get(path)
        if entry is None or entry.settings != settings:
            return None
        current = _unchanged(path, entry.stamp, entry.digest)
        if current is None:
            return None
        if current != entry.stamp:  # touched, same bytes: remember the new stamp
            entry.stamp = current
            self.changed = True
        if not all(self._still(*dependency) for dependency in entry.dependencies):
            return None
        return entry.result

    def _still(self, path: str, recorded: Stamp, recorded_digest: bytes) -> bool:
        key = (path, recorded, recorded_digest)
        if key not in self._judged:
            self._judged[key] = _unchanged(path, recorded, recorded_digest) is not None
        return self._judged[key]

    def store(self, path: str, entry: Entry) -> None:
        self.entries[path] = entry
        self.changed = True

    def save(self) -> None:
        """Write the cache atomically; a cache that cannot be written is silently skipped."""
        if not self.changed:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            _mark_cache_folder(self.file.parents[1])
            data = marshal.dumps((_FORMAT, {path: _dump(entry) for path, entry in self.entries.items()}))
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


def _unchanged(path: str, recorded: Stamp, recorded_digest: bytes) -> Optional[Stamp]:
    """The file's current stamp when its bytes are still ``recorded_digest``, else None."""
    current = stamp(path)
    if current is None:
        return None
    if current == recorded:
        return current
    try:
        data = read_regular_file(path)  # a module replaced by a FIFO must not block the lookup
    except OSError:
        return None
    return current if digest(data) == recorded_digest else None


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


def _load(file: Path) -> Dict[str, Entry]:
    try:
        version, raw = marshal.loads(file.read_bytes())
        if version != _FORMAT:
            return {}
        return {path: _entry(value) for path, value in raw.items()}
    except Exception:  # missing, truncated, from another Python: start empty
        return {}


def _dump(entry: Entry) -> tuple:
    result = entry.result
    return (
        entry.stamp,
        entry.digest,
        entry.settings,
        entry.dependencies,
        (result.path, tuple(_dump_diagnostic(d) for d in result.diagnostics), result.error),
    )


def _entry(value: tuple) -> Entry:
    stamp_, digest_, settings, dependencies, (path, diagnostics, error) = value
    result = FileResult(path, tuple(_diagnostic(d) for d in diagnostics), error)
    deps = tuple((path_, tuple(stamp__), digest__) for path_, stamp__, digest__ in dependencies)
    return Entry(tuple(stamp_), digest_, settings, deps, result)  # type: ignore[arg-type]


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
