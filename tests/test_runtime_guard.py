"""The runtime guard on real (CPU) torch: misuse reported, correct training silent, transparent."""

from __future__ import annotations

import copy
import io
import pickle
import warnings

import pytest

torch = pytest.importorskip("torch")

import lrlint  # noqa: E402
from lrlint import ScheduleMisuseError, ScheduleMisuseWarning  # noqa: E402
from lrlint.runtime.guarding import report_unstepped  # noqa: E402

lr_scheduler = torch.optim.lr_scheduler


def make_optimizer(lr: float = 0.1):
    model = torch.nn.Linear(4, 1)
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def train_step(model, optimizer) -> None:
    optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()
    optimizer.step()


def codes_of(caught) -> list:
    return [w.message.code for w in caught if isinstance(w.message, ScheduleMisuseWarning)]


def run(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return codes_of(caught)


# -- misuse is reported -------------------------------------------------------------------------


def test_scheduler_before_optimizer_on_the_first_iteration_is_lr001():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2))

    def loop():
        for _ in range(3):
            scheduler.step()
            train_step(model, optimizer)

    assert run(loop) == ["LR001"]


def test_order_swapped_at_a_late_iteration_is_lr001():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.LambdaLR(optimizer, lambda step: 1.0))

    def loop():
        for iteration in range(10):
            if iteration == 6:
                scheduler.step()
                train_step(model, optimizer)
            else:
                train_step(model, optimizer)
                scheduler.step()

    assert run(loop) == ["LR001"]


def test_scheduler_outpacing_an_accumulating_optimizer_is_lr009():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.LambdaLR(optimizer, lambda step: 1.0))

    def loop():
        for iteration in range(12):
            if (iteration + 1) % 4 == 0:
                train_step(model, optimizer)
            scheduler.step()

    assert run(loop) == ["LR009"]


def test_plateau_without_metric_is_lr005_before_torch_raises():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.ReduceLROnPlateau(optimizer), on_violation="raise")
    train_step(model, optimizer)
    with pytest.raises(ScheduleMisuseError) as raised:
        scheduler.step()
    assert raised.value.code == "LR005" and raised.value.name == "plateau-step-without-metric"
    assert str(raised.value).startswith("LR005 ")
    assert isinstance(raised.value, RuntimeError)


def test_metric_passed_to_steplr_is_lr006():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2))

    def loop():
        for _ in range(3):
            train_step(model, optimizer)
            scheduler.step(0.5)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's own deprecation warning
        assert "LR006" in run(loop)


def test_warn_mode_warns_once_per_scheduler_and_code():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.LambdaLR(optimizer, lambda step: 1.0))

    def loop():
        for _ in range(20):
            if _ % 4 == 3:
                train_step(model, optimizer)
            scheduler.step()

    assert run(loop).count("LR009") == 1


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning")
def test_log_mode_logs_through_the_lrlint_logger(caplog):
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2), on_violation="log")
    with caplog.at_level("WARNING", logger="lrlint"):
        for _ in range(2):
            scheduler.step()
            train_step(model, optimizer)
    assert [record.message[:5] for record in caplog.records] == ["LR001"]


def test_guarded_block_reports_a_scheduler_that_never_stepped():
    def block():
        with lrlint.guarded():
            model, optimizer = make_optimizer()
            lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
            for _ in range(3):
                train_step(model, optimizer)

    assert run(block) == ["LR004"]


def test_stepped_once_before_any_optimizer_step_is_lr001_at_the_end():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2))

    def one_epoch_run():
        scheduler.step()
        for _ in range(3):
            train_step(model, optimizer)
        report_unstepped([scheduler])  # what guarded()'s end and interpreter exit do

    assert run(one_epoch_run) == ["LR001"]


def test_never_stepped_is_not_reported_when_nothing_trained():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.ExponentialLR(optimizer, gamma=0.9))
    assert report_unstepped([scheduler]) == []


# -- correct training stays silent --------------------------------------------------------------


def test_gradscaler_skipped_optimizer_step_is_not_lr001():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**30)

    def loop():
        for step in range(4):
            optimizer.zero_grad()
            loss = model(torch.ones(2, 4)).sum()
            if step == 0:
                loss = loss * float("inf")  # the scaler skips this optimizer step
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop()
    assert [str(w.message)[:40] for w in caught] == []  # not even PyTorch's own false alarm


@pytest.mark.parametrize(
    "build",
    [
        lambda opt: lr_scheduler.StepLR(opt, step_size=2),
        lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[2, 4]),
        lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.9),
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=6),
        lambda opt: lr_scheduler.LambdaLR(opt, lambda step: 0.5**step),
        lambda opt: lr_scheduler.MultiplicativeLR(opt, lambda step: 0.95),
        lambda opt: lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2),
        lambda opt: lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=4),
        lambda opt: lr_scheduler.PolynomialLR(opt, total_iters=6),
        lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20),
        lambda opt: lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2),
        lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3),
        lambda opt: lr_scheduler.SequentialLR(
            opt,
            [lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=2), lr_scheduler.ExponentialLR(opt, 0.9)],
            milestones=[2],
        ),
        lambda opt: lr_scheduler.ChainedScheduler(
            [lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2), lr_scheduler.ExponentialLR(opt, 0.9)]
        ),
    ],
)
def test_correct_use_is_silent_and_learning_rates_are_bit_identical(build):
    def lrs(guarded: bool) -> list:
        torch.manual_seed(0)
        model, optimizer = make_optimizer()
        scheduler = build(optimizer)
        if guarded:
            lrlint.guard(scheduler, on_violation="raise")
        seen = []
        for _ in range(8):
            train_step(model, optimizer)
            scheduler.step()
            seen.append([group["lr"] for group in optimizer.param_groups])
        return seen

    with warnings.catch_warnings():
        warnings.simplefilter("error", ScheduleMisuseWarning)
        assert lrs(True) == lrs(False)


def test_plateau_with_metric_and_accumulation_inside_the_update_are_silent():
    model, optimizer = make_optimizer()
    plateau = lrlint.guard(lr_scheduler.ReduceLROnPlateau(optimizer, patience=1))
    other_model, other_optimizer = make_optimizer()
    per_update = lrlint.guard(lr_scheduler.LambdaLR(other_optimizer, lambda step: 1.0))

    def loop():
        for epoch in range(4):
            train_step(model, optimizer)
            plateau.step(1.0 / (epoch + 1))
            for micro in range(8):
                if (micro + 1) % 4 == 0:
                    train_step(other_model, other_optimizer)
                    per_update.step()

    assert run(loop) == []


# -- transparency --------------------------------------------------------------------------------


def test_guard_returns_the_same_object_and_isinstance_holds():
    _, optimizer = make_optimizer()
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2)
    keys = set(scheduler.state_dict())
    assert lrlint.guard(scheduler) is scheduler
    assert isinstance(scheduler, lr_scheduler.StepLR)
    assert type(scheduler).__name__ == "StepLR"
    assert set(scheduler.state_dict()) == keys


def test_state_dict_round_trips_between_guarded_and_unguarded():
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2))
    for _ in range(3):
        train_step(model, optimizer)
        scheduler.step()
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    plain = lr_scheduler.StepLR(make_optimizer()[1], step_size=2)
    plain.load_state_dict(torch.load(buffer))
    assert plain.last_epoch == scheduler.last_epoch == 3
    lrlint.guard(plain).load_state_dict(scheduler.state_dict())
    assert plain.get_last_lr() == scheduler.get_last_lr()


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda obj: pickle.loads(pickle.dumps(obj))])
def test_deepcopy_and_pickling_keep_a_guarded_scheduler(clone):
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.MultiStepLR(optimizer, milestones=[2]), on_violation="raise")
    train_step(model, optimizer)
    scheduler.step()
    copied = clone(scheduler)
    assert isinstance(copied, lr_scheduler.MultiStepLR)
    assert copied.state_dict().keys() == scheduler.state_dict().keys()
    assert copied.last_epoch == scheduler.last_epoch
    parameters = [p for group in copied.optimizer.param_groups for p in group["params"]]
    with pytest.raises(ScheduleMisuseError) as raised:  # still guarded: stepped twice per iteration
        for _ in range(2):
            sum((p**2).sum() for p in parameters).backward()
            copied.optimizer.step()
            copied.step()
            copied.step()
    assert raised.value.code == "LR014"


def test_importing_lrlint_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, lrlint; lrlint.lint_source('x = 1\\n'); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_bad_mode_and_non_scheduler_are_rejected():
    _, optimizer = make_optimizer()
    with pytest.raises(ValueError):
        lrlint.guard(lr_scheduler.StepLR(optimizer, 2), on_violation="shout")
    with pytest.raises(TypeError):
        lrlint.guard(optimizer)


# -- python -m lrlint.run -----------------------------------------------------------------------

FORGETFUL_SCRIPT = """
import sys
import torch

model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
for epoch in range(int(sys.argv[1])):
    optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()
    optimizer.step()
print("args", sys.argv[1:])
sys.exit(0)
"""

WRONG_ORDER_SCRIPT = """
import torch

model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
for step in range(5):
    optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()
    scheduler.step()
    optimizer.step()
"""


def run_module(tmp_path, source: str, options=(), script_args=()):
    """`python -m lrlint.run OPTIONS train.py SCRIPT_ARGS`"""
    import subprocess
    import sys

    script = tmp_path / "train.py"
    script.write_text(source, encoding="utf-8")
    command = [sys.executable, "-W", "ignore::UserWarning:torch", "-m", "lrlint.run", *options, str(script)]
    return subprocess.run(command + list(script_args), capture_output=True, text=True, timeout=120)


def test_run_guards_an_unmodified_script_and_passes_its_arguments(tmp_path):
    result = run_module(tmp_path, FORGETFUL_SCRIPT, script_args=["3"])
    assert result.returncode == 0, result.stderr
    assert "args ['3']" in result.stdout
    assert "LR004 scheduler-never-stepped" in result.stderr


def test_run_raise_mode_stops_the_script(tmp_path):
    result = run_module(tmp_path, WRONG_ORDER_SCRIPT, options=["--on-violation", "raise"])
    assert result.returncode != 0
    assert "ScheduleMisuseError: LR001" in result.stderr


DDP_SCRIPT = """
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
for step in range(4):
    optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()
    scheduler.step()
    optimizer.step()
print("rank", dist.get_rank(), "done", flush=True)
dist.destroy_process_group()
"""


def test_torchrun_two_processes_report_once_from_rank_0(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a free loopback port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "train_ddp.py"
    script.write_text(DDP_SCRIPT, encoding="utf-8")
    command = [
        sys.executable, "-W", "ignore::UserWarning:torch", "-m", "torch.distributed.run",
        "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(port),
        "-m", "lrlint.run", str(script),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rank 0 done" in result.stdout and "rank 1 done" in result.stdout
    assert result.stderr.count("LR001 scheduler-step-before-optimizer-step") == 1
