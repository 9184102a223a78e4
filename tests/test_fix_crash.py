"""`--fix` killed at any moment: every file is whole, either as it was or as fixed.

The process is killed with SIGKILL (no cleanup runs) at several points of a run over many files;
after each kill every file must equal its original bytes or its fully fixed bytes, and parse.
Only the temporary files of an interrupted write may remain, named `.NAME.*.tmp`, beside it.
"""

from __future__ import annotations

import ast
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

SCRIPT = """import torch
from torch.optim.lr_scheduler import StepLR

model = torch.nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = StepLR(optimizer, step_size=30)
for epoch in range(90):
    scheduler.step()
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    print(scheduler.get_lr())
"""
FILES = 40


def fix_command(folder: Path) -> list:
    return [sys.executable, "-m", "lrlint", "--isolated", "--no-cache", "--fix", "-q", str(folder)]


def make_files(folder: Path) -> Dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    originals = {}
    for index in range(FILES):
        data = (f"# script {index}\n" + SCRIPT).encode("utf-8")
        (folder / f"train_{index:02d}.py").write_bytes(data)
        originals[f"train_{index:02d}.py"] = data
    return originals


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_fix_run_killed_at_any_moment_leaves_every_file_old_or_new(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    originals = make_files(reference)
    subprocess.run(fix_command(reference), capture_output=True, timeout=600)
    fixed = {name: (reference / name).read_bytes() for name in originals}
    assert all(fixed[name] != originals[name] for name in originals)  # every file has something to fix
    started = time.perf_counter()
    subprocess.run(fix_command(make_files(tmp_path / "timing")), capture_output=True, timeout=600)
    whole_run = time.perf_counter() - started

    chance = random.Random(1234)
    for attempt in range(4):
        folder = tmp_path / f"killed_{attempt}"
        make_files(folder)
        process = subprocess.Popen(fix_command(folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chance.uniform(0.05, 1.0) * whole_run)  # anywhere in the run, start to end
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        for name, original in originals.items():
            now = (folder / name).read_bytes()
            assert now in (original, fixed[name]), f"{name} is neither old nor new after a kill"
            ast.parse(now)
        leftovers = [path.name for path in folder.iterdir() if path.name not in originals]
        assert all(name.startswith(".train_") and name.endswith(".tmp") for name in leftovers), leftovers
        shutil.rmtree(folder)


def _children(pid: int) -> List[int]:
    """The processes whose parent is ``pid`` (Linux, from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # an exited orphan nobody has reaped yet is gone for this purpose


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_workers_of_a_killed_run_exit_too(tmp_path: Path) -> None:
    # Killed with SIGKILL (the OOM killer, a CI timeout), lrlint cannot stop its pool; its workers,
    # each holding the pool's queue open for the others, would otherwise wait forever.
    make_files(tmp_path)
    for index in range(FILES):  # long enough to be killed while the workers still work
        (tmp_path / f"big_{index:02d}.py").write_text(SCRIPT * 60)
    process = subprocess.Popen(fix_command(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: List[int] = []
    deadline = time.monotonic() + 60
    while len(workers) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
        workers = _children(process.pid)
    if len(workers) < 2:
        process.kill()
        pytest.skip("the run ended before its pool was seen (one core, or too fast a machine)")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    outlived = [pid for pid in workers if _running(pid)]
    for pid in outlived:  # not left behind by a failing run of this test
        os.kill(pid, signal.SIGKILL)
    assert not outlived, "workers outlived the killed lrlint"
