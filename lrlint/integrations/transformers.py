"""Guard the scheduler a Hugging Face ``Trainer`` steps: ``Trainer(..., callbacks=[LRLintTrainerCallback()])``.

The Trainer creates its scheduler (or takes the one given in ``optimizers=``) just before
``on_train_begin`` and passes it to every callback event as ``lr_scheduler``.
"""

from __future__ import annotations

from typing import Any, Optional

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from . import checked_mode, guard_framework_scheduler


class LRLintTrainerCallback(TrainerCallback):
    """Guard the Trainer's torch scheduler for the run; report LR004 when training ends."""

    def __init__(self, on_violation: str = "warn") -> None:
        self.on_violation = checked_mode(on_violation)
        self.scheduler: Optional[Any] = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.scheduler = guard_framework_scheduler(kwargs.get("lr_scheduler"), self.on_violation)

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        from lrlint.runtime.guarding import report_unstepped

        if self.scheduler is not None:
            report_unstepped([self.scheduler])
        self.scheduler = None
