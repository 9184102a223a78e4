"""The static side of ``lrlint preview``: scripts read into schedule plans (constructor arguments,
the optimizer's rates, the cadence of each step, and the intended stepping where a rule fires)."""

from __future__ import annotations

import textwrap
from typing import Optional

import pytest

from lrlint.preview.plan import (
    OPTIMIZER,
    Cadence,
    Expression,
    Function,
    Loop,
    Missing,
    Preview,
    Quantity,
    SchedulePlan,
    SchedulerCall,
)
from lrlint.preview.static import fill_in, missing_values, read_preview

EPOCHS, STEPS = Quantity("epochs"), Quantity("steps_per_epoch")
LR = "torch.optim.lr_scheduler."


def preview_of(code: str) -> Preview:
    return read_preview(textwrap.dedent(code), "train.py")


def only_plan(code: str) -> SchedulePlan:
    found = preview_of(code)
    assert len(found.plans) == 1, found
    return found.plans[0]


def sites(plan: SchedulePlan, intended: bool = False) -> tuple:
    stepping = plan.intended.stepping if intended and plan.intended else plan.stepping
    assert stepping is not None
    return tuple((site.cadence, site.before_optimizer, site.metric) for site in stepping.sites)


def kwargs(call: SchedulerCall) -> dict:
    return dict(call.kwargs)


ONECYCLE_PER_EPOCH = """
    import torch
    from torch.utils.data import DataLoader

    model = torch.nn.Linear(4, 2)
    loader = DataLoader(range(100), batch_size=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
    for epoch in range(10):
        for x in loader:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        scheduler.step()
"""


def test_onecycle_stepped_per_epoch_is_meant_per_update() -> None:
    found = preview_of(ONECYCLE_PER_EPOCH)
    assert found.loop == Loop(10, Missing("len(loader)", "--steps-per-epoch"), 1)
    (plan,) = found.plans
    assert plan.scheduler.qualname == LR + "OneCycleLR"
    assert plan.scheduler.args == (OPTIMIZER,)
    assert kwargs(plan.scheduler) == {"max_lr": 0.1, "epochs": 10, "steps_per_epoch": STEPS}
    assert plan.scheduler.line == 8
    assert plan.base_lrs == (0.01,)
    assert sites(plan) == ((Cadence.PER_EPOCH, False, False),)
    assert plan.intended is not None and plan.intended.codes == ("LR002",)
    assert sites(plan, intended=True) == ((Cadence.PER_UPDATE, False, False),)


def test_a_correct_script_has_no_intended_curve() -> None:
    plan = only_plan(
        ONECYCLE_PER_EPOCH.replace(
            "            optimizer.step()\n        scheduler.step()",
            "            optimizer.step()\n            scheduler.step()",
        )
    )
    assert sites(plan) == ((Cadence.PER_UPDATE, False, False),)
    assert plan.intended is None


def test_steplr_per_batch_is_meant_per_epoch_with_argparse_defaults() -> None:
    plan = only_plan(
        """
        import argparse
        import torch

        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int, default=30)
        parser.add_argument("--lr", type=float, default=0.1)
        args = parser.parse_args()
        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.epochs // 3, gamma=0.1)
        for epoch in range(args.epochs):
            for x, y in train_loader:
                loss = model(x).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
        """
    )
    assert plan.base_lrs == (0.1,)
    assert kwargs(plan.scheduler) == {"step_size": Expression("({epochs} // 3)"), "gamma": 0.1}
    assert sites(plan) == ((Cadence.PER_UPDATE, False, False),)
    assert plan.intended is not None and plan.intended.codes == ("LR003",)
    assert sites(plan, intended=True) == ((Cadence.PER_EPOCH, False, False),)


def test_accumulation_and_a_scheduler_that_outpaces_the_optimizer() -> None:
    found = preview_of(
        """
        import torch

        accum_steps = 4
        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=100)
        for epoch in range(3):
            for i, batch in enumerate(tqdm(train_loader)):
                model(batch).sum().backward()
                if (i + 1) % accum_steps == 0:
                    optimizer.step()
                    optimizer.zero_grad()
                scheduler.step()
        """
    )
    assert found.loop == Loop(3, Missing("len(train_loader)", "--steps-per-epoch"), 4)
    (plan,) = found.plans
    assert sites(plan) == ((Cadence.PER_BATCH, False, False),)
    assert plan.intended is not None and plan.intended.codes == ("LR009",)
    assert sites(plan, intended=True) == ((Cadence.PER_UPDATE, False, False),)


def test_scheduler_before_optimizer_is_meant_after_it() -> None:
    plan = only_plan(
        """
        import torch

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
        for epoch in range(20):
            scheduler.step()
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
        """
    )
    assert sites(plan) == ((Cadence.BEFORE_EPOCH, False, False),)
    assert plan.intended is not None and plan.intended.codes == ("LR001",)
    assert sites(plan, intended=True) == ((Cadence.PER_EPOCH, False, False),)


def test_cosine_horizon_below_the_epochs_is_meant_to_span_them() -> None:
    plan = only_plan(
        """
        import torch

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=50)
        for epoch in range(200):
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            scheduler.step()
        """
    )
    assert plan.intended is not None and plan.intended.codes == ("LR012",)
    assert plan.intended.stepping is None
    assert plan.intended.scheduler is not None and kwargs(plan.intended.scheduler) == {"T_max": EPOCHS}


def test_plateau_without_metric_is_meant_with_it() -> None:
    plan = only_plan(
        """
        import torch

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.Adam(model.parameters())
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=2)
        for epoch in range(30):
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            scheduler.step()
        """
    )
    assert plan.base_lrs == (1e-3,)  # Adam's default
    assert sites(plan) == ((Cadence.PER_EPOCH, False, False),)
    assert plan.intended is not None and plan.intended.codes == ("LR005",)
    assert sites(plan, intended=True) == ((Cadence.PER_EPOCH, False, True),)


def test_warmup_function_param_groups_and_sequential_schedulers() -> None:
    found = preview_of(
        """
        import math
        import torch

        warmup_steps = 500
        total_steps = 10 * len(train_loader)

        def lr_lambda(step):
            \"\"\"Linear warm-up, then cosine.\"\"\"
            if step < warmup_steps:
                return step / max(1, warmup_steps)
            progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
            return 0.5 * (1.0 + math.cos(math.pi * progress))

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.AdamW(
            [{"params": model.weight, "lr": 1e-3}, {"params": model.bias}], lr=5e-4, weight_decay=0.01
        )
        warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
        decay = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.99)
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[500])
        for epoch in range(10):
            for batch in train_loader:
                optimizer.zero_grad()
                model(batch).sum().backward()
                optimizer.step()
                scheduler.step()
        """
    )
    (plan,) = found.plans  # the two inner schedulers are replayed inside SequentialLR
    assert plan.scheduler.qualname == LR + "SequentialLR"
    assert plan.base_lrs == (1e-3, 5e-4)
    inner = plan.scheduler.args[1]
    assert isinstance(inner, tuple) and [call.qualname for call in inner] == [LR + "LambdaLR", LR + "ExponentialLR"]
    function = inner[0].args[1]
    assert isinstance(function, Function) and function.parameter == "step" and function.body == ""
    assert function.statements[0].startswith("if step < warmup_steps:")
    assert function.statements[-1] == "return 0.5 * (1.0 + math.cos(math.pi * progress))"
    assert dict(function.bindings) == {"warmup_steps": 500, "total_steps": Expression("(10 * {steps_per_epoch})")}
    assert kwargs(plan.scheduler) == {"milestones": (500,)}


def test_lambda_reads_the_names_it_uses() -> None:
    plan = only_plan(
        """
        import torch

        warmup = 100
        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda s: min(1.0, (s + 1) / warmup))
        for epoch in range(2):
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
                scheduler.step()
        """
    )
    function = kwargs(plan.scheduler)["lr_lambda"]
    assert function == Function("s", "min(1.0, (s + 1) / warmup)", (("warmup", 100),))


def test_values_known_only_at_run_time_are_missing_and_can_be_set() -> None:
    found = preview_of(
        """
        import torch

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"])
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config["step"])
        for epoch in range(num_epochs):
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            scheduler.step()
        """
    )
    assert found.loop.epochs == Missing("num_epochs", "--epochs")
    assert missing_values(found) == [Missing('config["step"]'), Missing('config["lr"]', "--lr")]
    filled = fill_in(found, {'config["step"]': 5}, lr=0.2)
    assert missing_values(filled) == []
    assert kwargs(filled.plans[0].scheduler) == {"step_size": 5}
    assert filled.plans[0].base_lrs == (0.2,)


@pytest.mark.parametrize(
    "construction, note",
    [
        ("timm.scheduler.CosineLRScheduler(optimizer, t_initial=10)", "a timm scheduler"),
        ("make_scheduler(optimizer)", None),
    ],
)
def test_schedulers_it_cannot_replay_are_noted_not_guessed(construction: str, note: Optional[str]) -> None:
    found = preview_of(
        f"""
        import timm.scheduler
        import torch

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = {construction}
        for epoch in range(10):
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            scheduler.step(epoch)
        """
    )
    assert found.plans == ()
    if note is not None:
        assert any(note in text for text in found.notes), found.notes


def test_a_scheduler_handed_to_unseen_code_is_not_previewed() -> None:
    found = preview_of(
        """
        import torch
        from mylib import fit

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
        fit(model, optimizer, scheduler)
        """
    )
    assert found.plans == ()
    assert any("not previewed" in note for note in found.notes), found.notes


def test_a_condition_on_the_step_is_assumed_and_said() -> None:
    found = preview_of(
        """
        import torch

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
        for epoch in range(30):
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            if epoch >= 5:
                scheduler.step()
        """
    )
    assert sites(found.plans[0]) == ((Cadence.PER_EPOCH, False, False),)
    assert any("assumes `epoch >= 5` holds" in note for note in found.notes), found.notes


def test_full_batch_training_steps_once_per_epoch() -> None:
    found = preview_of(
        """
        import torch

        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[30, 80], gamma=0.1)
        for epoch in range(100):
            optimizer.zero_grad()
            model(data).sum().backward()
            optimizer.step()
            scheduler.step()
        """
    )
    assert found.loop == Loop(100, 1, 1)
    assert sites(found.plans[0]) == ((Cadence.PER_UPDATE, False, False),)
    assert kwargs(found.plans[0].scheduler) == {"milestones": (30, 80), "gamma": 0.1}


def test_a_script_without_schedulers_gives_nothing() -> None:
    assert preview_of("import torch\nx = torch.zeros(3)\n").plans == ()


LIGHTNING_MODULE = """
    import lightning.pytorch as pl
    import torch


    class Model(pl.LightningModule):
        def training_step(self, batch, batch_idx):
            return self.net(batch).sum()

        def configure_optimizers(self):
            optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
            scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=self.hparams.lr * 10, total_steps=self.trainer.estimated_stepping_batches
            )
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, CONFIG}}


    pl.Trainer(max_epochs=12).fit(Model(), loader)
"""


def test_lightning_steps_by_its_interval_and_the_trainer_gives_the_epochs() -> None:
    found = preview_of(LIGHTNING_MODULE.replace("CONFIG", '"interval": "step", "frequency": 1'))
    assert found.loop == Loop(12, Missing("the number of batches per epoch", "--steps-per-epoch"), 1)
    (plan,) = found.plans
    assert sites(plan) == ((Cadence.PER_UPDATE, False, False),)
    assert plan.intended is None
    assert kwargs(plan.scheduler)["total_steps"] == Expression("{epochs} * {steps_per_epoch} // {accumulation}")
    assert missing_values(found) == [Missing("self.hparams.lr", "--lr")]  # asked for once, for both uses
    filled = fill_in(found, {}, lr=0.01)
    assert kwargs(filled.plans[0].scheduler)["max_lr"] == Expression("(0.01 * 10)")
    assert filled.plans[0].base_lrs == (0.01,)


def test_lightning_default_interval_is_the_epoch_and_lr011_means_the_step() -> None:
    (plan,) = preview_of(LIGHTNING_MODULE.replace("CONFIG", '"monitor": "val_loss"')).plans
    assert sites(plan) == ((Cadence.PER_EPOCH, False, False),)
    assert plan.intended is not None and plan.intended.codes == ("LR011",)
    assert sites(plan, intended=True) == ((Cadence.PER_UPDATE, False, False),)


def test_lightning_stepping_it_cannot_follow_is_noted() -> None:
    found = preview_of(LIGHTNING_MODULE.replace("CONFIG", '"interval": "step", "frequency": 2'))
    assert found.plans == () and any('"frequency"' in note for note in found.notes), found.notes


def test_transformers_trainer_steps_after_each_update() -> None:
    found = preview_of(
        """
        import torch
        from transformers import Trainer, TrainingArguments, get_linear_schedule_with_warmup

        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
        scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=100, num_training_steps=1000)
        args = TrainingArguments("out", num_train_epochs=3)
        Trainer(model=model, args=args, optimizers=(optimizer, scheduler)).train()
        """
    )
    assert found.loop.epochs == 3
    (plan,) = found.plans
    assert plan.scheduler.qualname == "transformers.get_linear_schedule_with_warmup"
    assert sites(plan) == ((Cadence.PER_UPDATE, False, False),)
    assert plan.base_lrs == (5e-5,)


def test_arguments_are_read_as_they_were_at_the_call() -> None:
    """Names rebound after the call (even to the scheduler itself) do not leak into it."""
    found = preview_of(
        """
        import torch

        lr = 0.1
        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        lr = 0.5
        scheduler = lambda epoch: 0.9 ** epoch
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=scheduler)
        epoch_iter = tqdm(range(8))
        for epoch in epoch_iter:
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            scheduler.step()
        """
    )
    assert found.loop.epochs == 8
    (plan,) = found.plans
    assert plan.base_lrs == (0.1,)
    assert kwargs(plan.scheduler)["lr_lambda"] == Function("epoch", "0.9 ** epoch")
