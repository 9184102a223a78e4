"""Checking many files: through the result cache, in a pool of processes, in a stable order.

Files are handed to the workers in runs of neighbours (the order `discover` sorts them in), so a
worker that parsed a folder's shared modules (`utils.py`, `engine.py`) keeps reusing them, and
results come back in the order the files were given, whatever finished first.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, FrozenSet, Iterator, List, Mapping, Optional, Sequence, Tuple

from .cache import Entry, ResultCache, dependencies_of, digest, settings_fingerprint, stamp
from .diagnostics import FileResult
from .engine import lint_bytes, lint_file
from .project import recording_reads

if TYPE_CHECKING:
    import multiprocessing.context

# Below this many files to check, starting processes costs more than it saves.
MIN_FILES_FOR_POOL = 16


@dataclass(frozen=True)
class Job:
    """One file to check, with the settings of the config that governs it."""

    path: str
    display: str
    codes: FrozenSet[str]
    schedulers: Mapping[str, Tuple[str, ...]]

    @property
    def settings(self) -> str:
        return settings_fingerprint(self.codes, self.schedulers, self.display)


@dataclass(frozen=True)
class Checked:
    result: FileResult
    entry: Optional[Entry]  # what the cache keeps; None when the result must not be reused


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (containers, taskset)
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_files(jobs: Sequence[Job], cache: Optional[ResultCache] = None, workers: int = 1) -> Iterator[FileResult]:
    """The result of every job, in the order given; cached results are reused and new ones stored."""
    cached: List[Optional[FileResult]] = [
        cache.lookup(os.path.abspath(job.path), job.settings) if cache is not None else None for job in jobs
    ]
    pending = [job for job, hit in zip(jobs, cached) if hit is None]
    computed = _check_all(pending, workers)
    for job, hit in zip(jobs, cached):
        if hit is not None:
            yield hit
            continue
        checked = next(computed)
        if cache is not None and checked.entry is not None:
            cache.store(os.path.abspath(job.path), checked.entry)
        yield checked.result


def check_one(job: Job) -> Checked:
    """Check one file and record what its result depends on."""
    before = stamp(job.path)
    try:
        data = Path(job.path).read_bytes()
    except OSError:
        return Checked(lint_file(job.path, job.codes, job.display, job.schedulers), None)  # reports why
    with recording_reads() as reads:
        result = lint_bytes(data, job.path, job.codes, job.display, job.schedulers)
    if before is None or result.error is not None:  # an internal error is worth retrying next time
        return Checked(result, None)
    return Checked(result, Entry(before, digest(data), job.settings, dependencies_of(reads), result))


def _check_all(jobs: List[Job], workers: int) -> Iterator[Checked]:
    if workers <= 1 or len(jobs) < MIN_FILES_FOR_POOL:
        yield from map(check_one, jobs)
        return
    from concurrent.futures import ProcessPoolExecutor  # imported here: a small run needs no pool
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
            # Several runs per worker balance a folder of giants against a folder of small files.
            chunk = max(1, min(64, len(jobs) // (workers * 4)))
            for checked in pool.map(check_one, jobs, chunksize=chunk):
                done += 1
                yield checked
    except (BrokenProcessPool, OSError, PermissionError):
        # No processes here (a sandbox without semaphores) or a worker was killed: finish alone.
        yield from map(check_one, jobs[done:])


def _context() -> "multiprocessing.context.BaseContext":
    """fork on Linux: a worker starts with lrlint already imported (tens of milliseconds saved
    per worker); elsewhere the platform's default."""
    import multiprocessing

    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
