"""Hostile files and folder entries: each is an LR000 finding or a one-line skip on stderr, never
a hang, a crash or a traceback; and a file that takes too long is stopped by the time limit.

Every command line runs under a limit (a subprocess timeout, or faulthandler's watchdog for the
in-process runs), so that a regression that hangs fails the test instead of stalling CI. No
assertion is about speed.
"""

from __future__ import annotations

import errno
import faulthandler
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
from conftest import invoke

from lrlint import batch, engine
from lrlint.batch import TimeLimitExceeded, time_limit
from lrlint.cache import ResultCache
from lrlint.engine import lint_file, parse_module_safely

RUN_LIMIT = 300  # seconds after which a run counts as hung
SCHEDULER = (
    "import torch\n"
    "opt = torch.optim.SGD([], lr=0.1)\n"
    "scheduler = torch.optim.lr_scheduler.StepLR(opt, 10)\n"
)  # names a scheduler, so the pre-filter lets the file through to the parser
MISUSE = "for epoch in range(3):\n    scheduler.step()\n    opt.step()\n"  # LR001 at 5:5 after SCHEDULER
POSIX = pytest.mark.skipif(os.name != "posix", reason="FIFOs, sockets and symlinks as POSIX has them")
HAS_CPU_TIMER = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGPROF timer: no time limit")


@dataclass(frozen=True)
class Expect:
    """What the run must say about one entry: a finding (code, text in its message, line, column)
    or, with ``skipped``, a warning on stderr."""

    code: Optional[str] = None
    text: str = ""
    line: Optional[int] = None
    column: Optional[int] = None
    skipped: bool = False


NOTHING = Expect()


def _tab_error_message(text: str) -> str:
    try:
        compile(text, "tabs.py", "exec")
    except TabError as error:
        return error.msg
    raise AssertionError("expected a TabError")


def _write(root: Path, name: str, data: bytes) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _regular_files(root: Path) -> Dict[str, Expect]:
    crlf_lf_cr = (
        "import torch\r\nopt = torch.optim.SGD([], lr=0.1)\n"
        "scheduler = torch.optim.lr_scheduler.StepLR(opt, 10)\r"
        "for epoch in range(3):\r\n    scheduler.step()\n    opt.step()\r"
    )
    tabs = SCHEDULER + "if True:\n        x = 1\n\ty = 2\n"
    cases: Dict[str, Tuple[bytes, Expect]] = {
        "real.py": ((SCHEDULER + MISUSE).encode(), Expect("LR001", "scheduler.step()", 5, 5)),
        "empty.py": (b"", NOTHING),
        "nul.py": (SCHEDULER.encode() + b"x = 1\x00\n", Expect("LR000", "contains a NUL byte", 4, 6)),
        "bom.py": (b"\xef\xbb\xbf" + (SCHEDULER + MISUSE).encode(), Expect("LR001", "scheduler.step()", 5, 5)),
        "utf16.py": ((SCHEDULER + MISUSE).encode("utf-16"), Expect("LR000", "UTF-16", 1, 1)),
        "cr_only.py": ((SCHEDULER + MISUSE).replace("\n", "\r").encode(), Expect("LR001", "scheduler.step()", 5, 5)),
        "mixed_eol.py": (crlf_lf_cr.encode(), Expect("LR001", "scheduler.step()", 5, 5)),
        "cr_undecodable.py": (
            (SCHEDULER + "y = 2\n").replace("\n", "\r").encode() + b"x = '\xff'\r",
            Expect("LR000", "byte 0xff is not valid utf-8", 5, 6),
        ),
        "undecodable.py": (SCHEDULER.encode() + b"x = '\xe9t\xe9'\n", Expect("LR000", "byte 0xe9", 4, 6)),
        "tabs.py": (tabs.encode(), Expect("LR000", f"syntax error: {_tab_error_message(tabs)}", 6)),
        "deep_parens.py": (
            (SCHEDULER + "x = " + "(" * 500 + "1" + ")" * 500 + "\n").encode(),
            Expect("LR000", "syntax error: too many nested parentheses", 4),
        ),
        # libcst's native parser crashed (SIGSEGV) on these before CPython's parser vetted them
        "deep_brackets.py": (
            (SCHEDULER + "x = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
            Expect("LR000", "syntax error: too many nested parentheses", 4),
        ),
        "deep_unary.py": ((SCHEDULER + "x = " + "-" * 10000 + "1\n").encode(), Expect("LR000", "too deeply nested")),
        "long_and_chain.py": (
            (SCHEDULER + "x = " + " and ".join(["a"] * 10000) + "\n").encode(),
            Expect("LR000", "too deeply nested to parse (more than 1000 operands of `and`/`or` in a row)"),
        ),
        "deep_ifs.py": (
            (SCHEDULER + "".join(" " * depth + "if x:\n" for depth in range(500)) + " " * 500 + "pass\n").encode(),
            Expect("LR000", "syntax error: too many levels of indentation"),
        ),
        # a folder named like a source file is walked as a folder
        "folder.py/inner.py": ((SCHEDULER + MISUSE).encode(), Expect("LR001", "scheduler.step()", 5, 5)),
    }
    for name, (data, _) in cases.items():
        _write(root, name, data)
    (root / "empty_folder.py").mkdir()
    return {name: expect for name, (_, expect) in cases.items()}


def _special_entries(root: Path) -> Dict[str, Expect]:
    """FIFOs, a socket and symlinks that cannot be followed; relative names, since a socket's
    path is limited to about 100 bytes."""
    previous = os.getcwd()
    os.chdir(root)
    try:
        os.mkfifo("fifo.py")
        os.mkfifo(".gitignore")  # read for its patterns: opening it must not wait for a writer
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind("socket.py")
        os.symlink("loop_b.py", "loop_a.py")
        os.symlink("loop_a.py", "loop_b.py")
        os.symlink("missing.py", "dangling.py")
        os.mkdir("sub")
        os.symlink("..", os.path.join("sub", "up"))  # a folder loop: symlinked folders are not walked
    finally:
        os.chdir(previous)
    loop = os.strerror(errno.ELOOP)
    return {
        "fifo.py": Expect(text="not a regular file (a FIFO)", skipped=True),
        "socket.py": Expect(text="not a regular file (a socket)", skipped=True),
        "loop_a.py": Expect(text=loop, skipped=True),
        "loop_b.py": Expect(text=loop, skipped=True),
        "dangling.py": Expect(text="broken symbolic link", skipped=True),
    }


def _unreadable(root: Path) -> Dict[str, Expect]:
    """A file and a folder without permissions. Whether this user reads them anyway (root, or a
    sandbox that bends permissions) is probed for each, since one does not tell the other."""
    (root / "unreadable.py").write_text(SCHEDULER + MISUSE)
    (root / "locked").mkdir()
    (root / "locked" / "inner.py").write_text(SCHEDULER + MISUSE)
    for path in (root / "unreadable.py", root / "locked"):
        path.chmod(0)
    expected = {"unreadable.py": _expect_for_file(root / "unreadable.py")}
    try:
        os.listdir(root / "locked")
    except OSError as error:
        expected["locked"] = Expect(text=error.strerror or str(error), skipped=True)
    else:
        expected["locked/inner.py"] = _expect_for_file(root / "locked" / "inner.py")
    return expected


def _expect_for_file(path: Path) -> Expect:
    """LR001 where this user can read the file, else LR000 naming the reason."""
    try:
        path.read_bytes()
    except OSError as error:
        return Expect("LR000", f"cannot read: {error.strerror or error}", 1, 1)
    return Expect("LR001", "scheduler.step()", 5, 5)


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Tuple[Path, Dict[str, Expect]]]:
    root = tmp_path / "tree"
    root.mkdir()
    expected = {**_regular_files(root), **_unreadable(root)}
    if os.name == "posix":
        expected.update(_special_entries(root))
    yield root, expected
    for name in ("unreadable.py", "locked"):
        (root / name).chmod(0o755)  # so that pytest can remove them


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str


def run_subprocess(args: Sequence[str], cwd: Path, prelude: str = "") -> Run:
    """``lrlint ARGS`` in a fresh interpreter (``prelude`` runs first, to patch lrlint)."""
    if prelude:
        command = [sys.executable, "-c", f"{prelude}\nimport sys\nfrom lrlint.cli import main\nsys.exit(main())"]
    else:
        command = [sys.executable, "-m", "lrlint"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("LRLINT_")}
    try:
        done = subprocess.run(command + list(args), cwd=cwd, capture_output=True, text=True, timeout=RUN_LIMIT, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"lrlint {' '.join(args)} ran longer than {RUN_LIMIT} s: it hangs")
    return Run(done.returncode, done.stdout, done.stderr)


@contextmanager
def watchdog() -> Iterator[None]:
    """An in-process run cannot be timed out: should it hang, dump the stacks and exit."""
    faulthandler.dump_traceback_later(RUN_LIMIT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def run_in_process(args: Sequence[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("LRLINT_OUTPUT_FORMAT", raising=False)
    with watchdog():
        result = invoke(*args)
    return Run(result.exit_code, result.stdout, result.stderr)


def check_report(run: Run, expected: Dict[str, Expect]) -> None:
    """Exit 0/1, JSON on stdout, no traceback, and each entry reported as expected."""
    assert run.status in (0, 1), run.stderr
    assert "Traceback" not in run.stderr
    findings = json.loads(run.stdout)
    by_path: Dict[str, List[dict]] = {}
    for finding in findings:
        by_path.setdefault(finding["path"].replace(os.sep, "/"), []).append(finding)
    assert set(by_path) <= set(expected), f"unexpected findings: {set(by_path) - set(expected)}"
    warnings = [line for line in run.stderr.splitlines() if line.startswith("lrlint: warning: ")]
    for name, expect in expected.items():
        found = by_path.get(name, [])
        if expect.skipped:
            assert not found
            prefix = f"lrlint: warning: {name}: skipped: "
            assert any(line.startswith(prefix) and expect.text in line for line in warnings), run.stderr
        elif expect.code is None:
            assert not found, found
        else:
            shown = f"{name}: {json.dumps(found)}"  # a string, so that pytest shows it whole
            assert [finding["code"] for finding in found] == [expect.code], shown
            (finding,) = found
            assert expect.text in finding["message"] and "\n" not in finding["message"], shown
            if expect.line is not None:
                assert finding["line"] == expect.line, shown
            if expect.column is not None:
                assert finding["column"] == expect.column, shown
    named = {line[len("lrlint: warning: ") :].split(": skipped: ")[0] for line in warnings if ": skipped: " in line}
    assert named == {name for name, expect in expected.items() if expect.skipped}
    assert any(finding["code"] == "LR001" and finding["path"] == "real.py" for finding in findings)
    assert run.status == 1


# --- the hostile tree ---------------------------------------------------------------------


def test_hostile_tree_in_a_subprocess(hostile: Tuple[Path, Dict[str, Expect]]) -> None:
    root, expected = hostile
    check_report(run_subprocess(["--isolated", "--output-format", "json", "."], root), expected)
    # again, from the cache that the first run wrote
    check_report(run_subprocess(["--isolated", "--output-format", "json", "."], root), expected)


@pytest.mark.parametrize("pool", [False, True], ids=["serial", "pool"])
def test_hostile_tree_in_process(
    hostile: Tuple[Path, Dict[str, Expect]], monkeypatch: pytest.MonkeyPatch, pool: bool
) -> None:
    root, expected = hostile
    if pool:  # the files are too few for a pool otherwise
        monkeypatch.setattr(batch, "MIN_FILES_FOR_POOL", 1)
        monkeypatch.setattr(batch, "available_cores", lambda: 2)
    run = run_in_process(["--isolated", "--no-cache", "--output-format", "json", "."], root, monkeypatch)
    check_report(run, expected)


def test_a_bom_moves_no_position(tmp_path: Path) -> None:
    """A finding on the first line (LR004 at the constructor) has the same column with a BOM."""
    first_line = (
        "import torch; opt = torch.optim.SGD([], lr=0.1); scheduler = torch.optim.lr_scheduler.StepLR(opt, 10)\n"
    )
    text = first_line + "for epoch in range(3):\n    opt.step()\n"
    (tmp_path / "plain.py").write_bytes(text.encode())
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + text.encode())
    plain, bom = (lint_file(tmp_path / name).diagnostics for name in ("plain.py", "bom.py"))
    assert [(d.code, d.line, d.column) for d in plain] == [("LR004", 1, 62)]
    assert [(d.code, d.line, d.column, d.end_column) for d in bom] == [
        (d.code, d.line, d.column, d.end_column) for d in plain
    ]


@POSIX
def test_named_entries_that_are_no_files_are_errors(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.py")
    os.symlink("loop_b.py", tmp_path / "loop_a.py")
    os.symlink("loop_a.py", tmp_path / "loop_b.py")
    os.symlink("missing.py", tmp_path / "dangling.py")
    (tmp_path / "real.py").write_text(SCHEDULER + MISUSE)
    run = run_subprocess(["--isolated", "fifo.py", "loop_a.py", "dangling.py", "real.py"], tmp_path)
    assert run.status == 2 and "Traceback" not in run.stderr
    assert "lrlint: error: fifo.py: not a regular file (a FIFO)" in run.stderr.splitlines()
    assert f"lrlint: error: loop_a.py: {os.strerror(errno.ELOOP)}" in run.stderr.splitlines()
    assert "lrlint: error: dangling.py: broken symbolic link (its target does not exist)" in run.stderr.splitlines()
    assert "real.py:5:5: LR001" in run.stdout


@POSIX
def test_a_fifo_is_never_opened_for_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    with watchdog():
        (finding,) = lint_file(fifo).diagnostics
    assert (finding.code, finding.message) == ("LR000", "cannot analyze file: cannot read: not a regular file (a FIFO)")


@POSIX
def test_a_cached_file_turned_fifo_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "train.py").write_text(SCHEDULER + MISUSE)
    assert run_in_process(["--isolated"], tmp_path, monkeypatch).status == 1
    (tmp_path / "train.py").unlink()
    os.mkfifo(tmp_path / "train.py")
    cache = ResultCache(tmp_path / ".lrlint_cache")
    with watchdog():
        assert cache.lookup(str(tmp_path / "train.py"), next(iter(cache.entries.values())).settings) is None
    run = run_in_process(["--isolated"], tmp_path, monkeypatch)
    assert "lrlint: warning: train.py: skipped: not a regular file (a FIFO)" in run.stderr
    assert "Traceback" not in run.stderr


def test_parse_module_safely_refuses_what_would_crash_libcst() -> None:
    assert parse_module_safely((SCHEDULER + MISUSE).encode()) is not None
    for text in ("x = " + "[" * 5000 + "]" * 5000, "x = " + " and ".join(["a"] * 10000), "x = " + "-" * 10000 + "1"):
        assert parse_module_safely((SCHEDULER + text + "\n").encode()) is None
    assert parse_module_safely(b"x = '\xff'\n") is None


def test_an_imported_module_nested_too_deep_crashes_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "utils.py").write_text(
        "import torch\ndef make(opt):\n    return torch.optim.lr_scheduler.StepLR(opt, 10)\n"
        "x = " + "[" * 5000 + "]" * 5000 + "\n"
    )
    (tmp_path / "train.py").write_text(
        "import torch\nopt = torch.optim.SGD([], lr=0.1)\nfrom utils import make\nscheduler = make(opt)\n" + MISUSE
    )
    run = run_subprocess(["--no-cache", "--output-format", "json", "train.py"], tmp_path)
    assert run.status in (0, 1), f"exit status {run.status}"


def test_a_200k_line_file_finishes_within_its_limit(tmp_path: Path) -> None:
    """Either checked or stopped by the limit: no assertion on how long it took."""
    (tmp_path / "big.py").write_text(SCHEDULER + "x = 1\n" * 200_000)
    run = run_subprocess(["--isolated", "--no-cache", "--timeout", "3", "--output-format", "json", "big.py"], tmp_path)
    assert run.status in (0, 1) and "Traceback" not in run.stderr
    assert all(finding["message"].endswith(TIMEOUT_ADVICE) for finding in json.loads(run.stdout)), run.stdout


# --- the time limit -------------------------------------------------------------------------

TIMEOUT_ADVICE = "raise the limit with `--timeout SECONDS`"


# Replaces `engine.lint_source` with one that burns CPU time on files named slow*.py: in
# slow.py it swallows every Exception, as careless analysis code might; in slow_masked.py a
# cleanup turns the exception into a KeyError, as libcst's position recorder does. Source text,
# so that a subprocess can run it too.
SPIN_PRELUDE = """
import contextlib, os, time
from lrlint import engine
_real_lint_source = engine.lint_source

def _spin():
    deadline = time.process_time() + 120  # a spin that the limit did not stop still ends
    while time.process_time() < deadline:
        pass

@contextlib.contextmanager
def _masking():
    try:
        yield
    finally:
        raise KeyError("node")

def _spinning(source, path, *args, **kwargs):
    name = os.path.basename(path)
    if name == "slow.py":
        try:
            _spin()
        except Exception:
            pass
        return []
    if name == "slow_masked.py":
        with _masking():
            _spin()
    return _real_lint_source(source, path, *args, **kwargs)

engine.lint_source = _spinning
"""


def spin_on_slow_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "lint_source", engine.lint_source)  # restored after the test
    exec(SPIN_PRELUDE, {})


SLOW = ("slow.py", "slow_masked.py")


def _slow_project(root: Path) -> None:
    for name in ("a_first.py", "z_after.py"):
        (root / name).write_text(SCHEDULER + MISUSE)
    for name in SLOW:
        (root / name).write_text(SCHEDULER)


def _check_stopped(run: Run, limit: str) -> None:
    """Both slow files stopped (exit 1: a limit is no internal error), the others checked."""
    assert run.status == 1 and "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    findings = {finding["path"]: finding for finding in json.loads(run.stdout)}
    assert set(findings) == {"a_first.py", "z_after.py", *SLOW}
    for name in SLOW:
        assert findings[name]["code"] == "LR000"
        assert findings[name]["message"] == (
            f"cannot analyze file: analysis took longer than {limit} s of CPU time and was stopped; {TIMEOUT_ADVICE}"
        )
    assert findings["z_after.py"]["code"] == findings["a_first.py"]["code"] == "LR001"


@HAS_CPU_TIMER
@pytest.mark.parametrize("pool", [False, True], ids=["serial", "pool"])
def test_a_file_over_the_limit_is_lr000_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool: bool
) -> None:
    _slow_project(tmp_path)
    spin_on_slow_files(monkeypatch)
    if pool:
        monkeypatch.setattr(batch, "MIN_FILES_FOR_POOL", 1)
        monkeypatch.setattr(batch, "available_cores", lambda: 2)
    run = run_in_process(["--isolated", "--timeout", "0.5", "--output-format", "json"], tmp_path, monkeypatch)
    _check_stopped(run, "0.5")
    # a stopped file is not cached: the next run checks it again
    cached = ResultCache(tmp_path / ".lrlint_cache").entries
    assert {os.path.basename(path) for path in cached} == {"a_first.py", "z_after.py"}


@HAS_CPU_TIMER
def test_the_limit_in_a_subprocess(tmp_path: Path) -> None:
    _slow_project(tmp_path)
    run = run_subprocess(
        ["--isolated", "--no-cache", "--timeout", "1", "--output-format", "json"], tmp_path, SPIN_PRELUDE
    )
    _check_stopped(run, "1")


@HAS_CPU_TIMER
def test_the_limit_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.lrlint]\ntimeout = 0.25\n")
    spin_on_slow_files(monkeypatch)
    _check_stopped(run_in_process(["--no-cache", "--output-format", "json"], tmp_path, monkeypatch), "0.25")


@HAS_CPU_TIMER
def test_each_file_has_the_limit_of_its_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lrlint]\ntimeout = 0.5\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "lrlint.toml").write_text("timeout = 0.25\n")
    for folder in (tmp_path, tmp_path / "sub"):
        (folder / "slow.py").write_text(SCHEDULER)
    spin_on_slow_files(monkeypatch)
    run = run_in_process(["--no-cache", "--output-format", "json"], tmp_path, monkeypatch)
    limits = {finding["path"].replace(os.sep, "/"): _limit_of(finding) for finding in json.loads(run.stdout)}
    assert limits == {"slow.py": "0.5", "sub/slow.py": "0.25"}
    run = run_in_process(["--no-cache", "--timeout", "0.3", "--output-format", "json"], tmp_path, monkeypatch)
    assert {_limit_of(finding) for finding in json.loads(run.stdout)} == {"0.3"}  # the command line wins


def _limit_of(finding: dict) -> str:
    return finding["message"].split("took longer than ")[1].split(" s ")[0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"30"', "[tool.lrlint] 'timeout' must be a number of seconds (0 for no limit), not a string"),
        ("true", "[tool.lrlint] 'timeout' must be a number of seconds (0 for no limit), not a boolean"),
        ("-1", "[tool.lrlint] 'timeout' must be 0 or more seconds, not -1"),
        ("nan", "[tool.lrlint] 'timeout' must be 0 or more seconds, not nan"),
    ],
)
def test_a_bad_timeout_in_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.lrlint]\ntimeout = {value}\n")
    run = run_in_process([], tmp_path, monkeypatch)
    assert run.status == 2 and f"pyproject.toml: {message}" in run.stderr


def test_a_bad_timeout_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_in_process(["--timeout", "-1"], tmp_path, monkeypatch)
    assert run.status == 2 and "--timeout" in run.stderr


@HAS_CPU_TIMER
def test_time_limit_restores_the_handler_and_disarms() -> None:
    before = signal.getsignal(signal.SIGPROF)
    with time_limit(60):
        assert signal.getitimer(signal.ITIMER_PROF)[0] > 0
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) == before
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.05) as limit:
            _spin(120)
    assert limit.expired
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) == before


@HAS_CPU_TIMER
def test_a_swallowed_time_limit_is_raised_again() -> None:
    stopped = 0
    with time_limit(0.05) as limit:
        for _ in range(3):
            try:
                _spin(10)
            except TimeLimitExceeded:
                stopped += 1
    assert limit.expired and stopped == 3


def _spin(seconds: float) -> None:
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        pass


@HAS_CPU_TIMER
def test_no_limit_with_zero_off_the_main_thread_or_under_a_profiler() -> None:
    with time_limit(0):
        assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    seen: List[Tuple[float, float]] = []

    def in_a_thread() -> None:
        with time_limit(60):
            seen.append(signal.getitimer(signal.ITIMER_PROF))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [(0.0, 0.0)]
    # a sampling profiler's timer is left alone
    previous = signal.signal(signal.SIGPROF, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_PROF, 100, 100)
    try:
        with time_limit(0.01):
            assert signal.getsignal(signal.SIGPROF) == signal.SIG_IGN
        assert signal.getitimer(signal.ITIMER_PROF)[1] == 100
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
