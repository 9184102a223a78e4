"""The one rule catalogue: plain data read by the static rules, the runtime guard,
``--explain``, SARIF and the README table.

This module must import without libcst or torch: the runtime guard reads it too.
Codes are stable: never renumber, never reuse a retired code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

DOCS_URL = "https://github.com/lrlint/lrlint/blob/main/docs/rules/{code}.md"
PYTORCH_SCHEDULER_DOCS = "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str  # "error" | "warning"
    side: str  # "both" | "static" | "runtime"
    summary: str  # one line, for tables and SARIF shortDescription
    message: str  # str.format template; fields are documented per rule
    doc: str  # markdown: What it does / Why is this bad? / Example / Use instead: / References
    tags: Tuple[str, ...] = ("correctness",)  # SARIF properties.tags
    fix: Optional[str] = None  # what `--fix` does, for the rules that have a safe fix

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code, name=self.name)

    def format(self, **fields: object) -> str:
        return self.message.format(**fields)

    @property
    def example(self) -> str:
        """The code block under "## Example"."""
        return _code_block_after(self.doc, "## Example")

    @property
    def use_instead(self) -> str:
        """The code block under "## Use instead:"."""
        return _code_block_after(self.doc, "## Use instead:")


def _code_block_after(doc: str, heading: str) -> str:
    start = doc.find(heading)
    if start < 0:
        return ""
    match = re.search(r"```python\n(.*?)```", doc[start:], re.S)
    return match.group(1) if match else ""


_REFERENCES = f"""
## References
- [PyTorch: how to adjust the learning rate]({PYTORCH_SCHEDULER_DOCS})
"""

_RULES: Tuple[Rule, ...] = (
    Rule(
        code="LR000",
        name="unanalyzable-file",
        severity="error",
        side="static",
        tags=("syntax",),
        summary="The file cannot be read or parsed, so it was not checked.",
        message="cannot analyze file: {reason}",
        doc="""## What it does
Reports a file that lrlint could not read, decode or parse, or that is nested too deeply for the
parser, or whose analysis took longer than the time limit (30 s of CPU time unless `--timeout` or
`timeout` in the config says otherwise). The other files are still checked. Entries of a folder
that are no files (FIFOs, sockets, broken or looping symlinks) and folders that cannot be listed
are skipped with a warning.

## Why is this bad?
A file that is not checked can hide any of the other findings. A syntax error also means the
training script will not start.

Only files that may concern a scheduler are parsed: a file that names no scheduler, builds none
and imports no project code that does cannot have a finding, so lrlint skips it without parsing
it, and leaves its syntax errors to Python and to general linters.

## Example
```python
for epoch in range(10)
    train(model)
    scheduler.step()
```

## Use instead:
```python
for epoch in range(10):
    train(model)
    scheduler.step()
```
""",
    ),
    Rule(
        code="LR001",
        name="scheduler-step-before-optimizer-step",
        severity="error",
        side="both",
        summary="The scheduler steps before the optimizer it drives, so the first learning rate of the schedule is skipped.",
        message="`{scheduler}.step()` runs before {optimizer_step} in the same iteration; "
        "the first learning rate of the schedule is skipped. Call it after the optimizer step",
        doc="""## What it does
Checks that, within one training iteration, `scheduler.step()` comes after the `step()` of the
optimizer it drives (`optimizer.step()`, `optimizer.step(closure)` or `scaler.step(optimizer)`).
This includes the pre-PyTorch-1.1 habit of stepping the scheduler at the start of each epoch,
before a helper such as `train_one_epoch(...)` performs that epoch's optimizer steps.

## Why is this bad?
Since PyTorch 1.1 a scheduler must be stepped after the optimizer. Stepping it first moves the
learning rate on before the first update uses it: the first value of the schedule is skipped and
every later value arrives one step early (a warm-up starts above its base, a `StepLR` decays one
epoch early). PyTorch only warns about it once at run time ("Detected call of
`lr_scheduler.step()` before `optimizer.step()`"), and that warning is often filtered out.

## Example
```python
import torch
from torch.optim.lr_scheduler import OneCycleLR

model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
for epoch in range(10):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        scheduler.step()
        optimizer.step()
```

## Use instead:
```python
import torch
from torch.optim.lr_scheduler import OneCycleLR

model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
for epoch in range(10):
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
```
"""
        + _REFERENCES,
        fix="sometimes available: `scheduler.step()` moves to just after the statement that steps the optimizer (the `optimizer.step()` line, the batch loop, or the call of the training helper) when both are statements of one block and nothing between them can `continue`, `break`, `return` or `raise`.",
    ),
    Rule(
        code="LR002",
        name="per-batch-scheduler-stepped-per-epoch",
        severity="error",
        side="both",
        summary="A scheduler whose horizon counts optimizer steps is stepped once per epoch.",
        message="`{scheduler}` ({kind}) counts optimizer steps but is stepped once per epoch; "
        "it will barely leave its first values. Step it after every `{optimizer}.step()`",
        doc="""## What it does
Finds schedulers whose horizon is measured in optimizer steps (`OneCycleLR`, `CyclicLR`, the
transformers warm-up schedules and `get_scheduler`, or any scheduler whose horizon is computed
from `len(loader)` or a number of steps) that are stepped once per epoch.

## Why is this bad?
Such a schedule expects thousands of `step()` calls. Stepped once per epoch it covers only the
first few of them: a `OneCycleLR` never leaves its warm-up, a linear warm-up never reaches the
base learning rate. Training runs quietly at the wrong learning rate.

## Example
```python
import torch
from torch.optim.lr_scheduler import OneCycleLR

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=20, steps_per_epoch=len(loader))
for epoch in range(20):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step()
```

## Use instead:
```python
import torch
from torch.optim.lr_scheduler import OneCycleLR

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=20, steps_per_epoch=len(loader))
for epoch in range(20):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR003",
        name="per-epoch-scheduler-stepped-per-batch",
        severity="error",
        side="both",
        summary="A scheduler whose horizon counts epochs is stepped after every optimizer step.",
        message="`{scheduler}` ({kind}) counts epochs but is stepped after every optimizer step; "
        "its schedule ends within the first epochs. Step it once per epoch",
        doc="""## What it does
Finds schedulers whose horizon is measured in epochs (a `StepLR`, `MultiStepLR`,
`CosineAnnealingLR`, `PolynomialLR`, ... whose horizon comes from an epoch count) that are stepped
inside the batch loop, once per optimizer step.

## Why is this bad?
The schedule runs `len(loader)` times too fast: milestones meant for epoch 30 and 60 are passed
in the first epoch, a cosine reaches its minimum and climbs back up many times per epoch.

## Example
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
for epoch in range(num_epochs):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        scheduler.step()
```

## Use instead:
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
for epoch in range(num_epochs):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR004",
        name="scheduler-never-stepped",
        severity="error",
        side="both",
        summary="A scheduler is created but never stepped, so the learning rate never changes.",
        message="`{scheduler}` ({kind}) is created but never stepped; the learning rate stays at "
        "its initial value. Call `{scheduler}.step()` in the training loop",
        doc="""## What it does
Finds a scheduler that is constructed but never stepped and never handed to something that steps
it (Lightning's `configure_optimizers` under automatic optimization,
`transformers.Trainer(optimizers=...)`, a list later iterated and stepped, a helper that receives
it). Under Lightning manual optimization (`self.automatic_optimization = False`) the returned
schedulers are stepped by nobody unless the module calls `self.lr_schedulers()` and steps them.

## Why is this bad?
A scheduler does not act on its own: without `step()` the optimizer keeps its initial learning
rate for the whole run, and nothing warns about it.

## Example
```python
import torch

optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
for epoch in range(10):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
```

## Use instead:
```python
import torch

optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
for epoch in range(10):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR005",
        name="plateau-step-without-metric",
        severity="error",
        side="both",
        summary="ReduceLROnPlateau.step() is called without the metric it monitors.",
        message="`{scheduler}.step()` is called without the monitored metric; {kind} "
        "needs `{scheduler}.step(metric)` and raises a TypeError here",
        doc="""## What it does
Finds `ReduceLROnPlateau.step()` called without the metric it monitors, including a Lightning
`lr_scheduler_step` override that steps the scheduler and drops its `metric` argument.

## Why is this bad?
`ReduceLROnPlateau.step(metrics)` takes the monitored value as a required argument. Without it the
call raises a `TypeError`, usually at the end of the first epoch, after that epoch's compute is
spent; lrlint reports it before the run starts.

## Example
```python
import torch

optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", patience=3)
for epoch in range(50):
    train_one_epoch(model, loader, optimizer)
    val_loss = evaluate(model, val_loader)
    scheduler.step()
```

## Use instead:
```python
import torch

optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", patience=3)
for epoch in range(50):
    train_one_epoch(model, loader, optimizer)
    val_loss = evaluate(model, val_loader)
    scheduler.step(val_loss)
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR006",
        name="step-argument-on-non-plateau-scheduler",
        severity="error",
        side="both",
        summary="An argument is passed to step() of a scheduler that takes none.",
        message="`{scheduler}.step({argument})` passes an argument to {kind}.step(), which takes "
        "none: it is used as the epoch number (deprecated). Call `{scheduler}.step()`",
        doc="""## What it does
Finds a positional or `epoch=` argument passed to the `step()` of a torch scheduler other than
`ReduceLROnPlateau` (which takes the metric) and `CosineAnnealingWarmRestarts` (whose fractional
epoch argument is documented). timm schedulers, whose API is `step(epoch)`, are not checked.

## Why is this bad?
The `epoch` argument of `LRScheduler.step()` is deprecated: it jumps the schedule to that epoch
through a closed form that not every scheduler has. A metric passed this way, as in
`scheduler.step(val_loss)` on a `StepLR`, is silently taken as the epoch number.

## Example
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step(epoch)
```

## Use instead:
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step()
```
"""
        + _REFERENCES,
        fix='sometimes available: the argument is dropped when it is an epoch (the `epoch=` keyword, a name with "epoch" in it, or the epoch loop\'s variable), never when it may be a metric; under a condition (`if epoch > warmup:`) only as an unsafe suggestion, since the step count is not the epoch number there.',
    ),
    Rule(
        code="LR007",
        name="plateau-mode-mismatch",
        severity="warning",
        side="both",
        summary="ReduceLROnPlateau's mode contradicts the metric it is fed.",
        message="`{scheduler}` is in mode '{mode}' but is fed `{metric}`, which {direction}; "
        "the learning rate is reduced while the model improves",
        doc="""## What it does
Finds a `ReduceLROnPlateau` in mode `min` (the default) fed a higher-is-better metric (accuracy,
F1, AUC, BLEU, mAP, IoU, Dice, ...), or in mode `max` fed a loss or an error.

## Why is this bad?
The scheduler believes the metric is getting worse while it improves, so it cuts the learning rate
after every `patience` epochs of real progress.

## Example
```python
import torch

scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
for epoch in range(50):
    train_one_epoch(model, loader, optimizer)
    val_acc = evaluate(model, val_loader)
    scheduler.step(val_acc)
```

## Use instead:
```python
import torch

scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max")
for epoch in range(50):
    train_one_epoch(model, loader, optimizer)
    val_acc = evaluate(model, val_loader)
    scheduler.step(val_acc)
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR008",
        name="scheduler-created-in-loop",
        severity="error",
        side="static",
        summary="A scheduler is constructed inside the training loop and restarts every iteration.",
        message="`{scheduler}` ({kind}) is created inside the training loop, so its schedule "
        "restarts every iteration. Create it once, before the loop",
        doc="""## What it does
Finds a scheduler constructed inside the loop that trains with it.

## Why is this bad?
Each construction starts the schedule again from its first value, so the learning rate never
follows the schedule past its first step.

## Example
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(30):
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
```

## Use instead:
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR009",
        name="scheduler-outpaces-optimizer",
        severity="error",
        side="both",
        summary="The scheduler steps on every iteration while the optimizer steps only on some.",
        message="`{scheduler}.step()` runs on every iteration but `{optimizer}.step()` only on some "
        "({condition}); the schedule runs ahead of the optimizer",
        doc="""## What it does
Finds a scheduler stepped unconditionally in a loop where its optimizer is stepped under a
condition (gradient accumulation, skipped steps). At run time: more scheduler steps than optimizer
steps.

## Why is this bad?
With gradient accumulation over `k` batches the schedule advances `k` times per update and ends
after a `k`-th of the run; the rest trains at the final learning rate.

## Example
```python
import torch

scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=len(loader) // accum)
for i, (x, y) in enumerate(loader):
    (loss_fn(model(x), y) / accum).backward()
    if (i + 1) % accum == 0:
        optimizer.step()
        optimizer.zero_grad()
    scheduler.step()
```

## Use instead:
```python
import torch

scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=len(loader) // accum)
for i, (x, y) in enumerate(loader):
    (loss_fn(model(x), y) / accum).backward()
    if (i + 1) % accum == 0:
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR010",
        name="get-lr-outside-scheduler",
        severity="warning",
        side="static",
        summary="scheduler.get_lr() is called outside a scheduler; use get_last_lr().",
        message="`{scheduler}.get_lr()` is meant for the scheduler's own use and may return a wrong "
        "value here; use `{scheduler}.get_last_lr()`",
        doc="""## What it does
Finds `get_lr()` called on a torch scheduler outside a scheduler's own implementation (a
scheduler subclass may call it; a timm or home-made scheduler with a `get_lr()` of its own is
left alone).

## Why is this bad?
`get_lr()` computes the next value from the internal state for the scheduler's own `step()`; called
from outside it can return a different value than the one in use (and warns since PyTorch 1.4).
`get_last_lr()` returns the learning rates actually set.

## Example
```python
import torch

scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
    print(scheduler.get_lr())
```

## Use instead:
```python
import torch

scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
    print(scheduler.get_last_lr())
```
"""
        + _REFERENCES,
        fix="always available: `get_lr()` becomes `get_last_lr()`.",
    ),
    Rule(
        code="LR011",
        name="lightning-scheduler-config",
        severity="error",
        side="static",
        summary="Lightning configure_optimizers returns a scheduler config that Lightning will step wrongly.",
        message="{problem}",
        doc="""## What it does
Checks what a Lightning `configure_optimizers` returns: a per-batch scheduler needs
`"interval": "step"` (Lightning's default interval is the epoch), and a `ReduceLROnPlateau`
needs a `"monitor"`.

## Why is this bad?
Lightning steps the scheduler as the config says. A `OneCycleLR` left at the default interval is
stepped once per epoch and never leaves its warm-up; a plateau scheduler without a monitor stops
the run with an error.

## Example
```python
import lightning as L
import torch


class LitModel(L.LightningModule):
    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=1e-3, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler}}
```

## Use instead:
```python
import lightning as L
import torch


class LitModel(L.LightningModule):
    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=1e-3, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
```
""",
        fix='sometimes available: `"interval": "step"` is added to the scheduler\'s config dict, or a bare scheduler gets one; an explicit `"interval": "epoch"` becomes `"step"` only as an unsafe suggestion. No fix for a missing `"monitor"`.',
    ),
    Rule(
        code="LR012",
        name="schedule-horizon-mismatch",
        severity="warning",
        side="static",
        summary="The schedule's horizon disagrees with the length of the loop it is stepped in.",
        message="`{scheduler}` ({kind}) has a horizon of {horizon} but is stepped {count} times; {consequence}",
        doc="""## What it does
Compares a schedule's horizon with the loop it is stepped in: a `CosineAnnealingLR` whose `T_max`
is below the number of epochs, a `OneCycleLR` whose `epochs`/`total_steps` is below the length of
the run.

## Why is this bad?
Past `T_max` a cosine climbs back up to the base learning rate; past its `total_steps` a
`OneCycleLR` raises a `ValueError` in the middle of training.

## Example
```python
import torch

scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=50)
for epoch in range(100):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
```

## Use instead:
```python
import torch

scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100)
for epoch in range(100):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR013",
        name="manual-lr-with-scheduler",
        severity="warning",
        side="both",
        summary="The training loop writes the learning rate of an optimizer that a scheduler drives.",
        message="the learning rate of `{optimizer}` is set by hand while `{scheduler}` also drives it; "
        "the two overwrite each other",
        doc="""## What it does
Finds writes to `param_group["lr"]` of an optimizer that a scheduler also drives.

## Why is this bad?
Most schedulers compute the next value from their own state, not from the current learning rate:
the manual value is overwritten at the next `step()`, or (for chainable schedulers) compounds with
the schedule in ways nobody intended.

## Example
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=30)
for epoch in range(30):
    for group in optimizer.param_groups:
        group["lr"] = base_lr * warmup_factor(epoch)
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
```

## Use instead:
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9)
warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)
cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=25)
scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[5])
for epoch in range(30):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR014",
        name="scheduler-stepped-twice",
        severity="error",
        side="both",
        summary="The same scheduler is stepped twice per training iteration.",
        message="`{scheduler}` is stepped a second time in the same iteration; its schedule runs twice as fast",
        doc="""## What it does
Finds a scheduler stepped twice per training iteration: twice in one loop body, or both per batch
and per epoch.

## Why is this bad?
Each `step()` advances the schedule; stepping twice halves every horizon and milestone.

## Example
```python
import torch

scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=30 * len(loader))
for epoch in range(30):
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
    scheduler.step()
```

## Use instead:
```python
import torch

scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=30 * len(loader))
for epoch in range(30):
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR015",
        name="scheduler-optimizer-mismatch",
        severity="warning",
        side="both",
        summary="The scheduler drives an optimizer that the training loop never steps.",
        message="`{scheduler}` drives `{optimizer}`, which is never stepped, while `{stepped}` is; "
        "the schedule has no effect on training",
        doc="""## What it does
Finds a scheduler built on one optimizer while the training loop steps another one.

## Why is this bad?
The scheduler changes the learning rate of an optimizer nobody uses; the one that trains the model
keeps a constant learning rate.

## Example
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
old_optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(old_optimizer, step_size=10)
for epoch in range(30):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
```

## Use instead:
```python
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
for epoch in range(30):
    train_one_epoch(model, loader, optimizer)
    scheduler.step()
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR016",
        name="plateau-constant-metric",
        severity="warning",
        side="both",
        summary="ReduceLROnPlateau is fed a value that never changes.",
        message="`{scheduler}.step({metric})` is fed a value that never changes; "
        "ReduceLROnPlateau then decays on patience alone",
        doc="""## What it does
Finds a `ReduceLROnPlateau` stepped with a literal or with a value that does not change between
epochs.

## Why is this bad?
A constant metric never improves, so the learning rate is cut every `patience` epochs regardless
of how training goes: a slow step decay nobody chose.

## Example
```python
import torch

scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=5)
for epoch in range(50):
    train_one_epoch(model, loader, optimizer)
    scheduler.step(0.0)
```

## Use instead:
```python
import torch

scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=5)
for epoch in range(50):
    train_one_epoch(model, loader, optimizer)
    scheduler.step(evaluate(model, val_loader))
```
"""
        + _REFERENCES,
    ),
    Rule(
        code="LR017",
        name="timm-step-api-mismatch",
        severity="error",
        side="static",
        summary="A timm scheduler is stepped through the API its t_in_epochs setting ignores.",
        message="`{scheduler}.{method}()` does nothing when `t_in_epochs={t_in_epochs}`; use `{scheduler}.{instead}()`",
        doc="""## What it does
Finds a timm scheduler stepped through the API that its `t_in_epochs` setting ignores:
`step_update()` with `t_in_epochs=True`, `step(epoch)` with `t_in_epochs=False`.

## Why is this bad?
timm schedulers update either per epoch (`step(epoch)`) or per update (`step_update(num_updates)`);
the other call returns without changing anything, so the learning rate stays constant.

## Example
```python
from timm.scheduler import CosineLRScheduler

scheduler = CosineLRScheduler(optimizer, t_initial=num_steps, t_in_epochs=False)
for epoch in range(epochs):
    train_one_epoch(model, loader, optimizer)
    scheduler.step(epoch + 1)
```

## Use instead:
```python
from timm.scheduler import CosineLRScheduler

scheduler = CosineLRScheduler(optimizer, t_initial=num_steps, t_in_epochs=False)
num_updates = 0
for epoch in range(epochs):
    for x, y in loader:
        train_step(model, x, y, optimizer)
        num_updates += 1
        scheduler.step_update(num_updates)
```
""",
    ),
)

RULES: Dict[str, Rule] = {rule.code: rule for rule in _RULES}
RULES_BY_NAME: Dict[str, Rule] = {rule.name: rule for rule in _RULES}


def all_rules() -> Iterator[Rule]:
    return iter(_RULES)


def lookup(code_or_name: str) -> Optional[Rule]:
    """Find a rule by code (``LR001``, any case) or kebab-case name."""
    key = code_or_name.strip()
    return RULES.get(key.upper()) or RULES_BY_NAME.get(key.lower())
