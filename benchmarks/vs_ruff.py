"""lrlint against ruff with one rule, side by side in one run: cold, warm, files/s, peak memory.

    pip install -e . ruff
    python benchmarks/vs_ruff.py [--runs 3] [--corpus benchmarks/.corpus]

The corpus (see corpus.py) is built on first use. Each measurement runs the two tools
alternately, as whole processes, `--runs` times, and reports the median wall time:

- cold: `lrlint --no-cache` against `ruff check --isolated --no-cache --select F401`;
- warm: both with a cache already filled by a previous run over the same, unchanged files;
- the one training script `benchmarks/train_cifar.py`, cold and warm;
- peak memory: the largest sum of the resident memory of lrlint and its worker processes,
  sampled every 20 ms during one cold run over the library corpus (Linux only).

The ratios are lrlint's time over ruff's: the targets are at most 3 cold and 1 warm. Equivalent
by hand: `hyperfine --warmup 1 'lrlint --isolated --no-cache -q --exit-zero DIR'
'ruff check --isolated --no-cache --select F401 -q --exit-zero DIR'`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DEFAULT_DEST, build, count_files  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "train_cifar.py"


def lrlint_command(target: Path, cache: Optional[Path]) -> List[str]:
    command = [sys.executable, "-m", "lrlint", "--isolated", "-q", "--exit-zero"]
    command += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    return [*command, str(target)]


def ruff_command(target: Path, cache: Optional[Path]) -> List[str]:
    ruff = shutil.which("ruff") or "ruff"  # checked by main()
    command = [ruff, "check", "--isolated", "--select", "F401", "-q", "--exit-zero"]
    command += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    return [*command, str(target)]


def wall_time(command: Sequence[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def side_by_side(label: str, files: int, ours: Sequence[str], theirs: Sequence[str], runs: int) -> None:
    """Alternate the two commands so that both see the same machine load."""
    lrlint_times, ruff_times = [], []
    for _ in range(runs):
        lrlint_times.append(wall_time(ours))
        ruff_times.append(wall_time(theirs))
    lrlint_median, ruff_median = statistics.median(lrlint_times), statistics.median(ruff_times)
    print(
        f"{label:<34} {files:>5} files  lrlint {lrlint_median:7.2f}s ({files / lrlint_median:7.0f} files/s)"
        f"  ruff {ruff_median:6.2f}s ({files / ruff_median:7.0f} files/s)  ratio {lrlint_median / ruff_median:6.1f}x"
    )


def peak_memory_mb(command: Sequence[str]) -> Optional[float]:
    """The largest total RSS of the process and its children, or None off Linux."""
    if not Path("/proc/self/status").exists():
        return None
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.wait()
    done.set()
    sampler.join()
    return peak / 1024


def _tree_rss_kb(pid: int) -> int:
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                pending.extend(int(child) for child in children)
        except (OSError, StopIteration, ValueError):
            continue
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_DEST)
    args = parser.parse_args()
    if shutil.which("ruff") is None:  # the yardstick: without it there is nothing to compare
        print(
            "vs_ruff.py: ruff is not on PATH (pip install ruff, or activate the environment that has it)",
            file=sys.stderr,
        )
        return 2
    corpus = build(args.corpus)
    library, scripts = corpus / "library", corpus / "scripts"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; ruff: {_ruff_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, target, files in (
            ("library corpus", library, count_files(library)),
            ("training scripts", scripts, count_files(scripts)),
            ("one training script", SCRIPT, 1),
        ):
            side_by_side(f"{name}, cold", files, lrlint_command(target, None), ruff_command(target, None), args.runs)
            ours, theirs = Path(tmp) / f"lrlint-{name}", Path(tmp) / f"ruff-{name}"
            wall_time(lrlint_command(target, ours))  # fill the caches
            wall_time(ruff_command(target, theirs))
            side_by_side(f"{name}, warm", files, lrlint_command(target, ours), ruff_command(target, theirs), args.runs)
    peak = peak_memory_mb(lrlint_command(library, None))
    if peak is not None:
        print(f"peak memory, library corpus cold: {peak:.0f} MB (lrlint and its workers together)")
    return 0


def _ruff_version() -> str:
    return subprocess.run(
        ruff_command(Path("."), None)[:1] + ["--version"], capture_output=True, text=True
    ).stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
