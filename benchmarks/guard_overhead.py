"""What the runtime guard costs, measured side by side in one run (CPU, small MLP).

    python benchmarks/guard_overhead.py [--steps 3000] [--repeats 9]

Prints the guarded/unguarded time ratio of a real training loop and the time the guard adds to
one `optimizer.step()`, one `scheduler.step()` and one `loss.backward()`, in microseconds.

The guard patches a few torch functions process-wide on first use (`torch.autograd.backward`,
`GradScaler.step`, `DataLoader.__iter__`), so an unguarded loop in the same process would pay
part of the cost too. Each measurement therefore runs in a fresh worker process; the workers of
the two variants alternate (ABAB...) so both see the same machine load, and the medians are
compared. Each worker times only its loop, after a warm-up, with one torch thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings


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
    """Seconds for ``steps`` iterations of zero_grad, forward, backward, optimizer and scheduler step."""
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
    start = time.perf_counter()
    iterate(steps)
    return time.perf_counter() - start


def per_call(guarded: bool, steps: int) -> dict:
    """Microseconds per optimizer.step(), scheduler.step() and backward() of a scalar, alone."""
    import torch

    model, optimizer, scheduler = build(guarded)
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    leaf = torch.ones((), requires_grad=True)
    calls = {
        "optimizer.step()": optimizer.step,
        "scheduler.step()": scheduler.step,
        "loss.backward()": lambda: (leaf * 2).backward(),
    }
    timings = {}
    for name, call in calls.items():
        start = time.perf_counter()
        for _ in range(steps):
            call()
        timings[name] = (time.perf_counter() - start) / steps * 1e6
    return timings


def worker(kind: str, guarded: bool, steps: int) -> None:
    import torch

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    result = train_loop(guarded, steps) if kind == "loop" else per_call(guarded, steps * 5)
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
        f"training loop ({args.steps} steps, median of {args.repeats} worker pairs): "
        f"unguarded {statistics.median(plain):.3f}s, guarded {statistics.median(guarded):.3f}s, "
        f"ratio {ratio:.4f} ({(ratio - 1) * 100:+.2f}%); paired ratios {ratios[0]:.3f}..{ratios[-1]:.3f}"
    )
    calls = [measure("calls", False, args.steps) for _ in range(args.repeats)]
    guarded_calls = [measure("calls", True, args.steps) for _ in range(args.repeats)]
    for name in calls[0]:
        base = statistics.median(call[name] for call in calls)
        added = statistics.median(call[name] for call in guarded_calls) - base
        print(f"{name:<18} unguarded {base:7.2f} us, added by the guard {added:+6.2f} us per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
