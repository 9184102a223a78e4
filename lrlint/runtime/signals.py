"""What the guard observes around a scheduler: optimizer steps, AMP steps the GradScaler skipped,
backward passes and DataLoader passes.

Each signal is a counter that the scheduler's guarded ``step()`` reads; nothing here reads a
tensor's value or synchronises a device. The patches are installed once per process, on the first
``guard()``, and are thin wrappers that call the original with the same arguments. Every hook runs
its body through ``isolated()``: an error of ours stops the guard (``errors.stand_aside``), never
the training, and the original's own errors pass through untouched.
"""

from __future__ import annotations

import functools
import sys
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, TypeVar

from .errors import HEALTH, stand_aside

T = TypeVar("T")


@dataclass
class OptimizerActivity:
    """Steps of one optimizer, plus GradScaler attempts that skipped the step (counted once)."""

    steps: int = 0
    skipped: int = 0
    backwards_at_last_step: int = -1  # COUNTS.backwards when the optimizer last stepped
    learning_rates: Optional[List[float]] = None  # as a guarded scheduler last left them; None: not judged
    unchecked_writer: bool = False  # a scheduler the guard stopped checking sets them too: no LR013

    @property
    def total(self) -> int:
        return self.steps + self.skipped


@dataclass
class ProcessCounts:
    backwards: int = 0  # torch.autograd.backward calls (loss.backward() goes through it)
    loader_passes: int = 0  # iterations started over any DataLoader
    loader_length: Optional[int] = None  # len() of the DataLoader iterated last, when it has one
    loader_iterator: Optional["weakref.ref[Any]"] = None  # its iterator: alive while the pass runs

    def in_loader_pass(self) -> bool:
        return self.loader_iterator is not None and self.loader_iterator() is not None


COUNTS = ProcessCounts()
# Keyed by id() with a weakref.finalize to drop the entry: a plain dict lookup on the hot path.
ACTIVITY: Dict[int, OptimizerActivity] = {}


def watch(optimizer: Any) -> OptimizerActivity:
    """Start counting ``optimizer``'s steps (once per optimizer)."""
    optimizer = torch_optimizer(optimizer)
    activity = ACTIVITY.get(id(optimizer))
    if activity is None:
        _install_patches()
        activity = ACTIVITY[id(optimizer)] = OptimizerActivity(learning_rates=learning_rates(optimizer))
        weakref.finalize(optimizer, ACTIVITY.pop, id(optimizer), None)
        # A deep-copied or unpickled optimizer carries the hooks over already.
        if _on_optimizer_step not in optimizer._optimizer_step_post_hooks.values():
            optimizer.register_step_post_hook(_on_optimizer_step)
            optimizer.register_load_state_dict_post_hook(_on_load_state_dict)
    return activity


def isolated(where: str, body: Callable[..., T], *args: Any) -> Optional[T]:
    """``body(*args)`` for a hook the guard installed; None once the guard stood aside, or when
    the body raised (the guard then stands aside, warning once)."""
    if HEALTH.stopped:
        return None
    try:
        return body(*args)
    except Exception as error:
        stand_aside(error, where=where)
        return None


def torch_optimizer(optimizer: Any) -> Any:
    """The torch optimizer inside a wrapper (accelerate's AcceleratedOptimizer, which the
    transformers Trainer hands its scheduler): its ``step()`` is the one that runs the hooks."""
    while not hasattr(optimizer, "_optimizer_step_post_hooks") and hasattr(optimizer, "optimizer"):
        optimizer = optimizer.optimizer
    return optimizer


def learning_rates(optimizer: Any) -> Optional[List[float]]:
    """The optimizer's learning rates as floats; None when one lives on an accelerator (reading it
    would synchronise the device)."""
    values = [group["lr"] for group in optimizer.param_groups]
    for index, lr in enumerate(values):
        if type(lr) is not float:
            device = getattr(lr, "device", None)
            if device is not None and device.type != "cpu":
                return None
            values[index] = float(lr)
    return values


def remember_learning_rates(activity: OptimizerActivity, optimizer: Any) -> None:
    """The learning rates LR013 compares with, unless a scheduler no longer checked writes them."""
    activity.learning_rates = None if activity.unchecked_writer else learning_rates(optimizer)


def _on_optimizer_step(optimizer: Any, args: Any, kwargs: Any) -> None:
    isolated("the optimizer-step hook", _count_optimizer_step, optimizer)


def _count_optimizer_step(optimizer: Any) -> None:
    activity = ACTIVITY.get(id(optimizer))
    if activity is not None:
        activity.steps += 1
        activity.backwards_at_last_step = COUNTS.backwards


def _on_load_state_dict(optimizer: Any) -> None:
    isolated("the optimizer's load_state_dict hook", _reread_learning_rates, optimizer)


def _reread_learning_rates(optimizer: Any) -> None:
    """A checkpoint loaded into the optimizer sets its learning rates: that is not LR013."""
    activity = ACTIVITY.get(id(optimizer))
    if activity is not None:
        remember_learning_rates(activity, optimizer)


_PATCHED = False


def _install_patches() -> None:
    global _PATCHED
    if not _PATCHED:
        _PATCHED = True
        for patch in (_patch_grad_scaler, _patch_backward, _patch_data_loader):
            isolated("installing its hooks", patch)


def _patch_grad_scaler() -> None:
    """Count a GradScaler step that skips ``optimizer.step()`` (inf/NaN gradients) as an attempt,
    so that the scheduler step after it is no LR001 (pytorch#44511)."""
    from torch.amp.grad_scaler import GradScaler

    original = GradScaler.step
    where = "the GradScaler hook"

    @functools.wraps(original)
    def step(self: Any, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        before = isolated(where, _optimizer_steps, optimizer)
        result = original(self, optimizer, *args, **kwargs)
        if before is not None:
            isolated(where, _count_skipped_step, optimizer, before)
        return result

    GradScaler.step = step  # type: ignore[method-assign]


def _optimizer_steps(optimizer: Any) -> Optional[int]:
    activity = ACTIVITY.get(id(optimizer))
    return None if activity is None else activity.steps


def _count_skipped_step(optimizer: Any, steps_before: int) -> None:
    """The optimizer-step hook did not run: the scaler skipped the step."""
    activity = ACTIVITY.get(id(optimizer))
    if activity is not None and activity.steps == steps_before:
        activity.skipped += 1
        activity.backwards_at_last_step = COUNTS.backwards


def _patch_backward() -> None:
    """``Tensor.backward()`` calls ``torch.autograd.backward`` by attribute, so this sees every
    ``loss.backward()``, scaled or not, and through accelerate, Lightning and transformers."""
    import torch.autograd

    original = torch.autograd.backward

    @functools.wraps(original)
    def backward(*args: Any, **kwargs: Any) -> Any:
        isolated("the backward-pass counter", _count_backward)
        return original(*args, **kwargs)

    torch.autograd.backward = backward


def _count_backward() -> None:
    COUNTS.backwards += 1


def _patch_data_loader() -> None:
    """A new pass over a DataLoader marks an epoch boundary (or an evaluation pass)."""
    from torch.utils.data import DataLoader

    original = DataLoader.__iter__

    @functools.wraps(original)
    def __iter__(self: Any) -> Any:
        iterator = original(self)
        isolated("the DataLoader pass counter", _count_loader_pass, self, iterator)
        return iterator

    DataLoader.__iter__ = __iter__  # type: ignore[method-assign]


def _count_loader_pass(loader: Any, iterator: Any) -> None:
    COUNTS.loader_passes += 1
    try:
        COUNTS.loader_length = len(loader)
    except Exception:  # an IterableDataset without a length
        COUNTS.loader_length = None
    try:
        COUNTS.loader_iterator = weakref.ref(iterator)
    except TypeError:
        COUNTS.loader_iterator = None


def patch_accelerate(in_burst: Any) -> None:
    """accelerate's ``AcceleratedScheduler.step()`` steps the wrapped scheduler once per process
    (the dataloader is sharded); ``in_burst(scheduler, entering)`` tells the guard to count that
    burst as one step. Done only when accelerate is already imported."""
    module = sys.modules.get("accelerate.scheduler")
    scheduler_class = getattr(module, "AcceleratedScheduler", None)
    if scheduler_class is None or hasattr(scheduler_class.step, "__lrlint__"):
        return
    original = scheduler_class.step

    @functools.wraps(original)
    def step(self: Any, *args: Any, **kwargs: Any) -> Any:
        isolated("the accelerate scheduler hook", in_burst, self.scheduler, True)
        try:
            return original(self, *args, **kwargs)
        finally:
            isolated("the accelerate scheduler hook", in_burst, self.scheduler, False)

    step.__lrlint__ = True  # type: ignore[attr-defined]
    scheduler_class.step = step
