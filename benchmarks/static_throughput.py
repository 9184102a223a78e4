"""How fast the static checker goes, as whole `lrlint` processes on a corpus.

    python benchmarks/static_throughput.py [--copies 10] [--runs 5]

Two corpora: (1) training scripts (the shipped fixtures, copied --copies times, so every file
mentions schedulers and gets the full analysis); (2) the Python standard library, code that
mostly never mentions a scheduler (the cheap pre-filter path). Prints min and median wall time
and files per second. Equivalent by hand: `hyperfine 'lrlint -q --exit-zero --no-cache DIR'`. For the comparison with ruff
over the ML-library corpus, see vs_ruff.py.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def time_lrlint(folder: Path, runs: int) -> list:
    command = [sys.executable, "-m", "lrlint", "-q", "--exit-zero", "--isolated", "--no-cache", str(folder)]
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        timings.append(time.perf_counter() - start)
    return timings


def report(name: str, files: int, timings: list) -> None:
    best, median = min(timings), statistics.median(timings)
    print(f"{name:<34} {files:>6} files  min {best:6.2f}s  median {median:6.2f}s  {files / median:7.1f} files/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    fixtures = sorted((ROOT / "fixtures").glob("LR00[1-6]/*.py"))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "training_scripts"
        for copy in range(args.copies):
            target = corpus / f"copy{copy}"
            target.mkdir(parents=True)
            for path in fixtures:
                shutil.copy(path, target / f"{path.parent.name}_{path.name}")
        report("training scripts (fixtures)", len(fixtures) * args.copies, time_lrlint(corpus, args.runs))
        stdlib = Path(tmp) / "stdlib"
        shutil.copytree(
            sysconfig.get_paths()["stdlib"], stdlib, ignore=shutil.ignore_patterns("site-packages", "__pycache__")
        )
        count = sum(1 for _ in stdlib.rglob("*.py"))
        report("standard library", count, time_lrlint(stdlib, max(1, args.runs // 2)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
