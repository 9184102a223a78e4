"""``python -m lrlint.run [--on-violation MODE] [--trace PATH] SCRIPT [ARGS...]``: run an unmodified
training script with every scheduler it builds guarded (also ``torchrun ... -m lrlint.run SCRIPT
ARGS``); ``--trace lr.csv`` also records the learning rate of every optimizer step.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from typing import List, Optional

from .runtime import MODES, guarded


def parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lrlint.run",
        description="Run a training script with every learning-rate scheduler guarded by lrlint and, with "
        "--trace, the learning rates its optimizer steps train with recorded.",
    )
    parser.add_argument("--on-violation", choices=MODES, default="warn", help="warn (default), raise or log")
    parser.add_argument(
        "--trace",
        metavar="PATH",
        help="also write the learning rate of every optimizer step and param group, as training used it, "
        "to this CSV file (curve,scheduler,update,epoch,group,lr; rank 0 only; the folder must exist)",
    )
    parser.add_argument("script", help="the training script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    options = parse(argv)
    script = options.script
    if not os.path.isfile(script):
        print(f"lrlint.run: error: {script}: No such file", file=sys.stderr)
        return 2
    # Behave as `python SCRIPT ARGS` would: argv and the script's folder on sys.path.
    sys.argv = [script, *options.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    with guarded(on_violation=options.on_violation, trace=options.trace):
        runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
