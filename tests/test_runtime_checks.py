"""The runtime guard's cadence, ownership and metric checks on real (CPU) training loops:
LR001 (late swaps), LR002, LR003, LR007, LR009, LR013, LR014, LR016, and the correct loops
around them (resumed schedulers, accelerate, SequentialLR) that must stay silent."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")

import lrlint  # noqa: E402
from lrlint import ScheduleMisuseWarning  # noqa: E402

lr_scheduler = torch.optim.lr_scheduler
EPOCHS, BATCHES = 3, 10


def make_optimizer(lr: float = 0.1):
    model = torch.nn.Linear(4, 1)
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def make_loader(batches: int = BATCHES):
    dataset = torch.utils.data.TensorDataset(torch.ones(batches * 2, 4))
    return torch.utils.data.DataLoader(dataset, batch_size=2)


def backward(model, batch=None) -> None:
    model(torch.ones(2, 4) if batch is None else batch).sum().backward()


def train_step(model, optimizer, batch=None) -> None:
    optimizer.zero_grad()
    backward(model, batch)
    optimizer.step()


def run(fn) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [w.message.code for w in caught if isinstance(w.message, ScheduleMisuseWarning)]


def guarded_run(build, loop) -> list:
    """Build the scheduler inside ``lrlint.guarded()`` and run ``loop(model, optimizer, scheduler)``."""

    def block():
        with lrlint.guarded():
            model, optimizer = make_optimizer()
            loop(model, optimizer, build(optimizer))

    return run(block)


def per_batch(model, optimizer, scheduler) -> None:
    loader = make_loader()
    for _ in range(EPOCHS):
        for (batch,) in loader:
            train_step(model, optimizer, batch)
            scheduler.step()


def per_epoch(model, optimizer, scheduler) -> None:
    loader = make_loader()
    for _ in range(EPOCHS):
        for (batch,) in loader:
            train_step(model, optimizer, batch)
        scheduler.step()


# -- LR001 / LR009 / LR014: the interleaving of steps -------------------------------------------


def test_order_swapped_for_good_from_a_late_iteration_is_lr001():
    def loop(model, optimizer, scheduler):
        for iteration in range(12):
            optimizer.zero_grad()
            backward(model)
            if iteration < 8:
                optimizer.step()
                scheduler.step()
            else:
                scheduler.step()
                optimizer.step()

    assert guarded_run(lambda opt: lr_scheduler.LambdaLR(opt, lambda step: 1.0), loop) == ["LR001"]


@pytest.mark.parametrize("accumulation", [2, 4])
def test_scheduler_outside_the_accumulation_branch_is_lr009(accumulation):
    def loop(model, optimizer, scheduler):
        for iteration in range(16):
            backward(model)
            if (iteration + 1) % accumulation == 0:
                optimizer.step()
                optimizer.zero_grad()
            scheduler.step()

    assert guarded_run(lambda opt: lr_scheduler.LinearLR(opt, total_iters=16), loop) == ["LR009"]


def test_scheduler_inside_the_accumulation_branch_is_silent():
    def loop(model, optimizer, scheduler):
        for iteration in range(16):
            backward(model)
            if (iteration + 1) % 4 == 0:
                optimizer.step()
                optimizer.zero_grad()
                scheduler.step()

    assert guarded_run(lambda opt: lr_scheduler.LinearLR(opt, total_iters=4), loop) == []


def test_stepped_twice_in_one_iteration_is_lr014():
    def loop(model, optimizer, scheduler):
        for _ in range(4):
            train_step(model, optimizer)
            scheduler.step()
            scheduler.step()

    assert guarded_run(lambda opt: lr_scheduler.ExponentialLR(opt, 0.99), loop) == ["LR014"]


def test_stepped_per_batch_and_again_per_epoch_is_lr014():
    def loop(model, optimizer, scheduler):
        per_batch(model, optimizer, scheduler)
        scheduler.step()  # nothing yet: one extra step is not a pattern
        per_batch(model, optimizer, scheduler)
        scheduler.step()

    build = lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=200)  # noqa: E731
    assert guarded_run(build, loop) == ["LR014"]


# -- LR002: a per-batch schedule stepped per epoch ----------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=BATCHES),
        lambda opt: lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1),
    ],
    ids=["OneCycleLR", "CyclicLR"],
)
def test_per_batch_scheduler_stepped_per_epoch_is_lr002(build):
    assert guarded_run(build, per_epoch) == ["LR002"]


def test_transformers_warmup_schedule_stepped_per_epoch_is_lr002():
    transformers = pytest.importorskip("transformers")
    build = lambda opt: transformers.get_linear_schedule_with_warmup(opt, 5, EPOCHS * BATCHES)  # noqa: E731
    assert guarded_run(build, per_epoch) == ["LR002"]


def test_one_cycle_over_epochs_stepped_per_epoch_is_silent():
    build = lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=EPOCHS)  # noqa: E731
    assert guarded_run(build, per_epoch) == []


# -- LR003: an epoch schedule stepped per batch -------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS),
        lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[1, 2]),
        lambda opt: lr_scheduler.StepLR(opt, step_size=1),
        lambda opt: lr_scheduler.PolynomialLR(opt, total_iters=EPOCHS),
    ],
    ids=["CosineAnnealingLR", "MultiStepLR", "StepLR", "PolynomialLR"],
)
def test_epoch_scheduler_stepped_per_batch_is_lr003(build):
    assert guarded_run(build, per_batch) == ["LR003"]


@pytest.mark.parametrize(
    "build",
    [
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS * BATCHES),
        lambda opt: lr_scheduler.StepLR(opt, step_size=BATCHES, gamma=0.5),
        lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.99),
        lambda opt: lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3),  # a warm-up ends early by design
    ],
    ids=["CosineAnnealingLR", "StepLR", "ExponentialLR", "LinearLR"],
)
def test_schedules_sized_in_batches_stepped_per_batch_are_silent(build):
    assert guarded_run(build, per_batch) == []


# -- ReduceLROnPlateau: LR007 and LR016 ----------------------------------------------------------


def plateau_loop(metrics):
    def loop(model, optimizer, scheduler):
        for value in metrics:
            train_step(model, optimizer)
            scheduler.step(value)

    return loop


def test_plateau_in_min_mode_fed_a_rising_accuracy_is_lr007():
    accuracy = [0.41, 0.55, 0.62, 0.62, 0.70, 0.74, 0.75]
    assert guarded_run(lambda opt: lr_scheduler.ReduceLROnPlateau(opt), plateau_loop(accuracy)) == ["LR007"]


def test_plateau_in_max_mode_fed_a_falling_loss_is_lr007():
    losses = [torch.tensor(v) for v in (2.3, 1.7, 1.2, 1.0, 0.9, 0.85)]
    build = lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode="max")  # noqa: E731
    assert guarded_run(build, plateau_loop(losses)) == ["LR007"]


@pytest.mark.parametrize(
    "mode, metrics",
    [("min", [2.3, 1.7, 1.2, 1.3, 1.25, 1.4, 1.5]), ("max", [0.4, 0.6, 0.58, 0.7, 0.72, 0.71])],
)
def test_plateau_fed_the_metric_its_mode_expects_is_silent(mode, metrics):
    build = lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode=mode, patience=1)  # noqa: E731
    assert guarded_run(build, plateau_loop(metrics)) == []


def test_plateau_fed_a_constant_is_lr016():
    assert guarded_run(lambda opt: lr_scheduler.ReduceLROnPlateau(opt), plateau_loop([0.0] * 6)) == ["LR016"]


def test_plateau_metric_on_a_tensor_gives_the_same_learning_rates():
    def lrs(guard: bool) -> list:
        model, optimizer = make_optimizer()
        scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)
        if guard:
            lrlint.guard(scheduler, on_violation="raise")
        seen = []
        for value in (1.0, 0.9, 0.95, 0.97, 0.8):
            train_step(model, optimizer)
            scheduler.step(torch.tensor(value))
            seen.append(optimizer.param_groups[0]["lr"])
        return seen

    assert lrs(True) == lrs(False)


# -- LR013: a learning rate set by hand ----------------------------------------------------------


def test_learning_rate_set_by_hand_while_a_scheduler_drives_it_is_lr013():
    def loop(model, optimizer, scheduler):
        for iteration in range(6):
            if iteration == 3:
                for group in optimizer.param_groups:
                    group["lr"] = 0.01
            train_step(model, optimizer)
            scheduler.step()

    assert guarded_run(lambda opt: lr_scheduler.StepLR(opt, step_size=2), loop) == ["LR013"]


def test_sequential_warmup_then_cosine_under_guarded_is_silent():
    def build(opt):
        warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5)
        cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS * BATCHES)
        return lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[5])

    assert guarded_run(build, per_batch) == []
    # the cosine is never reached in a short run: it is SequentialLR's to step, so no LR004
    assert guarded_run(build, lambda model, opt, sched: [train_step(model, opt), sched.step()]) == []


def test_guarded_block_guards_plateau_sequential_and_chained_schedulers():
    with lrlint.guarded():
        _, optimizer = make_optimizer()
        schedulers = [
            lr_scheduler.ReduceLROnPlateau(optimizer),
            lr_scheduler.SequentialLR(optimizer, [lr_scheduler.ConstantLR(optimizer)], milestones=[]),
            lr_scheduler.ChainedScheduler([lr_scheduler.ExponentialLR(optimizer, 0.9)]),
        ]
        from lrlint.runtime.guarding import _STATES

        assert all(id(s) in _STATES for s in schedulers)


# -- resumed schedulers --------------------------------------------------------------------------


def test_resumed_by_fast_forwarding_the_scheduler_is_silent():
    def loop(model, optimizer, scheduler):
        for _ in range(12):  # resume at step 12 the way many scripts do
            scheduler.step()
        per_batch(model, optimizer, scheduler)

    build = lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=12 + EPOCHS * BATCHES)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's own first-step warning
        assert guarded_run(build, loop) == []


@pytest.mark.parametrize("cadence", [per_batch, per_epoch])
def test_resumed_from_a_checkpoint_is_silent(cadence, tmp_path):
    def build(opt):
        return lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=2 * EPOCHS, steps_per_epoch=BATCHES)

    checkpoint = tmp_path / "last.pt"

    def first_half(model, optimizer, scheduler):
        per_batch(model, optimizer, scheduler)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, checkpoint)

    def second_half(model, optimizer, scheduler):
        state = torch.load(checkpoint)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        per_batch(model, optimizer, scheduler)

    assert guarded_run(build, first_half) == []
    assert guarded_run(build, second_half) == []
    # a plateau resumed mid-run, stepped per epoch with its metric
    build_plateau = lambda opt: lr_scheduler.ReduceLROnPlateau(opt)  # noqa: E731
    assert guarded_run(build_plateau, plateau_loop([0.5, 0.4, 0.45, 0.3, 0.35, 0.2])) == []


# -- accelerate ----------------------------------------------------------------------------------


def test_accelerate_prepared_training_with_accumulation_is_silent():
    accelerate = pytest.importorskip("accelerate")

    def block():
        with lrlint.guarded():
            accelerator = accelerate.Accelerator(gradient_accumulation_steps=2, cpu=True)
            model, optimizer = make_optimizer()
            scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=EPOCHS * BATCHES)
            model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, make_loader(), scheduler)
            for _ in range(EPOCHS):
                for (batch,) in loader:
                    with accelerator.accumulate(model):
                        accelerator.backward(model(batch).sum())
                        optimizer.step()
                        scheduler.step()
                        optimizer.zero_grad()

    assert run(block) == []


def test_accelerate_stepping_once_per_process_counts_as_one_step(monkeypatch):
    accelerate = pytest.importorskip("accelerate")
    scheduler_module = pytest.importorskip("accelerate.scheduler")

    class TwoProcesses:
        num_processes = 2

    def block():
        with lrlint.guarded():
            accelerator = accelerate.Accelerator(cpu=True)
            model, optimizer = make_optimizer()
            scheduler = lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
            model, optimizer, prepared = accelerator.prepare(model, optimizer, scheduler)
            monkeypatch.setattr(scheduler_module, "AcceleratorState", TwoProcesses)
            for _ in range(6):
                train_step(model, optimizer)
                prepared.step()
            assert scheduler.last_epoch == 12  # stepped twice per call, as accelerate does

    assert run(block) == []


# -- where reports point -------------------------------------------------------------------------


def test_warnings_point_at_the_line_that_stepped_the_scheduler():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            scheduler.step()
            train_step(model, optimizer)
    files = {(type(w.message).__name__, w.filename) for w in caught}
    assert files == {("ScheduleMisuseWarning", __file__), ("UserWarning", __file__)}  # ours and torch's own


# -- the guard never stops training --------------------------------------------------------------


@pytest.mark.parametrize("mode", ["warn", "log"])
def test_an_internal_error_is_reported_once_and_the_guard_stands_aside(mode, monkeypatch):
    from lrlint.runtime import guarding

    def broken(*args, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(guarding, "check_step", broken)

    def lrs(guard: bool) -> list:
        model, optimizer = make_optimizer()
        scheduler = lr_scheduler.StepLR(optimizer, step_size=2)
        if guard:
            lrlint.guard(scheduler, on_violation=mode)
        seen = []
        for _ in range(5):
            train_step(model, optimizer)
            scheduler.step()
            seen.append(optimizer.param_groups[0]["lr"])
        return seen

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        guarded_lrs = lrs(True)
    assert guarded_lrs == lrs(False)
    assert [str(w.message) for w in caught] == [
        "lrlint: the runtime guard stopped checking StepLR after an internal error: KeyError('bug')"
    ]


def test_learning_rates_on_an_accelerator_are_never_read():
    from lrlint.runtime.signals import learning_rates

    _, optimizer = make_optimizer()
    assert learning_rates(optimizer) == [0.1]
    optimizer.param_groups[0]["lr"] = torch.tensor(0.1)
    assert learning_rates(optimizer) == [pytest.approx(0.1)]
    optimizer.param_groups[0]["lr"] = torch.tensor(0.1, device="meta")  # stands for a CUDA tensor
    assert learning_rates(optimizer) is None


# -- every class, correctly stepped in a DataLoader loop under guarded() ---------------------------

PER_EPOCH = {
    "StepLR": lambda opt: lr_scheduler.StepLR(opt, 2),
    "MultiStepLR": lambda opt: lr_scheduler.MultiStepLR(opt, [2, 3]),
    "ConstantLR": lambda opt: lr_scheduler.ConstantLR(opt),
    "LinearLR": lambda opt: lr_scheduler.LinearLR(opt),
    "ExponentialLR": lambda opt: lr_scheduler.ExponentialLR(opt, 0.9),
    "PolynomialLR": lambda opt: lr_scheduler.PolynomialLR(opt, EPOCHS),
    "CosineAnnealingLR": lambda opt: lr_scheduler.CosineAnnealingLR(opt, EPOCHS),
    "LambdaLR": lambda opt: lr_scheduler.LambdaLR(opt, lambda epoch: 0.9**epoch),
    "MultiplicativeLR": lambda opt: lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.95),
    "CosineAnnealingWarmRestarts": lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, 2),
    "SequentialLR": lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.LinearLR(opt, total_iters=2), lr_scheduler.ExponentialLR(opt, 0.9)], [2]
    ),
    "ChainedScheduler": lambda opt: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(opt, total_iters=2), lr_scheduler.ExponentialLR(opt, 0.9)]
    ),
}
PER_BATCH = {
    "OneCycleLR": lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=BATCHES),
    "CyclicLR": lambda opt: lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=BATCHES),
    "CosineAnnealingLR": lambda opt: lr_scheduler.CosineAnnealingLR(opt, EPOCHS * BATCHES),
    "LinearLR": lambda opt: lr_scheduler.LinearLR(opt, 0.1, total_iters=5),
}


@pytest.mark.parametrize("name", sorted(PER_EPOCH))
def test_every_class_stepped_per_epoch_under_guarded_is_silent(name):
    assert guarded_run(PER_EPOCH[name], per_epoch) == []


@pytest.mark.parametrize("name", sorted(PER_BATCH))
def test_per_batch_classes_stepped_per_batch_under_guarded_are_silent(name):
    assert guarded_run(PER_BATCH[name], per_batch) == []


def test_warm_restarts_are_still_checked_after_construction():
    def loop(model, optimizer, scheduler):
        for _ in range(3):
            scheduler.step()
            train_step(model, optimizer)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert guarded_run(lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, 2), loop) == ["LR001"]
