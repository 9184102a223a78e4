"""The learning-rate trace: the rate each optimizer step trained with, as CSV rows.

``lrlint.guard(scheduler, trace="lr.csv")`` taps the optimizer the scheduler drives: a step
pre-hook reads ``param_groups[g]["lr"]`` just before each ``optimizer.step()`` runs, which is the
rate that step trains with. A step the GradScaler skips never calls ``optimizer.step()`` and
writes no row. The columns are ``preview.plan.CSV_COLUMNS``, which ``lrlint preview --trace``
draws again: ``recorded,<scheduler>,<update>,,<group>,<lr>``. The scheduler is its class name
(``StepLR#2`` for the second StepLR in one file); ``update`` counts the optimizer's steps from 0 at
the first one traced; the epoch is left empty because it is unknown at run time; ``lr`` is the
float's ``repr``, so it reads back bit for bit.

How it stays out of training's way:
- The trace only reads training's state: it adds no optimizer or scheduler state and nothing to
  ``state_dict()``. Under ``torch.compile(optimizer.step)`` it runs eagerly, adding no graph.
  The hook is a module-level function, so a pickled optimizer stays picklable (torch does not
  pickle hooks anyway). A scheduler rebuilt by unpickling is guarded again but not traced.
- Per optimizer step it reads the learning rates and queues one row per param group. A daemon
  thread writes the queued rows every ``FLUSH_SECONDS``, whole lines in one ``write()``; so do
  the end of ``guarded()``, the garbage collection of the optimizer, the exit of the interpreter
  and a queue of ``FLUSH_STEPS`` steps. A run that raises loses no row; a process killed outright
  (SIGKILL, or SIGTERM's default action) loses at most its last second of rows, and the file still
  holds only complete lines.
- A learning rate held in a tensor on an accelerator is copied on the device and read when the
  rows are written. That synchronises the device once per write, not once per step.
- Tracing is separate from the checks: it goes on when the guard stands aside, and an error of its
  own (a missing folder, a full disk, a bug) warns once and turns tracing off, never training.
- Under torch.distributed only rank 0 writes. With ``LRLINT_ALL_RANKS=1`` every rank writes, and
  rank N writes to ``lr.rankN.csv`` so that the ranks do not share one file.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
import weakref
from collections import Counter, deque
from typing import Any, Deque, Dict, List, Optional, Tuple

import torch

from ..preview.plan import CSV_COLUMNS
from . import PathLike
from .errors import _warn_at_user_line
from .signals import torch_optimizer

logger = logging.getLogger("lrlint")
FLUSH_STEPS = 1000  # optimizer steps queued before the training thread writes them itself
FLUSH_SECONDS = 1.0  # how often the flusher thread writes the queued rows
HEADER = ",".join(CSV_COLUMNS) + "\n"
Row = Tuple[str, int, List[Any]]  # the line's start ("recorded,<label>,"), the update, one lr per group


class TraceWriter:
    """One trace file, shared by every optimizer traced into it. The file is opened when the first
    row comes, and the header is written then. Steps queue rows; ``flush()`` writes them, from the
    training thread every ``FLUSH_STEPS`` steps and from the flusher thread every second."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file: Optional[Any] = None  # an unbuffered binary file: one write() is one system call
        self.off = False  # not this rank's file, or tracing failed: rows are dropped
        self.pending: Deque[Row] = deque()  # appended by steps, popped by flush() in any thread
        self.labels: "Counter[str]" = Counter()
        self.pid = os.getpid()
        # Reentrant: a finalizer (an optimizer garbage collected) may flush from inside a flush.
        self.lock = threading.RLock()
        self.writing = False

    def label(self, name: str) -> str:
        """``name``, or ``name#2``, ``name#3``... for the next scheduler of the same class."""
        self.labels[name] += 1
        count = self.labels[name]
        return name if count == 1 else f"{name}#{count}"

    def add(self, row: Row) -> None:
        if self.file is None and not self.off:
            self.open()
        if self.off:
            return
        self.pending.append(row)
        if len(self.pending) >= FLUSH_STEPS:
            self.flush()

    def open(self) -> None:
        path = _path_on_this_rank(self.path)
        if path is None:  # another rank writes the trace
            self.off = True
            return
        try:
            self.file = open(path, "wb", buffering=0)
            _write_all(self.file, HEADER.encode())
        except OSError as error:
            self.fail(f"cannot write the learning-rate trace to {path} ({error.strerror or error!r})")
            return
        self.pid = os.getpid()
        _start_flusher()

    def flush(self) -> None:
        """Write the queued rows: whole lines, in one ``write()``."""
        if not self.pending or os.getpid() != self.pid:
            return  # a forked process (a DataLoader worker) never writes its parent's file
        with self.lock:
            if self.writing or self.file is None:
                return
            self.writing = True
            try:
                rows = [self.pending.popleft() for _ in range(len(self.pending))]
                _write_all(self.file, _lines(rows).encode())
            except OSError as error:
                self.fail(f"stopped writing the learning-rate trace to {self.path} ({error.strerror or error!r})")
            finally:
                self.writing = False

    def close(self) -> None:
        if os.getpid() != self.pid:
            return  # a forked child: the lock may have been held when it forked
        self.flush()
        with self.lock:
            if self.file is not None:
                with contextlib.suppress(OSError):
                    self.file.close()
            self.file = None

    def fail(self, reason: str) -> None:
        """Tracing into this file is off from now on; one warning says why."""
        self.off = True
        self.pending.clear()
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None
        warn(f"lrlint: {reason}; tracing is off, training goes on")


class Tap:
    """One optimizer traced into one file: the label of its rows and its optimizer-step count."""

    def __init__(self, writer: TraceWriter, scheduler: Any) -> None:
        self.writer = writer
        self.name = type(scheduler).__name__
        self.owner = id(scheduler)  # the scheduler that names the rows
        self.start: Optional[str] = None  # "recorded,<label>,": the label is taken at the first row
        self.update = 0

    def adopt(self, scheduler: Any) -> None:
        """A SequentialLR or ChainedScheduler around the scheduler that names the rows names them
        instead, unless rows were written already (the label of a curve never changes)."""
        if self.start is None and self.owner in {id(inner) for inner in _inner_schedulers(scheduler)}:
            self.name, self.owner = type(scheduler).__name__, id(scheduler)

    def record(self, groups: List[Dict[str, Any]]) -> None:
        writer = self.writer
        if writer.off:
            return
        if self.start is None:
            self.start = f"recorded,{_csv_field(writer.label(self.name))},"
        writer.add((self.start, self.update, [_value(group["lr"]) for group in groups]))
        self.update += 1


class Stopped:
    stopped = False  # tracing hit an internal error


STOPPED = Stopped()
_WRITERS: Dict[str, TraceWriter] = {}
# Keyed by id(optimizer), dropped by a weakref.finalize: one dictionary lookup per optimizer step.
_TAPS: Dict[int, List[Tap]] = {}


def start_trace(scheduler: Any, path: str) -> None:
    """Trace the learning rates of ``scheduler``'s optimizer into ``path`` (an absolute path).
    Each optimizer step is written once per file, however many schedulers drive the optimizer."""
    if STOPPED.stopped:
        return
    try:
        _start(scheduler, path)
    except Exception as error:
        stop_tracing(error)


def _start(scheduler: Any, path: str) -> None:
    optimizer = torch_optimizer(scheduler.optimizer)
    writer = _WRITERS.get(path)
    if writer is None:
        writer = _WRITERS[path] = TraceWriter(path)
    taps = _TAPS.get(id(optimizer))
    if taps is None:
        taps = _TAPS[id(optimizer)] = []
        weakref.finalize(optimizer, _forget, id(optimizer))
        if _on_optimizer_step not in optimizer._optimizer_step_pre_hooks.values():
            optimizer.register_step_pre_hook(_on_optimizer_step)
    for tap in taps:
        if tap.writer is writer:
            tap.adopt(scheduler)
            return
    taps.append(Tap(writer, scheduler))


def _on_optimizer_step(optimizer: Any, args: Any, kwargs: Any) -> None:
    """The step pre-hook: the learning rates this step is about to train with."""
    taps = _TAPS.get(id(optimizer))
    if taps:
        (_record if _eager() else _record_uncompiled)(optimizer, taps)


def _record(optimizer: Any, taps: List[Tap]) -> None:
    try:
        for tap in taps:
            tap.record(optimizer.param_groups)
    except Exception as error:  # a bug of ours: tracing stops, training goes on
        stop_tracing(error)


# Under torch.compile(optimizer.step) the trace runs eagerly, never compiled: Dynamo would compile
# its frames and break the graph inside torch's loop over the hooks, with warnings, to read a
# learning rate held in a tensor. Outside torch.compile the plain call saves ~1 µs per step, and
# torch._dynamo (seconds to import) is not imported for the trace.
_eval_frame = getattr(getattr(torch._C, "_dynamo", None), "eval_frame", None)
_callback = getattr(_eval_frame, "get_eval_frame_callback", None)
_UNCOMPILED: List[Any] = []  # _record under torch.compiler.disable, made when first needed


def _eager() -> bool:
    """Whether no torch.compile is running (where torch cannot tell: whether Dynamo is imported)."""
    if _callback is None:
        return "torch._dynamo" not in sys.modules
    return not torch.compiler.is_compiling() and _callback() is None  # Dynamo cannot trace _callback


def _record_uncompiled(optimizer: Any, taps: List[Tap]) -> None:
    if not _UNCOMPILED:
        _UNCOMPILED.append(torch.compiler.disable(_record))
    _UNCOMPILED[0](optimizer, taps)


def stop_tracing(error: Exception) -> None:
    """An internal error: no optimizer is traced from now on (what failed would fail again)."""
    STOPPED.stopped = True
    _TAPS.clear()
    flush_traces()
    warn(f"lrlint: the learning-rate trace stopped after an internal error: {error!r}; training goes on")


def flush_traces() -> None:
    """Write every queued row now (``guarded()`` does when it ends)."""
    for writer in list(_WRITERS.values()):
        try:
            writer.flush()
        except Exception as error:
            writer.fail(f"stopped writing the learning-rate trace to {writer.path} ({error!r})")


def _forget(optimizer_id: int) -> None:
    """The optimizer was garbage collected: its rows are written now."""
    for tap in _TAPS.pop(optimizer_id, ()):
        with contextlib.suppress(Exception):
            tap.writer.flush()


_FLUSHER: Dict[int, threading.Thread] = {}  # by process id: a forked child starts its own


def _start_flusher() -> None:
    if os.getpid() not in _FLUSHER:
        thread = threading.Thread(target=_flush_periodically, name="lrlint-trace", daemon=True)
        _FLUSHER[os.getpid()] = thread
        thread.start()


def _flush_periodically() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush_traces()
        except Exception:  # flush_traces() turns a file's tracing off itself; never a traceback here
            pass


@atexit.register
def _close_at_exit() -> None:
    for writer in list(_WRITERS.values()):
        with contextlib.suppress(Exception):
            writer.close()


# -- helpers -----------------------------------------------------------------------------------


def _value(lr: Any) -> Any:
    """The learning rate as a float, or, for a tensor on an accelerator, a copy of it on the device
    read when the rows are written (reading it now would synchronise the device every step)."""
    if type(lr) is float:
        return lr
    device = getattr(lr, "device", None)
    if device is not None and device.type != "cpu":
        return lr.detach().clone()
    return float(lr)


def _lines(rows: List[Row]) -> str:
    parts = []
    for start, update, lrs in rows:
        head = f"{start}{update},,"
        for group, lr in enumerate(lrs):
            parts.append(f"{head}{group},{lr if type(lr) is float else float(lr)!r}\n")
    return "".join(parts)


def _write_all(file: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[file.write(view) :]


def _csv_field(text: str) -> str:
    if any(character in text for character in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _inner_schedulers(scheduler: Any) -> List[Any]:
    """The schedulers a SequentialLR or ChainedScheduler steps, at any depth."""
    found: List[Any] = []
    for inner in getattr(scheduler, "_schedulers", None) or ():
        found += [inner, *_inner_schedulers(inner)]
    return found


def _path_on_this_rank(path: str) -> Optional[str]:
    """Where this process writes the trace: rank 0 (or a run without torch.distributed) writes
    ``path``; another rank writes nothing, or ``<path>.rankN<suffix>`` with LRLINT_ALL_RANKS=1."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0:
        return path
    if os.environ.get("LRLINT_ALL_RANKS") != "1":
        return None
    root, suffix = os.path.splitext(path)
    return f"{root}.rank{dist.get_rank()}{suffix}"


def trace_path(trace: Optional[PathLike]) -> Optional[str]:
    """The trace's absolute path (relative to the working directory now), or None; a TypeError
    for something that is not a path."""
    if trace is None:
        return None
    if not isinstance(trace, (str, os.PathLike)):
        raise TypeError(f"trace must be a path, not {type(trace).__name__}")
    return os.path.abspath(os.fspath(trace))


def warn(text: str) -> None:
    """A one-line warning at the user's line (a log line where the user's filters make warnings
    errors); never raises."""
    try:
        _warn_at_user_line(text)
    except Exception:
        with contextlib.suppress(Exception):
            logger.warning(text)
