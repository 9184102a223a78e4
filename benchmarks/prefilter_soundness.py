"""Does the pre-filter ever change a finding? Full analysis of every file against the filtered run.

    pip install -e .
    python benchmarks/prefilter_soundness.py [PATH ...]   # default: the benchmark corpus

lrlint runs twice over the same paths, in two processes, with the cache off: once as shipped, and
once with the pre-filter (``lrlint.engine._may_have_findings``) replaced by one that keeps every
file, so every file goes through libcst and the model. Both runs' findings (path, position, code,
message) must be the same; the script prints any difference and exits 1 if there is one. It also
reports how many files the filter kept and how long each run took.

The unfiltered run parses every file: over the whole library corpus that takes tens of minutes on
two cores, which is why this is a benchmark run by hand and not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Sequence, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DEFAULT_DEST, build  # noqa: E402

# The second run's entry point: the CLI with the pre-filter keeping every file. Worker processes
# are forked on Linux, so they inherit the replacement.
_UNFILTERED = (
    "import sys, lrlint.engine as engine, lrlint.cli as cli; "
    "engine._may_have_findings = lambda *args: True; "
    "sys.exit(cli.main())"
)
_FILTERED = "import sys, lrlint.cli as cli; sys.exit(cli.main())"

Finding = Tuple[str, int, int, str, str]


def findings(entry: str, paths: Sequence[Path]) -> Tuple[Set[Finding], float]:
    arguments = ["--isolated", "--no-cache", "--exit-zero", "-q", "--output-format", "json", *map(str, paths)]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", entry, *arguments], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"lrlint failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    found = {
        (item["path"], item["line"], item["column"], item["code"], item["message"])
        for item in json.loads(done.stdout or "[]")
    }
    return found, elapsed


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the benchmark corpus)")
    options = parser.parse_args(list(argv) or None)
    paths: List[Path] = options.paths or [build(DEFAULT_DEST)]
    filtered, filtered_time = findings(_FILTERED, paths)
    unfiltered, unfiltered_time = findings(_UNFILTERED, paths)
    print(f"filtered:   {len(filtered):5} findings in {filtered_time:7.1f} s")
    print(f"unfiltered: {len(unfiltered):5} findings in {unfiltered_time:7.1f} s")
    missed, extra = sorted(unfiltered - filtered), sorted(filtered - unfiltered)
    for label, items in (("only without the filter", missed), ("only with the filter", extra)):
        for path, row, column, code, message in items:
            print(f"{label}: {path}:{row}:{column}: {code} {message}")
    if missed or extra:
        return 1
    print("same findings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
