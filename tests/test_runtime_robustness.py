"""The runtime guard under stress, on real (CPU) torch: its own errors never stop training; it keeps
working across torch.save/torch.load, torch.compile, and schedulers created or replaced mid-run."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

torch = pytest.importorskip("torch")

import lrlint  # noqa: E402
from lrlint import ScheduleMisuseError, ScheduleMisuseWarning  # noqa: E402
from lrlint.runtime import guarding, signals  # noqa: E402
from lrlint.runtime.errors import HEALTH  # noqa: E402

lr_scheduler = torch.optim.lr_scheduler
STOOD_ASIDE = "lrlint: the runtime guard stopped checking"
BUG = KeyError("lrlint bug")


@pytest.fixture(autouse=True)
def healthy_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that makes the guard stand aside must not leave it standing aside for the next; the
    schedulers it guarded stay unchecked (they would otherwise be judged at interpreter exit)."""
    monkeypatch.setattr(HEALTH, "stopped", False)
    before = set(guarding._STATES)
    yield
    for key, state in list(guarding._STATES.items()):
        if key not in before:
            state.disabled = True


def make_optimizer(lr: Any = 0.1) -> Tuple[Any, Any]:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def train_step(model: Any, optimizer: Any, step: Optional[Callable[[], Any]] = None) -> None:
    optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()
    (step or optimizer.step)()


def iteration(model: Any, optimizer: Any, scheduler: Any, swapped: bool = False, step: Any = None) -> None:
    """One training iteration; ``swapped``: the scheduler stepped between the backward pass and
    the optimizer step (LR001, whenever it starts)."""
    optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()
    if swapped:
        scheduler.step()
    (step or optimizer.step)()
    if not swapped:
        scheduler.step()


def lr_of(optimizer: Any) -> float:
    return float(optimizer.param_groups[0]["lr"])


@contextlib.contextmanager
def recorded() -> Iterator[List[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def codes_of(caught: List[warnings.WarningMessage]) -> List[str]:
    return [w.message.code for w in caught if isinstance(w.message, ScheduleMisuseWarning)]


def stood_aside(caught: List[warnings.WarningMessage]) -> List[str]:
    return [str(w.message) for w in caught if str(w.message).startswith(STOOD_ASIDE)]


# -- 1. the guard's own errors never stop training ---------------------------------------------------


def training(
    mode: Optional[str], arm: Callable[[], None] = lambda: None, misuse: bool = True
) -> Tuple[List[float], Any]:
    """Two epochs over a DataLoader with a GradScaler, an optimizer checkpoint reloaded after each
    epoch (every hook the guard installs runs), then a genuine misuse: the scheduler stepped twice
    more with no optimizer step (LR009). ``arm()`` breaks the guard once its scheduler exists.
    Returns the learning rates after every step and the trained weights."""
    model, optimizer = make_optimizer()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 4)), batch_size=2)
    scaler = torch.amp.GradScaler("cpu")
    lrs: List[float] = []
    with lrlint.guarded(on_violation=mode) if mode else contextlib.nullcontext():
        scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=20)
        arm()
        for _ in range(2):
            for (batch,) in loader:
                optimizer.zero_grad()
                scaler.scale(model(batch).sum()).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                lrs.append(lr_of(optimizer))
            optimizer.load_state_dict(optimizer.state_dict())  # as a resume would
        for _ in range(2 if misuse else 0):
            scheduler.step()
            lrs.append(lr_of(optimizer))
    return lrs, model.weight.detach().clone()


def fail(*args: Any, **kwargs: Any) -> Any:
    raise BUG


def breaker(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> Tuple[Callable[[], None], List[int]]:
    """``arm()`` replaces ``module.name`` by a function that raises; ``calls`` counts its calls,
    so that a test proves the broken path ran."""
    calls: List[int] = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        fail()

    return lambda: monkeypatch.setattr(module, name, broken), calls


# Every path from a training step into the guard: the hooks in signals (each looks its body up by
# name on every call), the checks, the reporting path and the step's own bookkeeping. The end-of-run
# report, guard() itself, hook installation and the accelerate hook have tests of their own below.
GUARD_INTERNALS = [
    (signals, "_count_optimizer_step"),  # the optimizer's step post-hook
    (signals, "_count_backward"),  # the patched torch.autograd.backward
    (signals, "_count_loader_pass"),  # the patched DataLoader.__iter__
    (signals, "_optimizer_steps"),  # the patched GradScaler.step, before the step
    (signals, "_count_skipped_step"),  # ... and after it
    (signals, "_reread_learning_rates"),  # the optimizer's load_state_dict post-hook
    (guarding, "check_step"),  # the checks
    (guarding, "_report"),  # reporting a finding
    (guarding, "describe"),  # ... its message
    (guarding, "_reporting_rank"),  # ... the rank that reports
    (guarding, "_reemit"),  # re-routing torch's own warnings from step()
    (guarding, "remember_learning_rates"),  # the step's bookkeeping after the base step
]


def test_the_unbroken_training_reports_its_misuse():
    """What the tests below break: the same loop, unbroken, reports LR009 (or raises it)."""
    with recorded() as caught:
        training("warn")
    assert codes_of(caught) == ["LR009"] and stood_aside(caught) == []
    with pytest.raises(ScheduleMisuseError) as raised:
        training("raise")
    assert raised.value.code == "LR009"


@pytest.mark.parametrize("module, name", GUARD_INTERNALS, ids=[name for _, name in GUARD_INTERNALS])
@pytest.mark.parametrize("mode", ["warn", "log", "raise"])
def test_an_internal_error_anywhere_never_stops_training(module, name, mode, monkeypatch, caplog):
    arm, calls = breaker(monkeypatch, module, name)
    with recorded() as caught, caplog.at_level(logging.WARNING, logger="lrlint"):
        lrs, weights = training(mode, arm)  # raise mode too: an internal error never propagates
    assert calls, f"{name} never ran: the test proves nothing"
    unguarded_lrs, unguarded_weights = training(None)
    assert lrs == unguarded_lrs  # bit-identical
    assert torch.equal(weights, unguarded_weights)
    assert len(stood_aside(caught)) == 1 and repr(BUG) in stood_aside(caught)[0]  # warned once
    assert {w.filename for w in caught if str(w.message).startswith(STOOD_ASIDE)} == {__file__}  # the user's line
    assert codes_of(caught) == [] and not [r for r in caplog.records if r.getMessage().startswith("LR")]


@pytest.mark.parametrize("mode", ["warn", "log", "raise"])
def test_an_internal_error_in_the_end_of_run_report_never_stops_training(mode, monkeypatch):
    arm, calls = breaker(monkeypatch, guarding, "_report_unstepped")  # run at guarded()'s end
    with recorded() as caught:
        lrs, _ = training(mode, arm, misuse=False)
    assert calls and lrs == training(None, misuse=False)[0]
    assert stood_aside(caught) == [
        f"{STOOD_ASIDE} every scheduler after an internal error in the end-of-run report: {BUG!r}; "
        "training goes on unchecked"
    ]


@pytest.mark.parametrize("name", ["watch", "_guarded_class"])
def test_an_internal_error_in_guard_leaves_the_scheduler_unguarded(name, monkeypatch):
    arm, calls = breaker(monkeypatch, guarding, name)
    arm()
    with recorded() as caught:
        model, optimizer = make_optimizer()
        scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2), on_violation="raise")
        for _ in range(3):
            scheduler.step()  # LR001, were the guard running
            train_step(model, optimizer)
    assert calls and type(scheduler) is lr_scheduler.StepLR  # its own class back
    assert stood_aside(caught) == [
        f"{STOOD_ASIDE} every scheduler after an internal error in guarding StepLR: {BUG!r}; training goes on unchecked"
    ]


def test_an_internal_error_guarding_a_scheduler_built_in_guarded_never_stops_training(monkeypatch):
    arm, calls = breaker(monkeypatch, guarding, "watch")
    arm()  # before the scheduler is constructed inside guarded()
    with recorded() as caught:
        lrs, _ = training("raise")
    assert calls and lrs == training(None)[0]
    assert len(stood_aside(caught)) == 1 and "guarding CosineAnnealingLR" in stood_aside(caught)[0]


def test_an_internal_error_installing_the_hooks_stands_aside(monkeypatch):
    from torch.amp.grad_scaler import GradScaler
    from torch.utils.data import DataLoader

    # install the patches again in this test, and put torch's functions back after it
    monkeypatch.setattr(signals, "_PATCHED", False)
    monkeypatch.setattr(GradScaler, "step", GradScaler.step)
    monkeypatch.setattr(torch.autograd, "backward", torch.autograd.backward)
    monkeypatch.setattr(DataLoader, "__iter__", DataLoader.__iter__)
    arm, calls = breaker(monkeypatch, signals, "_patch_backward")
    arm()
    with recorded() as caught:
        lrs, _ = training("raise")
    assert calls and lrs == training(None)[0]
    assert len(stood_aside(caught)) == 1 and "installing its hooks" in stood_aside(caught)[0]


def test_one_schedulers_internal_error_does_not_make_its_sibling_report_lr013(monkeypatch):
    """Two guarded schedulers chained by hand on one optimizer; the checks of one fail. It runs on
    unchecked and still moves the learning rates: the other must not take that for LR013, even
    after a checkpoint reload makes the guard re-read them."""
    real_check_step = guarding.check_step

    def failing_for_exponential(scheduler: Any, *args: Any) -> Any:
        if isinstance(scheduler, lr_scheduler.ExponentialLR):
            raise BUG
        return real_check_step(scheduler, *args)

    monkeypatch.setattr(guarding, "check_step", failing_for_exponential)

    def lrs(mode: Optional[str]) -> List[float]:
        model, optimizer = make_optimizer()
        first = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
        second = lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
        if mode:
            lrlint.guard(first, on_violation=mode)
            lrlint.guard(second, on_violation=mode)
        seen = []
        for index in range(6):
            if index == 3:  # a checkpoint reloaded: the guard re-reads the learning rates
                optimizer.load_state_dict(optimizer.state_dict())
            train_step(model, optimizer)
            first.step()
            second.step()
            seen.append(lr_of(optimizer))
        return seen

    with recorded() as caught:
        guarded_lrs = lrs("raise")
    assert guarded_lrs == lrs(None)
    assert stood_aside(caught) == [f"{STOOD_ASIDE} ExponentialLR after an internal error: {BUG!r}"]


def test_an_internal_error_under_warnings_as_errors_goes_to_the_log(monkeypatch, caplog):
    """``-W error`` (or pytest's filterwarnings = error) must not turn a bug of ours into a crash."""
    arm, _ = breaker(monkeypatch, signals, "_count_backward")
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="lrlint"):
        warnings.simplefilter("error")
        lrs, _ = training("warn", arm)
    assert lrs == training(None)[0]
    assert [r.getMessage()[: len(STOOD_ASIDE)] for r in caplog.records] == [STOOD_ASIDE]


def test_a_genuine_finding_at_the_end_of_guarded_still_raises():
    with pytest.raises(ScheduleMisuseError) as raised:
        with lrlint.guarded(on_violation="raise"):
            model, optimizer = make_optimizer()
            lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
            for _ in range(3):
                train_step(model, optimizer)
    assert raised.value.code == "LR004"


def test_at_exit_a_finding_is_shown_and_an_internal_error_is_contained(monkeypatch, caplog):
    import weakref

    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.ExponentialLR(optimizer, gamma=0.9), on_violation="raise")
    for _ in range(3):
        train_step(model, optimizer)
    live = weakref.WeakValueDictionary({id(scheduler): scheduler})
    monkeypatch.setattr(guarding, "_LIVE_SCHEDULERS", live)  # only this test's scheduler
    with caplog.at_level(logging.WARNING, logger="lrlint"):
        guarding._report_at_exit()  # what atexit calls: nothing left to stop, so it is logged
    assert [record.getMessage()[:5] for record in caplog.records] == ["LR004"]

    arm, calls = breaker(monkeypatch, guarding, "_report_unstepped")
    arm()
    with recorded() as caught:
        guarding._report_at_exit()
    assert calls and len(stood_aside(caught)) == 1 and "end-of-run report" in stood_aside(caught)[0]


def test_an_internal_error_in_the_accelerate_hook_never_stops_training(monkeypatch):
    accelerate = pytest.importorskip("accelerate")
    from lrlint.runtime.checks import GuardState

    def lrs(guard: bool, break_guard: bool = False) -> List[float]:
        accelerator = accelerate.Accelerator(cpu=True)
        model, optimizer = make_optimizer()
        scheduler = lr_scheduler.LambdaLR(optimizer, lambda step: 0.9**step)
        if guard:
            lrlint.guard(scheduler)
        model, optimizer, prepared = accelerator.prepare(model, optimizer, scheduler)
        if break_guard:  # the burst bookkeeping the accelerate hook writes
            monkeypatch.setattr(GuardState, "burst", property(lambda state: -1, fail))
        seen = []
        for _ in range(4):
            train_step(model, optimizer)
            prepared.step()
            seen.append(lr_of(optimizer))
        return seen

    with recorded() as caught:
        guarded_lrs = lrs(True, break_guard=True)
    assert guarded_lrs == lrs(False)
    assert len(stood_aside(caught)) == 1 and "accelerate scheduler hook" in stood_aside(caught)[0]


# -- 2. torch.save / torch.load of the training state ------------------------------------------------

STEPS, SAVED_AT = 10, 5
RESUMABLE: Dict[str, Callable[[Any], Any]] = {
    "StepLR": lambda opt: lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
    "OneCycleLR": lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=STEPS),
    "CosineAnnealingLR": lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS),
    "SequentialLR": lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3), lr_scheduler.ExponentialLR(opt, 0.8)], [3]
    ),
    "ReduceLROnPlateau": lambda opt: lr_scheduler.ReduceLROnPlateau(opt, patience=0),
}


def step_scheduler(scheduler: Any, step: int) -> None:
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
        scheduler.step(1.0 + step % 2)  # never improves: the learning rate drops
    else:
        scheduler.step()


def uninterrupted(build: Callable[[Any], Any]) -> List[float]:
    model, optimizer = make_optimizer()
    scheduler = build(optimizer)
    lrs = []
    for step in range(STEPS):
        train_step(model, optimizer)
        step_scheduler(scheduler, step)
        lrs.append(lr_of(optimizer))
    return lrs


def build_guarded(build: Callable[[Any], Any], optimizer: Any, how: str) -> Any:
    """``build(optimizer)`` guarded in raise mode by guard() or guarded(), or left unguarded."""
    if how == "guarded()":
        with lrlint.guarded(on_violation="raise"):
            return build(optimizer)
    scheduler = build(optimizer)
    return lrlint.guard(scheduler, on_violation="raise") if how == "guard()" else scheduler


def trained_until_saved(build: Callable[[Any], Any]) -> Tuple[Any, Any, Any, List[float]]:
    """A guard()ed scheduler's first SAVED_AT steps: model, optimizer, scheduler, learning rates."""
    model, optimizer = make_optimizer()
    scheduler = build_guarded(build, optimizer, "guard()")
    lrs = []
    for step in range(SAVED_AT):
        train_step(model, optimizer)
        step_scheduler(scheduler, step)
        lrs.append(lr_of(optimizer))
    return model, optimizer, scheduler, lrs


def saved_and_loaded(state: Any, weights_only: bool) -> Any:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=weights_only)


@pytest.mark.parametrize("resumed_by", ["guard()", "guarded()", "unguarded"])
@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_resuming_from_a_state_dict_checkpoint_is_silent_and_exact(name, resumed_by):
    """Saved mid-run from a guarded scheduler, loaded with weights_only=True into a fresh optimizer
    and scheduler: no LR013 for the learning rates load_state_dict sets, no LR001 on the first step
    after the resume (raise mode: either would raise), the same learning rates as never stopping."""
    build = RESUMABLE[name]
    model, optimizer, scheduler, lrs = trained_until_saved(build)
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    checkpoint = saved_and_loaded(checkpoint, weights_only=True)

    model, optimizer = make_optimizer()
    scheduler = build_guarded(build, optimizer, resumed_by)  # before load_state_dict, as torch says
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    with recorded() as caught:
        for step in range(SAVED_AT, STEPS):
            train_step(model, optimizer)
            step_scheduler(scheduler, step)
            lrs.append(lr_of(optimizer))
        assert guarding.report_unstepped([scheduler]) == []
    assert codes_of(caught) == []
    assert lrs == uninterrupted(build)


STATE_DICTS: Dict[str, Callable[[Any], Any]] = {
    **RESUMABLE,
    "LambdaLR": lambda opt: lr_scheduler.LambdaLR(opt, lambda step: 0.9**step),
    "CyclicLR": lambda opt: lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2),
    "CosineAnnealingWarmRestarts": lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3),
    "ChainedScheduler": lambda opt: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2), lr_scheduler.ExponentialLR(opt, 0.9)]
    ),
}


@pytest.mark.parametrize("name", sorted(STATE_DICTS))
def test_a_guarded_state_dict_is_the_unguarded_one_and_loads_weights_only(name):
    def state_dict(how: str) -> Dict[str, Any]:
        model, optimizer = make_optimizer()
        scheduler = build_guarded(STATE_DICTS[name], optimizer, how)
        for step in range(SAVED_AT):
            train_step(model, optimizer)
            step_scheduler(scheduler, step)
        return scheduler.state_dict()

    guarded_state = state_dict("guarded()")  # a container's children are guarded too
    assert guarded_state == state_dict("unguarded")  # same keys, same values: nothing of the guard's
    assert saved_and_loaded(guarded_state, weights_only=True) == guarded_state  # plain values only


def test_pickling_the_whole_training_state_keeps_the_scheduler_guarded():
    """torch.save of the model, optimizer and guarded scheduler objects (weights_only=False)."""
    build = RESUMABLE["OneCycleLR"]
    model, optimizer, scheduler, lrs = trained_until_saved(build)
    loaded = saved_and_loaded({"model": model, "optimizer": optimizer, "scheduler": scheduler}, weights_only=False)
    model, optimizer, scheduler = loaded["model"], loaded["optimizer"], loaded["scheduler"]
    assert scheduler.optimizer is optimizer and isinstance(scheduler, lr_scheduler.OneCycleLR)
    with recorded() as caught:
        for step in range(SAVED_AT, STEPS - 2):
            train_step(model, optimizer)
            step_scheduler(scheduler, step)
            lrs.append(lr_of(optimizer))
    assert codes_of(caught) == []
    assert lrs == uninterrupted(build)[: STEPS - 2]
    with pytest.raises(ScheduleMisuseError) as raised:  # still guarded, still in raise mode
        for _ in range(2):
            iteration(model, optimizer, scheduler, swapped=True)
    assert raised.value.code == "LR001"


# -- 3. torch.compile ------------------------------------------------------------------------------


@pytest.fixture
def compiler() -> Iterator[Callable[..., Any]]:
    """torch.compile on the CPU without a C compiler: the "eager" backend (Dynamo's tracing and
    guards, no code generation). Skipped where Dynamo itself cannot run here."""
    dynamo = pytest.importorskip("torch._dynamo")
    try:
        probe = torch.compile(lambda x: x * 2, backend="eager")
        probe(torch.ones(2))
    except Exception as error:  # pragma: no cover - depends on the platform
        pytest.skip(f"torch.compile cannot run here: {error!r}")
    yield lambda fn: torch.compile(fn, backend="eager")
    dynamo.reset()


def compiled_lrs(compile_: Optional[Callable[..., Any]], guard: bool, swap_at: Optional[int] = None) -> List[float]:
    """Per-batch OneCycleLR over a compiled model (``compile_`` given); the scheduler stepped before
    the optimizer from iteration ``swap_at`` on (LR001)."""
    model, optimizer = make_optimizer()
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=8)
    if guard:
        lrlint.guard(scheduler)
    forward = compile_(model) if compile_ else model
    lrs = []
    for index in range(6):
        iteration(forward, optimizer, scheduler, swapped=swap_at is not None and index >= swap_at)
        lrs.append(lr_of(optimizer))
    return lrs


def test_a_compiled_model_trained_correctly_is_silent_and_exact(compiler):
    with recorded() as caught:
        lrs = compiled_lrs(compiler, guard=True)
    assert codes_of(caught) == []
    assert lrs == compiled_lrs(None, guard=False)


def test_a_compiled_model_stepped_in_the_wrong_order_is_lr001(compiler):
    with recorded() as caught:
        compiled_lrs(compiler, guard=True, swap_at=3)
    assert codes_of(caught) == ["LR001"]


def test_a_compiled_optimizer_step_is_counted(compiler):
    """torch.compile(optimizer.step): Dynamo traces the step post-hook the guard counts with (its
    counter is a Python side effect it replays). The LR is a tensor, as torch advises for a compiled
    step driven by a scheduler; the guard adds no graph and no recompilation."""
    from torch._dynamo.utils import counters

    def lrs(compiled: bool, guard: bool = True, swap_at: Optional[int] = None) -> Tuple[List[float], int]:
        torch._dynamo.reset()
        counters.clear()
        model, optimizer = make_optimizer(lr=torch.tensor(0.1))
        scheduler = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=4)
        if guard:
            lrlint.guard(scheduler)
        step = compiler(optimizer.step) if compiled else optimizer.step
        seen = []
        for index in range(8):
            iteration(model, optimizer, scheduler, swapped=swap_at is not None and index >= swap_at, step=step)
            seen.append(lr_of(optimizer))
        if guard:
            assert signals.ACTIVITY[id(optimizer)].steps == 8  # every compiled step seen by the hook
        return seen, counters["stats"]["unique_graphs"]

    with recorded() as caught:
        compiled, graphs = lrs(True)
    assert codes_of(caught) == []
    assert compiled == lrs(False)[0]
    assert 0 < graphs == lrs(True, guard=False)[1]
    with recorded() as caught:
        lrs(True, swap_at=3)
    assert codes_of(caught) == ["LR001"]


# -- 4. schedulers created or replaced mid-run -----------------------------------------------------


def run_block(loop: Callable[[Any, Any], List[float]], mode: Optional[str] = "warn") -> Tuple[List[str], List[float]]:
    """``loop(model, optimizer)`` inside ``guarded(mode)`` (or unguarded): its findings and LRs."""
    model, optimizer = make_optimizer()
    with recorded() as caught:
        with lrlint.guarded(on_violation=mode) if mode else contextlib.nullcontext():
            lrs = loop(model, optimizer)
    return codes_of(caught), lrs


def test_a_scheduler_built_after_training_started_is_guarded_from_there():
    def loop(model: Any, optimizer: Any, swap: bool = False) -> List[float]:
        for _ in range(5):
            train_step(model, optimizer)  # no scheduler yet
        scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        lrs = []
        for index in range(6):
            iteration(model, optimizer, scheduler, swapped=swap and index >= 3)
            lrs.append(lr_of(optimizer))
        return lrs

    codes, lrs = run_block(loop, mode="raise")
    assert codes == [] and lrs == run_block(loop, mode=None)[1]
    assert run_block(lambda model, opt: loop(model, opt, swap=True))[0] == ["LR001"]  # checked all the same


def warmup_then_cosine(model: Any, optimizer: Any) -> List[float]:
    """SequentialLR by hand: a linear warm-up for 5 steps, then a cosine on the same optimizer."""
    scheduler = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)
    lrs = []
    for step in range(12):
        if step == 5:
            scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=7)  # the warm-up never steps again
        train_step(model, optimizer)
        scheduler.step()
        lrs.append(lr_of(optimizer))
    return lrs


def decay_then_warmup(model: Any, optimizer: Any) -> List[float]:
    """The replacement's constructor itself moves the learning rate (LinearLR scales it by 0.1)."""
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    lrs = []
    for step in range(10):
        if step == 4:
            scheduler = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3)
        train_step(model, optimizer)
        scheduler.step()
        lrs.append(lr_of(optimizer))
    return lrs


def chained_by_hand(model: Any, optimizer: Any) -> List[float]:
    """Two schedulers on one optimizer, both stepped every iteration (ChainedScheduler by hand)."""
    warmup = lr_scheduler.ConstantLR(optimizer, factor=0.5, total_iters=3)
    decay = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    lrs = []
    for _ in range(8):
        train_step(model, optimizer)
        warmup.step()
        decay.step()
        lrs.append(lr_of(optimizer))
    return lrs


@pytest.mark.parametrize("loop", [warmup_then_cosine, decay_then_warmup, chained_by_hand])
def test_schedulers_replaced_or_combined_on_one_optimizer_are_silent_and_exact(loop):
    """No LR004 for the replaced scheduler (it was stepped before), no LR013 when its successor sets
    the learning rate, none at guarded()'s end either: raise mode would raise."""
    codes, lrs = run_block(loop, mode="raise")
    assert codes == [] and lrs == run_block(loop, mode=None)[1]


def test_a_scheduler_replaced_before_it_ever_stepped_is_lr004():
    """The counterpart that keeps the test above honest: replaced without ever stepping."""

    def loop(model: Any, optimizer: Any) -> List[float]:
        lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)  # forgotten
        for _ in range(3):
            train_step(model, optimizer)
        scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=7)
        for _ in range(3):
            train_step(model, optimizer)
            scheduler.step()
        return []

    assert run_block(loop)[0] == ["LR004"]


def test_replaced_by_a_scheduler_guard_was_not_given_is_a_known_limit():
    """``lrlint.guard()`` on the warm-up only: the cosine that replaces it is not checked (a misuse
    of it goes unreported), and the warm-up, stepped before and never again, reports nothing."""
    model, optimizer = make_optimizer()
    warmup = lrlint.guard(lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3))
    with recorded() as caught:
        for _ in range(3):
            train_step(model, optimizer)
            warmup.step()
        cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=6)
        for _ in range(4):
            iteration(model, optimizer, cosine, swapped=True)  # LR001, unseen
        assert guarding.report_unstepped([warmup]) == []
    assert codes_of(caught) == [] and type(cosine) is lr_scheduler.CosineAnnealingLR
