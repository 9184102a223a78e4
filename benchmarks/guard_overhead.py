"""What the runtime guard costs, measured side by side in one run (CPU, small MLP).

    python benchmarks/guard_overhead.py [--steps 3000] [--repeats 9]

Prints two measurements:
1. The guarded/unguarded time ratio of a real training loop (a 64-128-10 MLP, batch 32, SGD,
   OneCycleLR stepped per batch). The guard patches a few torch functions process-wide on first
   use (`torch.autograd.backward`, `GradScaler.step`, `DataLoader.__iter__`), so an unguarded loop
   in the same process would pay part of the cost too: each loop runs in a fresh worker process,
   the workers of the two variants alternate (ABAB...) so both see the same machine load, and the
   medians are compared. Each worker times only its loop (thread CPU time), after a warm-up, with
   one torch thread.
2. The microseconds the guard adds to one `scheduler.step()`, one `optimizer.step()` and one
   `loss.backward()`, and their sum as a share of an unguarded iteration of that loop: a figure
   that machine noise disturbs far less than the loop ratio."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import timeit
import warnings
from typing import Callable


def build(guarded: bool):
    import torch

    import lrlint

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=10**7)
    if guarded:
        lrlint.guard(scheduler)
    return model, optimizer, scheduler


def train_loop(guarded: bool, steps: int) -> float:
    """CPU seconds for ``steps`` iterations of zero_grad, forward, backward, optimizer and scheduler step."""
    import torch

    model, optimizer, scheduler = build(guarded)
    inputs, targets = torch.randn(32, 64), torch.randint(0, 10, (32,))

    def iterate(count: int) -> None:
        for _ in range(count):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(inputs), targets).backward()
            optimizer.step()
            scheduler.step()

    iterate(300)  # warm-up
    start = time.thread_time()  # CPU time of this thread: less disturbed by other processes than wall time
    iterate(steps)
    return time.thread_time() - start


def added_per_call(steps: int) -> dict:
    """Microseconds the guard adds to each call, measured in one process on one guarded scheduler:
    its ``step()`` against the base class's ``step()`` on the same object (alternating batches,
    the fastest of each); for ``optimizer.step()`` and ``loss.backward()``, whose own cost is far
    above the guard's share, the guard's own code (the post-hook; the backward wrapper's extra
    frame around a no-op) is timed directly."""
    import torch

    import lrlint
    from lrlint.runtime import signals

    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=0.05)
    scheduler = lrlint.guard(torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=10**8))
    activity = signals.ACTIVITY[id(optimizer)]
    unguarded_step = type(scheduler)._lrlint_base.step

    def guarded() -> None:
        activity.steps += 1  # what the post-hook records: the check sees a loop that trains
        scheduler.step()

    def unguarded() -> None:
        activity.steps += 1
        unguarded_step(scheduler)

    def backward_wrapper(*args: object, **kwargs: object) -> None:  # as signals._patch_backward's
        signals.COUNTS.backwards += 1
        return _noop(*args, **kwargs)

    def fastest(call: Callable[[], object]) -> float:
        return min(timeit.repeat(call, number=steps, repeat=3)) / steps * 1e6

    with_guard, without = [], []
    for _ in range(5):
        with_guard.append(fastest(guarded))
        without.append(fastest(unguarded))
    return {
        "scheduler.step()": min(with_guard) - min(without),
        "optimizer.step()": fastest(lambda: signals._count_optimizer_step(optimizer, (), {})),
        "loss.backward()": fastest(lambda: backward_wrapper(parameter)) - fastest(lambda: _noop(parameter)),
    }


def _noop(*args: object, **kwargs: object) -> None:
    return None


def worker(kind: str, guarded: bool, steps: int) -> None:
    import torch

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    result = train_loop(guarded, steps) if kind == "loop" else added_per_call(steps)
    print(json.dumps(result))


def measure(kind: str, guarded: bool, steps: int):
    command = [sys.executable, __file__, "--worker", kind, "--steps", str(steps)] + (["--guarded"] if guarded else [])
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--worker", choices=("loop", "calls"), help=argparse.SUPPRESS)
    parser.add_argument("--guarded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.guarded, args.steps)
        return 0
    plain, guarded = [], []
    for _ in range(args.repeats):  # alternating: both variants see the same load
        plain.append(measure("loop", False, args.steps))
        guarded.append(measure("loop", True, args.steps))
    ratios = sorted(g / p for p, g in zip(plain, guarded))
    ratio = statistics.median(guarded) / statistics.median(plain)
    print(
        f"training loop ({args.steps} steps, {args.repeats} worker pairs, CPU time): "
        f"unguarded median {statistics.median(plain):.3f}s, guarded {statistics.median(guarded):.3f}s, "
        f"ratio of medians {ratio:.4f} ({(ratio - 1) * 100:+.2f}%), ratio of minima "
        f"{min(guarded) / min(plain):.4f}; pair ratios {ratios[0]:.3f}..{ratios[-1]:.3f}"
    )
    added = measure("calls", True, args.steps * 5)
    for name, microseconds in added.items():
        print(f"{name:<18} added by the guard {microseconds:+6.2f} us per call")
    iteration_us = statistics.median(plain) / args.steps * 1e6
    total = sum(added.values())
    print(
        f"one of each per iteration: {total:+.2f} us on an unguarded iteration of {iteration_us:.0f} us "
        f"= {total / iteration_us * 100:+.2f}%"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
