"""The preview's replay and its safe evaluator.

The replay is checked against the truth: each seed pattern is also trained for real here (a
``torch.nn.Linear``, a real optimizer, loss, backward and step, the scheduler stepped as a script
steps it), recording each group's learning rate just before each ``optimizer.step()``; the replayed
curve must give the same numbers."""

from __future__ import annotations

import ast
import builtins
import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, List, Sequence, Tuple

import pytest

from lrlint.preview.errors import PreviewError
from lrlint.preview.plan import (
    OPTIMIZER,
    Cadence,
    Curve,
    Expression,
    Function,
    Intended,
    Loop,
    Missing,
    Options,
    Preview,
    Quantity,
    SchedulePlan,
    SchedulerCall,
    Stepping,
    StepSite,
)
from lrlint.preview.replay import replay, replay_all, resolve_sizes
from lrlint.preview.safe_eval import compile_function, evaluate_expression

LR = "torch.optim.lr_scheduler."
PER_EPOCH = Stepping((StepSite(Cadence.PER_EPOCH),))
PER_UPDATE = Stepping((StepSite(Cadence.PER_UPDATE),))
PER_EPOCH_WITH_METRIC = Stepping((StepSite(Cadence.PER_EPOCH, metric=True),))
SIZES = {"epochs": 10, "steps_per_epoch": 100, "accumulation": 1}

Rates = List[Tuple[float, ...]]


def call(name: str, *args: Any, **kwargs: Any) -> SchedulerCall:
    qualname = name if "." in name else LR + name
    return SchedulerCall(qualname, (OPTIMIZER, *args), tuple(kwargs.items()), line=7)


# --- the real training loops the replay is compared with -----------------------------------


class Training:
    """A tiny real model: one ``Linear`` per param group, SGD with momentum, a real loss."""

    def __init__(self, base_lrs: Sequence[float]) -> None:
        torch = pytest.importorskip("torch")
        torch.manual_seed(0)
        self.torch = torch
        self.layers = [torch.nn.Linear(3, 1) for _ in base_lrs]
        groups = [{"params": layer.parameters(), "lr": lr} for layer, lr in zip(self.layers, base_lrs)]
        self.optimizer = torch.optim.SGD(groups, lr=base_lrs[0], momentum=0.9)
        self.recorded: Rates = []

    def backward(self, scale: float = 1.0) -> None:
        inputs, targets = self.torch.randn(4, 3), self.torch.randn(4, 1)
        prediction = sum(layer(inputs) for layer in self.layers)
        (self.torch.nn.functional.mse_loss(prediction, targets) / scale).backward()

    def optimizer_step(self) -> None:
        self.recorded.append(tuple(group["lr"] for group in self.optimizer.param_groups))
        self.optimizer.step()
        self.optimizer.zero_grad()


def train_per_epoch(make: Callable[[Any], Any], base_lrs: Sequence[float], epochs: int, steps: int) -> Rates:
    training = Training(base_lrs)
    scheduler = make(training.optimizer)
    for _epoch in range(epochs):
        for _batch in range(steps):
            training.backward()
            training.optimizer_step()
        scheduler.step()
    return training.recorded


def train_per_epoch_with_metric(
    make: Callable[[Any], Any], base_lrs: Sequence[float], epochs: int, steps: int, losses: Sequence[float]
) -> Rates:
    training = Training(base_lrs)
    scheduler = make(training.optimizer)
    for epoch in range(epochs):
        for _batch in range(steps):
            training.backward()
            training.optimizer_step()
        scheduler.step(losses[min(epoch, len(losses) - 1)])
    return training.recorded


def train_per_batch(make: Callable[[Any], Any], base_lrs: Sequence[float], epochs: int, steps: int) -> Rates:
    training = Training(base_lrs)
    scheduler = make(training.optimizer)
    for _epoch in range(epochs):
        for _batch in range(steps):
            training.backward()
            training.optimizer_step()
            scheduler.step()
    return training.recorded


def train_stepping_first(make: Callable[[Any], Any], base_lrs: Sequence[float], epochs: int, steps: int) -> Rates:
    training = Training(base_lrs)
    scheduler = make(training.optimizer)
    for _epoch in range(epochs):
        for _batch in range(steps):
            training.backward()
            scheduler.step()  # the bug: before the optimizer's step
            training.optimizer_step()
    return training.recorded


def train_accumulating(
    make: Callable[[Any], Any], base_lrs: Sequence[float], epochs: int, steps: int, accumulation: int
) -> Rates:
    training = Training(base_lrs)
    scheduler = make(training.optimizer)
    for _epoch in range(epochs):
        for batch in range(steps):
            training.backward(scale=accumulation)
            if (batch + 1) % accumulation == 0:
                training.optimizer_step()
            scheduler.step()  # every batch, not every optimizer step
    return training.recorded


def assert_same_rates(curve: Curve, recorded: Rates) -> None:
    assert curve.stopped is None
    assert len(curve.lrs) == len(recorded)
    for step, (replayed, real) in enumerate(zip(curve.lrs, recorded)):
        assert len(replayed) == len(real)
        for group, (a, b) in enumerate(zip(replayed, real)):
            assert abs(a - b) <= 1e-12, f"step {step} group {group}: replayed {a}, trained {b}"


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


WARMUP_BINDINGS = (("warmup", Expression("{steps_per_epoch}")), ("total", Expression("{epochs} * {steps_per_epoch}")))
WARMUP_DEF = Function(
    "step",
    "",
    WARMUP_BINDINGS,
    (
        "if step < warmup:\n    return step / max(1, warmup)",
        "progress = (step - warmup) / max(1, total - warmup)",
        "return 0.5 * (1.0 + math.cos(math.pi * progress))",
    ),
)
WARMUP_LAMBDA = Function(
    "step",
    "step / max(1, warmup) if step < warmup else 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))",
    WARMUP_BINDINGS,
)


# --- the seed patterns, replayed and trained -----------------------------------------------


def test_step_lr_per_epoch_with_two_groups() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(call("StepLR", step_size=2, gamma=0.5), (0.1, 0.01), PER_EPOCH)
    curve = replay(plan, Loop(6, 3), Options())
    real = train_per_epoch(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5), (0.1, 0.01), 6, 3)
    assert_same_rates(curve, real)
    assert curve.epochs == tuple(epoch for epoch in range(6) for _ in range(3))
    assert curve.kind == "actual" and curve.title == "StepLR (scheduler, line 7)"


def test_multi_step_lr() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(call("MultiStepLR", milestones=(2, 4), gamma=0.1), (0.1,), PER_EPOCH)
    real = train_per_epoch(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 4], gamma=0.1), (0.1,), 6, 2)
    assert_same_rates(replay(plan, Loop(6, 2), Options()), real)


def test_exponential_lr() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(call("ExponentialLR", gamma=0.9), (0.1,), PER_EPOCH)
    real = train_per_epoch(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), (0.1,), 5, 2)
    assert_same_rates(replay(plan, Loop(5, 2), Options()), real)


def test_cosine_annealing_over_the_epochs() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(call("CosineAnnealingLR", T_max=Quantity("epochs"), eta_min=1e-4), (0.1,), PER_EPOCH)
    real = train_per_epoch(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=1e-4), (0.1,), 8, 2)
    assert_same_rates(replay(plan, Loop(8, 2), Options()), real)


@pytest.mark.parametrize("function", [WARMUP_DEF, WARMUP_LAMBDA], ids=["def", "lambda"])
def test_warmup_cosine_lambda(function: Function) -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(call("LambdaLR", function), (0.1,), PER_UPDATE)
    real = train_per_batch(
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda step: warmup_cosine(step, 5, 20)), (0.1,), 4, 5
    )
    curve = replay(plan, Loop(4, 5), Options())
    assert_same_rates(curve, real)
    assert curve.lrs[0] == (0.0,) and max(curve.lrs) == (0.1,)


def test_one_cycle_per_batch() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(
        call("OneCycleLR", max_lr=0.1, epochs=Quantity("epochs"), steps_per_epoch=Quantity("steps_per_epoch")),
        (0.01,),
        PER_UPDATE,
    )
    real = train_per_batch(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, epochs=3, steps_per_epoch=5), (0.01,), 3, 5
    )
    assert_same_rates(replay(plan, Loop(3, 5), Options()), real)


def test_reduce_on_plateau_with_metrics() -> None:
    torch = pytest.importorskip("torch")
    losses = (1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8)
    plan = SchedulePlan(call("ReduceLROnPlateau", mode="min", factor=0.5, patience=1), (0.1,), PER_EPOCH_WITH_METRIC)
    real = train_per_epoch_with_metric(
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1),
        (0.1,),
        9,
        2,
        losses,
    )
    curve = replay(plan, Loop(9, 2), Options(metrics=losses))  # 9 epochs: the last metric repeats
    assert_same_rates(curve, real)
    assert min(curve.lrs) < (0.1,)


def test_cyclic_lr_per_batch() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(
        call("CyclicLR", base_lr=0.001, max_lr=0.1, step_size_up=Expression("{steps_per_epoch} // 2")),
        (0.01,),
        PER_UPDATE,
    )
    real = train_per_batch(
        lambda o: torch.optim.lr_scheduler.CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=3), (0.01,), 3, 6
    )
    assert_same_rates(replay(plan, Loop(3, 6), Options()), real)


def test_sequential_warmup_then_cosine() -> None:
    torch = pytest.importorskip("torch")
    warmup = SchedulerCall(LR + "LinearLR", (OPTIMIZER,), (("start_factor", 0.1), ("total_iters", 2)))
    cosine = SchedulerCall(LR + "CosineAnnealingLR", (OPTIMIZER,), (("T_max", Expression("{epochs} - 2")),))
    plan = SchedulePlan(call("SequentialLR", schedulers=(warmup, cosine), milestones=(2,)), (0.1, 0.01), PER_EPOCH)

    def make(optimizer: Any) -> Any:
        first = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=2)
        second = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
        return torch.optim.lr_scheduler.SequentialLR(optimizer, [first, second], milestones=[2])

    assert_same_rates(replay(plan, Loop(7, 2), Options()), train_per_epoch(make, (0.1, 0.01), 7, 2))


def test_transformers_cosine_with_warmup() -> None:
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    plan = SchedulePlan(
        SchedulerCall(
            "transformers.get_cosine_schedule_with_warmup",
            (OPTIMIZER,),
            (("num_warmup_steps", 3), ("num_training_steps", Expression("{epochs} * {steps_per_epoch}"))),
        ),
        (0.1,),
        PER_UPDATE,
    )
    real = train_per_batch(lambda o: transformers.get_cosine_schedule_with_warmup(o, 3, 12), (0.1,), 3, 4)
    assert_same_rates(replay(plan, Loop(3, 4), Options()), real)


# --- the misuses the preview exists to show ------------------------------------------------


def test_one_cycle_stepped_per_epoch_stays_in_warm_up() -> None:
    torch = pytest.importorskip("torch")
    arguments = {"max_lr": 0.1, "epochs": Quantity("epochs"), "steps_per_epoch": Quantity("steps_per_epoch")}
    plan = SchedulePlan(call("OneCycleLR", **arguments), (0.01,), PER_EPOCH)
    curve = replay(plan, Loop(10, 20), Options())
    real = train_per_epoch(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, epochs=10, steps_per_epoch=20), (0.01,), 10, 20
    )
    assert_same_rates(curve, real)
    rates = [lrs[0] for lrs in curve.lrs]
    assert rates == sorted(rates)  # only ever climbing: the warm-up never ends
    assert max(rates) < 0.01  # a tenth of the way into the warm-up, far from max_lr


def test_step_lr_stepped_per_batch_decays_within_the_first_epoch() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(call("StepLR", step_size=3, gamma=0.1), (0.1,), PER_UPDATE)
    curve = replay(plan, Loop(2, 10), Options())
    assert_same_rates(curve, train_per_batch(lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.1), (0.1,), 2, 10))
    first_epoch = [lrs[0] for lrs, epoch in zip(curve.lrs, curve.epochs) if epoch == 0]
    assert first_epoch[0] == 0.1 and first_epoch[-1] < 1e-3


def test_cosine_with_t_max_below_the_epochs_climbs_back() -> None:
    plan = SchedulePlan(call("CosineAnnealingLR", T_max=3), (0.1,), PER_EPOCH)
    rates = [lrs[0] for lrs in replay(plan, Loop(10, 1), Options()).lrs]
    assert rates[3] < 1e-12  # the bottom at T_max
    assert rates[6] > 0.09  # and back up to the top three epochs later


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # the real loop's bug
def test_scheduler_stepped_before_the_optimizer_skips_the_first_value() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(
        call("ExponentialLR", gamma=0.5), (0.1,), Stepping((StepSite(Cadence.PER_UPDATE, before_optimizer=True),))
    )
    curve = replay(plan, Loop(1, 4), Options())
    real = train_stepping_first(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.5), (0.1,), 1, 4)
    assert_same_rates(curve, real)
    assert curve.lrs[0] == (0.05,)  # the base rate 0.1 is never trained with


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # the real loop's bug
def test_accumulation_with_per_batch_stepping() -> None:
    torch = pytest.importorskip("torch")
    plan = SchedulePlan(call("ExponentialLR", gamma=0.9), (0.1,), Stepping((StepSite(Cadence.PER_BATCH),)))
    curve = replay(plan, Loop(2, 8, accumulation=4), Options())
    real = train_accumulating(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), (0.1,), 2, 8, 4)
    assert_same_rates(curve, real)
    assert len(curve.lrs) == 4 and curve.epochs == (0, 0, 1, 1)
    assert curve.lrs[1][0] == pytest.approx(0.1 * 0.9**7)  # four scheduler steps per optimizer step


def test_plateau_stepped_without_a_metric_stops_with_the_type_error() -> None:
    pytest.importorskip("torch")
    plan = SchedulePlan(call("ReduceLROnPlateau"), (0.1,), PER_EPOCH)
    curve = replay(plan, Loop(5, 3), Options())
    assert curve.stopped is not None and curve.stopped.startswith("TypeError")
    assert "\n" not in curve.stopped
    assert len(curve.lrs) == 3  # the first epoch trains; its end crashes


def test_a_crash_in_the_learning_rate_function_ends_the_curve() -> None:
    pytest.importorskip("torch")
    plan = SchedulePlan(call("LambdaLR", Function("step", "1 / (2 - step)")), (0.1,), PER_UPDATE)
    curve = replay(plan, Loop(1, 5), Options())
    assert curve.stopped == "ZeroDivisionError: division by zero"
    assert len(curve.lrs) == 2


def test_the_replay_lets_no_warning_out() -> None:
    pytest.importorskip("torch")
    plan = SchedulePlan(
        call("StepLR", step_size=1), (0.1,), Stepping((StepSite(Cadence.PER_UPDATE, before_optimizer=True),))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replay(plan, Loop(2, 2), Options())


def test_stepping_at_the_start_of_each_epoch_and_twice() -> None:
    pytest.importorskip("torch")
    at_start = Stepping((StepSite(Cadence.BEFORE_EPOCH),))
    twice = Stepping((StepSite(Cadence.PER_EPOCH), StepSite(Cadence.PER_EPOCH)))
    plan = SchedulePlan(call("ExponentialLR", gamma=0.5), (0.1,), at_start)
    assert [lrs[0] for lrs in replay(plan, Loop(3, 1), Options()).lrs] == [0.05, 0.025, 0.0125]
    plan = SchedulePlan(call("ExponentialLR", gamma=0.5), (0.1,), twice)
    assert [lrs[0] for lrs in replay(plan, Loop(3, 1), Options()).lrs] == [0.1, 0.025, 0.00625]


def test_one_learning_rate_function_per_group() -> None:
    pytest.importorskip("torch")
    functions = (Function("epoch", "0.5 ** epoch"), Function("epoch", "1 / (1 + epoch)"))
    plan = SchedulePlan(call("LambdaLR", functions), (0.1, 1.0), PER_EPOCH)
    curve = replay(plan, Loop(3, 1), Options())
    assert curve.lrs == ((0.1, 1.0), (0.05, 0.5), (0.025, 1 / 3))


# --- sizes, options and refusals -----------------------------------------------------------


def test_a_missing_size_names_its_expression_and_option() -> None:
    loop = Loop(3, Missing("len(train_loader)", "--steps-per-epoch"))
    with pytest.raises(PreviewError) as raised:
        resolve_sizes(loop, Options())
    assert str(raised.value) == "the steps per epoch come from `len(train_loader)`: pass --steps-per-epoch N"
    with pytest.raises(PreviewError, match="--epochs"):
        resolve_sizes(Loop(Missing("args.epochs"), 4), Options())


def test_options_fill_and_override_the_sizes() -> None:
    loop = Loop(3, Missing("len(train_loader)", "--steps-per-epoch"))
    assert resolve_sizes(loop, Options(steps_per_epoch=7)) == {"epochs": 3, "steps_per_epoch": 7, "accumulation": 1}
    assert resolve_sizes(loop, Options(epochs=2, steps_per_epoch=7, accumulation=2))["epochs"] == 2
    with pytest.raises(PreviewError, match="at least 1"):
        resolve_sizes(Loop(3, 4, 0), Options())


def test_a_missing_learning_rate_comes_from_the_extra_options() -> None:
    pytest.importorskip("torch")
    plan = SchedulePlan(call("StepLR", step_size=1), (Missing("args.lr", "--lr"),), PER_EPOCH)
    with pytest.raises(PreviewError, match=r"`args.lr` is only known when the script runs: pass --lr VALUE"):
        replay(plan, Loop(2, 1), Options())
    assert replay(plan, Loop(2, 1), Options(extra={"lr": 0.5})).lrs[0] == (0.5,)


def test_a_metric_site_needs_metric_values() -> None:
    plan = SchedulePlan(call("ReduceLROnPlateau"), (0.1,), PER_EPOCH_WITH_METRIC)
    with pytest.raises(PreviewError, match=r"ReduceLROnPlateau is stepped with a metric: pass --metric VALUES"):
        replay(plan, Loop(2, 2), Options())


@pytest.mark.parametrize(
    "qualname, message",
    [
        ("timm.scheduler.CosineLRScheduler", "timm"),
        ("os.system", "not a scheduler the preview replays"),
        ("torch.optim.lr_scheduler.warnings", "no scheduler"),
        ("torch.optim.lr_scheduler.NoSuchLR", "no scheduler"),
        ("transformers.AutoModel", "not a scheduler the preview replays"),
    ],
)
def test_only_known_schedulers_are_replayed(qualname: str, message: str) -> None:
    pytest.importorskip("torch")
    plan = SchedulePlan(SchedulerCall(qualname, (OPTIMIZER,)), (0.1,), PER_EPOCH)
    with pytest.raises(PreviewError, match=message):
        replay(plan, Loop(1, 1), Options())


def test_without_torch_the_replay_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    plan = SchedulePlan(call("StepLR", step_size=1), (0.1,), PER_EPOCH)
    with pytest.raises(PreviewError, match="install torch"):
        replay(plan, Loop(1, 1), Options())


def test_the_replay_is_capped() -> None:
    plan = SchedulePlan(call("StepLR", step_size=1), (0.1,), PER_UPDATE)
    with pytest.raises(PreviewError, match="at most 1,000,000"):
        replay(plan, Loop(10_000, 1_000), Options())


def test_an_unevaluable_lambda_is_an_error_not_a_crash() -> None:
    pytest.importorskip("torch")
    function = Function("step", "schedule_fn(step)", (("schedule_fn", Missing("schedule_fn")),))
    plan = SchedulePlan(call("LambdaLR", function), (0.1,), PER_UPDATE)
    with pytest.raises(PreviewError, match=r"cannot evaluate `lr_lambda`: it calls `schedule_fn`, which lrlint"):
        replay(plan, Loop(1, 2), Options())


def test_replay_all_gives_the_actual_and_the_intended_curve() -> None:
    pytest.importorskip("torch")
    arguments = {"max_lr": 0.1, "epochs": Quantity("epochs"), "steps_per_epoch": Quantity("steps_per_epoch")}
    reason = "OneCycleLR counts optimizer steps: step it after each optimizer step"
    misused = SchedulePlan(
        call("OneCycleLR", **arguments), (0.01,), PER_EPOCH, Intended(("LR002",), reason, stepping=PER_UPDATE)
    )
    short = SchedulePlan(
        call("CosineAnnealingLR", T_max=2),
        (0.1,),
        PER_EPOCH,
        Intended(
            ("LR005",), "T_max should cover the run", scheduler=call("CosineAnnealingLR", T_max=Quantity("epochs"))
        ),
    )
    curves = replay_all(Preview("train.py", Loop(4, 3), (misused, short)), Options())
    assert [curve.kind for curve in curves] == ["actual", "intended", "actual", "intended"]
    assert curves[1].reason == reason and curves[0].reason == ""
    assert max(curves[1].lrs) == pytest.approx((0.1,), rel=0.01)  # the intended curve reaches max_lr
    assert [lrs[0] for lrs in curves[3].lrs][::3] == pytest.approx(
        [0.1 * (1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in range(4)]
    )
    with pytest.raises(ValueError):
        replay(SchedulePlan(call("StepLR", step_size=1), (0.1,), PER_EPOCH), Loop(1, 1), Options(), kind="intended")


def test_the_static_checker_stays_free_of_torch_and_matplotlib() -> None:
    code = (
        "import sys, lrlint.preview.replay, lrlint.preview.render, lrlint.preview.safe_eval;"
        "print(sorted(m for m in ('torch', 'matplotlib', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- the safe evaluator --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2 + 3 * 4 - 1", 13),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("2 ** 10", 1024),
        ("0.99 ** 5000", 0.99**5000),
        ("-3 + +2", -1),
        ("1 < 2 <= 2 < 3", True),
        ("1 < 3 < 2", False),
        ("1 == 1.0 != 2", True),
        ("not 0", True),
        ("0 or 5", 5),
        ("3 and 0", 0),
        ("1 if 2 > 1 else 0", 1),
        ("min(3, 1, 2) + max(1.5, 2) + abs(-2)", 5),
        ("float(3) + int(3.7) + round(2.567, 2) + pow(2, 3)", 16.57),
        ("math.cos(math.pi)", -1.0),
        ("cos(0) + exp(0) + log(e)", 3.0),
        ("np.cos(0) + numpy.sqrt(16) + np.pi", 5.0 + math.pi),
        ("math.floor(2.5) + math.ceil(2.1) + sqrt(9)", 8.0),
        ("{epochs} * {steps_per_epoch} // {accumulation}", 1000),
        ("int(0.1 * {epochs} * {steps_per_epoch})", 100),
    ],
)
def test_the_evaluator_does_arithmetic(text: str, expected: float) -> None:
    assert evaluate_expression(Expression(text), SIZES) == pytest.approx(expected)


def test_a_function_with_if_elif_else_and_bound_names() -> None:
    helper = Function("t", "t * scale", (("scale", 2),))
    function = Function(
        "step",
        "",
        (("warmup", Expression("{steps_per_epoch} // 10")), ("double", helper), ("floor_lr", 0.01)),
        (
            "if step < warmup:\n    return double(step) / 100",
            "elif step < 50:\n    factor = 1.0\n    factor *= 0.5\n    return factor",
            "else:\n    return max(floor_lr, 0.9 ** (step - 50))",
        ),
    )
    evaluate = compile_function(function, SIZES)
    assert [evaluate(step) for step in (0, 5, 20, 50, 100)] == [0.0, 0.1, 0.5, 1.0, 0.01]


def test_a_function_body_follows_the_statements_that_fall_through() -> None:
    function = Function("x", "x * 2", (), ("if x > 3:\n    return 0",))
    evaluate = compile_function(function, SIZES)
    assert (evaluate(1), evaluate(5)) == (2, 0)


def test_the_evaluator_keeps_python_errors() -> None:
    with pytest.raises(ZeroDivisionError):
        compile_function(Function("x", "1 / x"), SIZES)(0)


@pytest.mark.parametrize(
    "body, refused",
    [
        ("schedule_fn(x)", "it calls `schedule_fn`, which lrlint cannot see"),
        ("open('/etc/passwd')", "it calls `open`"),
        ("eval('1')", "it calls `eval`"),
        ("getattr(x, 'real')", "it calls `getattr`"),
        ("x.__class__", "it reads `x.__class__`"),
        ("().__class__.__bases__", "`().__class__.__bases__`"),
        ("math.__dict__", "it reads `math.__dict__`"),
        ("os.system('true')", "it calls `os.system`"),
        ("math.system(1)", "it calls `math.system`"),
        ("unknown + 1", "it reads `unknown`, which lrlint cannot see"),
        ("[y for y in range(3)]", "not arithmetic"),
        ("lambda y: y", "not arithmetic"),
        ("x[0]", "not arithmetic"),
        ("{1: 2}", "not arithmetic"),
        ("f'{x}'", "not arithmetic"),
        ("'text'", "not a number"),
        ("None", "not a number"),
        ("min(x, key=abs)", "keyword"),
        ("max(*x)", "unpacked"),
        ("x << 2", "not arithmetic"),
        ("x is 1", "not arithmetic"),
        ("x(1)", "it calls `x`"),
        ("(" * 500 + "x" + ")" * 500, "cannot evaluate"),
        (" + ".join(["x"] * 200), "nests too deeply"),
        ("x" + " + 1" * 6000, "cannot evaluate"),
        ("1 +", "not Python lrlint can read"),
    ],
)
def test_the_evaluator_refuses_what_it_does_not_know(body: str, refused: str) -> None:
    with pytest.raises(PreviewError) as raised:
        compile_function(Function("x", body, (("schedule_fn", Missing("schedule_fn")),)), SIZES)
    assert str(raised.value).startswith("cannot evaluate `lr_lambda`: ")
    assert refused in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "statement",
    [
        "import os",
        "for i in range(3):\n    pass",
        "while True:\n    pass",
        "def inner():\n    return 1",
        "with open('f') as f:\n    pass",
        "a, b = 1, 2",
        "x.y = 1",
        "del x",
        "global y",
        "raise ValueError()",
        "return",
    ],
)
def test_the_evaluator_refuses_statements_beyond_if_and_return(statement: str) -> None:
    with pytest.raises(PreviewError, match="cannot evaluate `lr_lambda`"):
        compile_function(Function("x", "", (), (statement, "return 1")), SIZES)


def test_huge_integers_are_refused() -> None:
    power = compile_function(Function("x", "10 ** x"), SIZES)
    assert power(3) == 1000
    with pytest.raises(PreviewError, match="too large"):
        power(100_000)
    with pytest.raises(PreviewError, match="too large"):
        compile_function(Function("x", "(2 ** 4000) * (2 ** 4000) * x"), SIZES)(1)


def test_the_evaluator_never_executes_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "executed"
    attack = f"__import__('os').system('touch {marker}')"

    real_compile = builtins.compile

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the evaluator called eval or exec")

    def parse_only(source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kwargs: Any) -> Any:
        assert flags & ast.PyCF_ONLY_AST, "the evaluator compiled code (ast.parse is all it may do)"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    for function in (Function("x", attack), Function("x", "", (), (f"if x:\n    return {attack}", "return 1"))):
        with pytest.raises(PreviewError, match="cannot evaluate"):
            compile_function(function, SIZES)
    with pytest.raises(PreviewError, match="cannot evaluate"):
        evaluate_expression(Expression(attack), SIZES)
    assert compile_function(Function("x", "math.cos(x) ** 2 + sin(x) ** 2"), SIZES)(0.7) == pytest.approx(1.0)
    assert not marker.exists()


def test_a_binding_only_known_at_run_time_is_named() -> None:
    function = Function("step", "step / warmup", (("warmup", Missing("args.warmup")),))
    with pytest.raises(PreviewError, match=r"it reads `warmup` \(`args.warmup`\), which is only known"):
        compile_function(function, SIZES)


def test_an_expression_with_an_unknown_hole_is_refused() -> None:
    with pytest.raises(PreviewError, match="`warmup`"):
        evaluate_expression(Expression("{warmup} * 2"), SIZES)
