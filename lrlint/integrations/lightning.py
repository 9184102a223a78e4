"""Guard the schedulers a Lightning ``Trainer`` steps: ``Trainer(callbacks=[LRLintCallback()])``.

The guard wraps ``scheduler.step`` itself, so it checks every step Lightning performs (its
``interval``, ``frequency`` and ``monitor`` handling) as well as the steps of a user
``lr_scheduler_step`` override or of manual optimization.
"""

from __future__ import annotations

from typing import Any, List

try:
    from lightning.pytorch import LightningModule, Trainer
    from lightning.pytorch.callbacks import Callback
except ImportError:  # the standalone package from before the `lightning` rename
    from pytorch_lightning import LightningModule, Trainer  # type: ignore[no-redef]
    from pytorch_lightning.callbacks import Callback  # type: ignore[no-redef]

from . import checked_mode, guard_framework_scheduler


class LRLintCallback(Callback):
    """Guard every torch scheduler in ``trainer.lr_scheduler_configs``; report LR004 when training ends."""

    def __init__(self, on_violation: str = "warn") -> None:
        self.on_violation = checked_mode(on_violation)
        self.schedulers: List[Any] = []

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # The configs exist from Strategy.setup on, before on_fit_start; but the LR finder swaps in its
        # own during on_fit_start and a checkpoint is restored after it. Here they are final.
        configs = trainer.lr_scheduler_configs
        guarded = (guard_framework_scheduler(config.scheduler, self.on_violation) for config in configs)
        self.schedulers = [scheduler for scheduler in guarded if scheduler is not None]

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # Not reached when training raised: a never-stepped scheduler is not the news then.
        from lrlint.runtime.guarding import report_unstepped

        report_unstepped(self.schedulers)
        self.schedulers = []
