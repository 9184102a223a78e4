"""The Lightning and transformers callbacks on tiny CPU runs: misuse reported, correct use silent.

Each group skips on its own when its framework is missing.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, List

import pytest

torch = pytest.importorskip("torch")

import lrlint  # noqa: E402
from lrlint import ScheduleMisuseWarning  # noqa: E402

lr_scheduler = torch.optim.lr_scheduler
BATCHES = 4  # optimizer steps per epoch


def lrlint_codes(run: Callable[[], Any]) -> List[str]:
    """The codes of the lrlint warnings ``run`` emits; the frameworks' own warnings are dropped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    # "lrlint: ..." is the guard standing aside (it could not guard, or hit an internal error):
    # a silent run would prove nothing then.
    assert not [str(w.message) for w in caught if str(w.message).startswith("lrlint:")]
    return [w.message.code for w in caught if isinstance(w.message, ScheduleMisuseWarning)]


def loss_of(layer: Any, x: Any) -> Any:
    return layer(x).pow(2).mean()


# -- Lightning ----------------------------------------------------------------------------------


@pytest.fixture
def tiny_module() -> type:
    """A LightningModule class taking ``configure(optimizer)`` as its ``configure_optimizers``."""
    pl = pytest.importorskip("lightning.pytorch")

    class TinyModule(pl.LightningModule):
        def __init__(self, configure: Callable[[Any], Any]) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)
            self.configure = configure

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = loss_of(self.layer, batch[0])
            self.log("train_loss", loss)
            return loss

        def train_dataloader(self) -> Any:
            dataset = torch.utils.data.TensorDataset(torch.randn(2 * BATCHES, 4))
            return torch.utils.data.DataLoader(dataset, batch_size=2)

        def configure_optimizers(self) -> Any:
            return self.configure(torch.optim.SGD(self.parameters(), lr=0.1))

    return TinyModule


def fit(module: Any, max_epochs: int = 2, on_violation: str = "warn") -> List[str]:
    """Fit ``module`` with the callback; the lrlint codes reported."""
    import lightning.pytorch as pl

    from lrlint.integrations.lightning import LRLintCallback

    trainer = pl.Trainer(
        max_epochs=max_epochs,
        limit_train_batches=BATCHES,
        callbacks=[LRLintCallback(on_violation=on_violation)],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    return lrlint_codes(lambda: trainer.fit(module))


def with_scheduler(make: Callable[[Any], Any], **config: Any) -> Callable[[Any], Any]:
    """A ``configure_optimizers`` returning ``make(optimizer)`` in a scheduler config dict."""
    return lambda optimizer: {"optimizer": optimizer, "lr_scheduler": {"scheduler": make(optimizer), **config}}


def one_cycle(epochs: int) -> Callable[[Any], Any]:
    return lambda optimizer: lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=epochs * BATCHES)


def test_lightning_one_cycle_stepped_per_batch_is_silent(tiny_module: type) -> None:
    assert fit(tiny_module(with_scheduler(one_cycle(2), interval="step"))) == []


def test_lightning_step_lr_stepped_per_epoch_is_silent(tiny_module: type) -> None:
    assert fit(tiny_module(with_scheduler(lambda optimizer: lr_scheduler.StepLR(optimizer, step_size=1)))) == []


def test_lightning_plateau_with_a_monitor_is_silent(tiny_module: type) -> None:
    configure = with_scheduler(lr_scheduler.ReduceLROnPlateau, monitor="train_loss")
    assert fit(tiny_module(configure)) == []


def test_lightning_one_cycle_stepped_per_epoch_is_lr002(tiny_module: type) -> None:
    # Without `"interval": "step"` Lightning steps it once per epoch: 3 steps of its 12.
    assert "LR002" in fit(tiny_module(with_scheduler(one_cycle(3))), max_epochs=3)


def test_lightning_override_stepping_plateau_without_metric_is_lr005(tiny_module: type) -> None:
    class Override(tiny_module):  # type: ignore[misc, valid-type]
        def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
            scheduler.step()  # the metric dropped

    module = Override(with_scheduler(lr_scheduler.ReduceLROnPlateau, monitor="train_loss"))
    # Under "warn" torch's own TypeError (no `metrics`) would follow the warning; "raise" stops first.
    with pytest.raises(lrlint.ScheduleMisuseError) as raised:
        fit(module, on_violation="raise")
    assert raised.value.code == "LR005"


def test_lightning_manual_optimization_never_stepping_its_scheduler_is_lr004(tiny_module: type) -> None:
    class Manual(tiny_module):  # type: ignore[misc, valid-type]
        def __init__(self, configure: Callable[[Any], Any]) -> None:
            super().__init__(configure)
            self.automatic_optimization = False

        def training_step(self, batch: Any, batch_idx: int) -> None:
            optimizer = self.optimizers()
            optimizer.zero_grad()
            self.manual_backward(loss_of(self.layer, batch[0]))
            optimizer.step()  # the scheduler from configure_optimizers is never stepped

    module = Manual(lambda optimizer: ([optimizer], [lr_scheduler.StepLR(optimizer, step_size=1)]))
    assert fit(module) == ["LR004"]


# -- transformers -------------------------------------------------------------------------------


class TinyRegression(torch.nn.Module):
    """What the Trainer needs of a model: keyword inputs in, ``{"loss": ...}`` out."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def forward(self, x: Any, labels: Any) -> dict:
        return {"loss": (self.layer(x).squeeze(-1) - labels).pow(2).mean()}


class TinyDataset(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 16

    def __getitem__(self, index: int) -> dict:
        return {"x": torch.full((4,), float(index)), "labels": torch.tensor(float(index % 3))}


HF_ARGUMENTS = {
    "max_steps": 4,
    "per_device_train_batch_size": 2,
    "report_to": [],
    "save_strategy": "no",
    "logging_strategy": "no",
    "use_cpu": True,
    "disable_tqdm": True,
    "dataloader_pin_memory": False,
}


@pytest.fixture
def hf_train(tmp_path: Any) -> Callable[..., List[str]]:
    """``hf_train(model, callbacks=..., optimizers=..., **arguments)``: train; the lrlint codes reported."""
    transformers = pytest.importorskip("transformers")
    from lrlint.integrations.transformers import LRLintTrainerCallback

    def train(model: Any, callbacks: tuple = (), optimizers: tuple = (None, None), **arguments: Any) -> List[str]:
        args = transformers.TrainingArguments(output_dir=str(tmp_path), **{**HF_ARGUMENTS, **arguments})
        trainer = transformers.Trainer(
            model=model,
            args=args,
            train_dataset=TinyDataset(),
            eval_dataset=TinyDataset(),
            callbacks=[LRLintTrainerCallback(), *callbacks],
            optimizers=optimizers,
        )
        return lrlint_codes(trainer.train)

    return train


def test_transformers_default_linear_schedule_with_accumulation_is_silent(hf_train: Callable[..., List[str]]) -> None:
    assert hf_train(TinyRegression(), gradient_accumulation_steps=2) == []


def test_transformers_callback_stepping_the_scheduler_again_is_reported(hf_train: Callable[..., List[str]]) -> None:
    from transformers import TrainerCallback

    class StepAgain(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            kwargs["lr_scheduler"].step()  # the Trainer has stepped it already

    codes = hf_train(TinyRegression(), callbacks=(StepAgain(),))
    assert set(codes) & {"LR009", "LR014"}


def test_transformers_plateau_given_in_optimizers_is_silent(hf_train: Callable[..., List[str]]) -> None:
    model = TinyRegression()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = lr_scheduler.ReduceLROnPlateau(optimizer)
    # The Trainer steps it after each evaluation, with the eval loss.
    arguments = {"lr_scheduler_type": "reduce_lr_on_plateau", "eval_strategy": "steps", "eval_steps": 2}
    assert hf_train(model, optimizers=(optimizer, plateau), **arguments) == []
