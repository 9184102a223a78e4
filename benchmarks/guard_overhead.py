"""What the runtime guard costs, measured side by side in one run (CPU, small MLP).

    python benchmarks/guard_overhead.py [--steps 2000] [--repeats 7]

Prints the guarded/unguarded wall-time ratio of a real training loop (median of interleaved
repeats, so both see the same machine load), and the time the guard adds to one
`optimizer.step()` and one `scheduler.step()` in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

import lrlint


def build(guarded: bool):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=10**7)
    if guarded:
        lrlint.guard(scheduler)
    return model, optimizer, scheduler


def train_loop(guarded: bool, steps: int) -> float:
    model, optimizer, scheduler = build(guarded)
    inputs, targets = torch.randn(32, 64), torch.randint(0, 10, (32,))
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
        scheduler.step()
    return time.perf_counter() - start


def per_call(guarded: bool, steps: int) -> tuple:
    """Microseconds per optimizer.step() and per scheduler.step(), with no forward/backward."""
    model, optimizer, scheduler = build(guarded)
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    optimizer_us = (time.perf_counter() - start) / steps * 1e6
    start = time.perf_counter()
    for _ in range(steps):
        scheduler.step()
    return optimizer_us, (time.perf_counter() - start) / steps * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    train_loop(False, 200), train_loop(True, 200)  # warm up
    plain, guarded = [], []
    for _ in range(args.repeats):  # interleaved: both variants see the same load
        plain.append(train_loop(False, args.steps))
        guarded.append(train_loop(True, args.steps))
    ratio = statistics.median(guarded) / statistics.median(plain)
    print(
        f"training loop ({args.steps} steps, median of {args.repeats}): "
        f"unguarded {statistics.median(plain):.3f}s, guarded {statistics.median(guarded):.3f}s, "
        f"ratio {ratio:.4f} ({(ratio - 1) * 100:+.2f}%)"
    )
    calls = [per_call(False, args.steps * 5) for _ in range(args.repeats)]
    guarded_calls = [per_call(True, args.steps * 5) for _ in range(args.repeats)]
    for index, what in enumerate(("optimizer.step()", "scheduler.step()")):
        base = statistics.median(call[index] for call in calls)
        added = statistics.median(call[index] for call in guarded_calls) - base
        print(f"{what:<18} unguarded {base:7.2f} us, added by the guard {added:+6.2f} us per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
