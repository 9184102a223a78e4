"""Checking many files: through the result cache, in a pool of processes, in a stable order.

Files are handed to the workers in runs of neighbours (the order `discover` sorts them in), so a
worker that parsed a folder's shared modules (`utils.py`, `engine.py`) keeps reusing them; the
runs with the most bytes start first, so that no large run is left for last; and results come
back in the order the files were given, whatever finished first.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .cache import Entry, ResultCache, dependencies_of, digest, settings_fingerprint, stamp
from .diagnostics import FileResult
from .files import read_regular_file

if TYPE_CHECKING:
    import multiprocessing.context
    from concurrent.futures import Future

# Below this many files to check, starting processes costs more than it saves.
MIN_FILES_FOR_POOL = 16
# How often a worker checks that the lrlint that started it is still there.
PARENT_CHECK_SECONDS = 0.5
# Seconds of CPU time one file may take (`--timeout`, `timeout` in the config; 0: no limit).
DEFAULT_TIMEOUT = 30.0
# Allocations between two collections of CPython's youngest generation while files are checked
# (CPython's default: 700). See ``fewer_collections``.
YOUNG_GENERATION_THRESHOLD = 100_000


# Job, Checked: named tuples rather than dataclasses, for a warm run makes a Job per file and
# builds each class at start-up (a dataclass costs several times more in both).
class Job(NamedTuple):
    """One file to check, with the settings of the config that governs it."""

    path: str
    display: str
    codes: FrozenSet[str]
    schedulers: Mapping[str, Tuple[str, ...]]
    timeout: float = 0.0  # seconds of CPU time; 0: no limit
    size: int = 0  # bytes, as discovery found them: which runs of files to start first
    cached: bool = True  # the result is stored: what it depends on is recorded (stamps, digests)

    @property
    def settings(self) -> str:
        return settings_fingerprint(self.codes, self.schedulers, self.display)


class Checked(NamedTuple):
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
        cache.lookup(absolute_path(job.path), job.settings) if cache is not None else None for job in jobs
    ]
    pending = [
        job if cache is not None else job._replace(cached=False) for job, hit in zip(jobs, cached) if hit is None
    ]
    computed = _check_all(pending, workers)
    for job, hit in zip(jobs, cached):
        if hit is not None:
            yield hit
            continue
        checked = next(computed)
        if cache is not None and checked.entry is not None:
            cache.store(absolute_path(job.path), checked.entry)
        yield checked.result


def absolute_path(path: str) -> str:
    """``os.path.abspath(path)``, which a path discovery found already is (absolute, normalized):
    those are told by a few substring tests, as ``normpath`` (Python code before 3.12) costs more
    than the cache lookup the path is for."""
    if os.sep == "/" and path[:1] == "/" and "//" not in path and "/." not in path and path[-1:] != "/":
        return path
    return os.path.abspath(path)


def check_one(job: Job) -> Checked:
    """Check one file and, for the cache, record what its result depends on."""
    # Imported here: a run whose files are all cached never loads the analysis.
    from .engine import lint_bytes, lint_file, unanalyzable_result
    from .project import recording_reads

    before = stamp(job.path) if job.cached else None  # None: no entry is made (--no-cache)
    try:
        data = read_regular_file(job.path)
    except OSError:
        return Checked(lint_file(job.path, job.codes, job.display, job.schedulers), None)  # reports why
    with recording_reads() as reads:
        try:
            with time_limit(job.timeout) as limit:
                result = lint_bytes(data, job.path, job.codes, job.display, job.schedulers)
        except TimeLimitExceeded:
            pass  # limit.expired says so
    # Asked of the limit, not of the exception: cleanup code on the way (libcst's) can turn the
    # exception into another one, which lint_bytes then reports as an internal error.
    if limit.expired:  # not cached: the next run tries again, maybe with a higher limit
        reason = (
            f"analysis took longer than {job.timeout:g} s of CPU time and was stopped; "
            "raise the limit with `--timeout SECONDS`"
        )
        return Checked(unanalyzable_result(job.display, reason, job.codes), None)
    if before is None or result.error is not None:  # an internal error is worth retrying next time
        return Checked(result, None)
    return Checked(result, Entry(before, digest(data), job.settings, dependencies_of(reads), result))


class TimeLimitExceeded(BaseException):
    """A file used up its time. A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` in the analysis (or in libcst) swallows it."""


class Limit:
    expired = False  # set when the time was up, whatever became of the exception


# After the limit, the exception is raised again at this interval (CPU seconds) until the block
# ends: code that swallows it does not escape the limit.
_REPEAT = 0.1


@contextmanager
def time_limit(seconds: float) -> Iterator[Limit]:
    """Raise ``TimeLimitExceeded`` in the block once this process has spent ``seconds`` of CPU time
    in it. CPU time, not wall time: a file must not fail because the machine is busy.

    It needs SIGPROF and the main thread (the pool's workers run jobs there); elsewhere (Windows,
    another thread), with 0, or while a profiler samples with the same timer, there is no limit.
    The signal is handled between Python bytecodes, so libcst's native parser finishes its stage
    before the limit takes effect."""
    limit = Limit()
    if (
        seconds <= 0
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_PROF)[0] > 0
    ):
        yield limit
        return

    def time_is_up(signum: int, frame: Any) -> None:
        if _importing(frame):  # lrlint's own lazy imports: never half-done, and not the file's time
            signal.setitimer(signal.ITIMER_PROF, seconds, _REPEAT)
            return
        limit.expired = True
        raise TimeLimitExceeded()

    previous = signal.signal(signal.SIGPROF, time_is_up)
    signal.setitimer(signal.ITIMER_PROF, seconds, _REPEAT)
    try:
        yield limit
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous if previous is not None else signal.SIG_DFL)


def _importing(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _check_all(jobs: List[Job], workers: int) -> Iterator[Checked]:
    if workers <= 1 or len(jobs) < MIN_FILES_FOR_POOL:
        yield from _check_here(jobs)
        return
    from concurrent.futures import ProcessPoolExecutor  # imported here: a small run needs no pool
    from concurrent.futures.process import BrokenProcessPool

    # Files go to the workers in runs of neighbours (see the module docstring), several runs per
    # worker, and the runs with the most bytes first: a run of giants (transformers' trainer.py
    # and testing_utils.py share one) handed out last kept one worker busy for seconds after the
    # other had finished. The results still come back in the order of ``jobs``.
    size = max(1, min(64, len(jobs) // (workers * 4)))
    runs = [jobs[start : start + size] for start in range(0, len(jobs), size)]
    done = 0
    try:
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=_context(), initializer=_start_worker, initargs=(os.getpid(),)
        )
        with pool:
            submitted: Dict[int, "Future[List[Checked]]"] = {}  # by the run's place in ``runs``
            try:
                for index in sorted(range(len(runs)), key=lambda index: -sum(job.size for job in runs[index])):
                    submitted[index] = pool.submit(_check_run, runs[index])
                for index in range(len(runs)):
                    for checked in submitted[index].result():
                        done += 1
                        yield checked
            finally:  # Ctrl-C, or a caller that stops reading: runs not started are dropped, as map() does
                for future in submitted.values():
                    future.cancel()
    except (BrokenProcessPool, OSError, PermissionError):
        # No processes here (a sandbox without semaphores) or a worker was killed: finish alone.
        yield from _check_here(jobs[done:])


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run CPython's cyclic garbage collector less often in the block, as mypy does for its runs.

    A check allocates millions of objects (libcst's nodes, the model) that live until the file is
    done and hardly ever form cycles. At CPython's default thresholds the collector kept walking
    them, and took about a seventh of a cold run over the benchmark's library corpus while
    finding next to nothing to free. With a threshold of 100,000 the run is about that much
    faster, and a worker's peak memory grows by about 5%. The previous thresholds come back
    after the block: a program that calls lrlint keeps its own."""
    previous = _collect_young_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _collect_young_less_often() -> Tuple[int, ...]:
    """Raise the young generation's threshold, keeping the others; the thresholds before."""
    previous = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *previous[1:])
    return previous


def _start_worker(parent: int) -> None:
    """A pool worker: it checks files until it ends (a forked one inherits the threshold already)."""
    _collect_young_less_often()
    _end_with(parent)


def _end_with(parent: int) -> None:
    """Make this worker exit once ``parent`` (the lrlint that started it) is gone: killed by
    SIGKILL, the OOM killer or a CI timeout, it cannot shut the pool down, and a worker waiting on
    the pool's queue would wait forever (each worker holds the queue open for the others)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="lrlint-parent-watch", daemon=True).start()


def _check_run(run: List[Job]) -> List[Checked]:
    return list(_check_here(run))


def _check_here(jobs: Sequence[Job]) -> Iterator[Checked]:
    """Check the jobs in this process, in order, telling the analysis which of them are still to
    come (see ``project.checked_later``)."""
    from .project import checked_later

    paths = [absolute_path(job.path) for job in jobs]
    with checked_later(paths) as later:
        for job, path in zip(jobs, paths):
            later.discard(path)
            yield check_one(job)


def _context() -> "multiprocessing.context.BaseContext":
    """fork on Linux: a worker starts with lrlint already imported (tens of milliseconds saved
    per worker); elsewhere the platform's default."""
    import multiprocessing

    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
