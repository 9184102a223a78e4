"""The learning-rate trace on real (CPU) torch: the CSV holds exactly the rates each optimizer step
trained with, read by hand before ``optimizer.step()``; it never changes training or stops it."""

from __future__ import annotations

import csv
import gc
import json
import pickle
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest

torch = pytest.importorskip("torch")

import lrlint  # noqa: E402
from lrlint.preview.plan import CSV_COLUMNS  # noqa: E402
from lrlint.runtime import trace  # noqa: E402

lr_scheduler = torch.optim.lr_scheduler
Row = Tuple[str, str, str, str, str, str]
NOT_WRITABLE = "cannot write the learning-rate trace"


# -- helpers -------------------------------------------------------------------------------------


def make_optimizer(kind: str = "sgd", groups: int = 1) -> Tuple[Any, Any]:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    if groups == 2:  # the weight and the bias at different rates
        params: Any = [{"params": [model.weight]}, {"params": [model.bias], "lr": 0.02}]
    else:
        params = model.parameters()
    if kind == "adamw":
        return model, torch.optim.AdamW(params, lr=0.1)
    return model, torch.optim.SGD(params, lr=0.1, momentum=0.9)


class ByHand:
    """The learning rates read by hand right before each ``optimizer.step()``, as the rows the
    trace should hold."""

    def __init__(self) -> None:
        self.rows: List[Row] = []
        self.updates: dict = {}

    def step(self, optimizer: Any, label: str) -> None:
        update = self.updates.get(label, 0)
        self.updates[label] = update + 1
        for group, param_group in enumerate(optimizer.param_groups):
            self.rows.append(("recorded", label, str(update), "", str(group), repr(param_group["lr"])))
        optimizer.step()


def backward(model: Any, optimizer: Any, zero: bool = True) -> None:
    if zero:
        optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()


def read(path: Path) -> List[Row]:
    """The trace's rows, after the header; every line complete."""
    trace.flush_traces()
    text = path.read_text()
    assert text.endswith("\n")
    rows = list(csv.reader(text.splitlines()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    return [tuple(row) for row in rows[1:]]  # type: ignore[misc]


@pytest.fixture
def no_periodic_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flusher thread writes nothing during the test (it looks ``flush_traces`` up each time)."""
    monkeypatch.setattr(trace, "flush_traces", lambda: None)


# -- exact rows for real training loops ----------------------------------------------------------


def test_step_lr_stepped_per_epoch(tmp_path: Path) -> None:
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5), trace=tmp_path / "lr.csv")
    hand = ByHand()
    for _ in range(5):
        for _ in range(3):
            backward(model, optimizer)
            hand.step(optimizer, "StepLR")
        scheduler.step()
    assert read(tmp_path / "lr.csv") == hand.rows
    assert len(hand.rows) == 15 and len({row[-1] for row in hand.rows}) == 3  # the rate really moved


def test_one_cycle_lr_stepped_per_batch_with_adamw(tmp_path: Path) -> None:
    model, optimizer = make_optimizer("adamw")
    scheduler = lrlint.guard(lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=12), trace=tmp_path / "lr.csv")
    hand = ByHand()
    for _ in range(12):
        backward(model, optimizer)
        hand.step(optimizer, "OneCycleLR")
        scheduler.step()
    assert read(tmp_path / "lr.csv") == hand.rows
    assert len({row[-1] for row in hand.rows}) == 12


def test_two_param_groups_each_get_a_row(tmp_path: Path) -> None:
    model, optimizer = make_optimizer(groups=2)
    scheduler = lrlint.guard(lr_scheduler.CosineAnnealingLR(optimizer, T_max=6), trace=tmp_path / "lr.csv")
    hand = ByHand()
    for _ in range(6):
        backward(model, optimizer)
        hand.step(optimizer, "CosineAnnealingLR")
        scheduler.step()
    rows = read(tmp_path / "lr.csv")
    assert rows == hand.rows
    assert [row[4] for row in rows[:4]] == ["0", "1", "0", "1"] and rows[0][-1] != rows[1][-1]


def test_gradient_accumulation_writes_a_row_per_optimizer_step_only(tmp_path: Path) -> None:
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=4), trace=tmp_path / "lr.csv")
    hand = ByHand()
    for batch in range(16):
        backward(model, optimizer, zero=batch % 4 == 0)
        if (batch + 1) % 4 == 0:
            hand.step(optimizer, "OneCycleLR")
            scheduler.step()
    rows = read(tmp_path / "lr.csv")
    assert rows == hand.rows and len(rows) == 16 // 4
    assert [row[2] for row in rows] == ["0", "1", "2", "3"]


def test_two_optimizers_share_one_file_under_unique_labels(tmp_path: Path) -> None:
    """Rows in the order the steps ran; a second StepLR is ``StepLR#2``; each counts its own steps."""
    path = tmp_path / "lr.csv"
    model, first = make_optimizer()
    other, second = make_optimizer("adamw")
    schedulers = [
        lrlint.guard(lr_scheduler.StepLR(first, step_size=1, gamma=0.5), trace=path),
        lrlint.guard(lr_scheduler.StepLR(second, step_size=2, gamma=0.1), trace=str(path)),
    ]
    hand = ByHand()
    for iteration in range(6):
        backward(model, first)
        hand.step(first, "StepLR")
        schedulers[0].step()
        if iteration % 2:  # the second optimizer steps every other iteration
            backward(other, second)
            hand.step(second, "StepLR#2")
            schedulers[1].step()
    assert read(path) == hand.rows
    assert [row[2] for row in hand.rows if row[1] == "StepLR#2"] == ["0", "1", "2"]


@pytest.mark.parametrize("container", ["SequentialLR", "ChainedScheduler"])
def test_a_container_writes_each_optimizer_step_once_under_its_own_label(tmp_path: Path, container: str) -> None:
    """Under ``guarded()`` the children and the container are all traced: one row per step, named
    after the outermost scheduler."""
    model, optimizer = make_optimizer()
    hand = ByHand()
    with lrlint.guarded(on_violation="raise", trace=tmp_path / "lr.csv"):
        warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3)
        decay = lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
        if container == "SequentialLR":
            scheduler = lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[3])
        else:
            scheduler = lr_scheduler.ChainedScheduler([warmup, decay])
        for _ in range(8):
            backward(model, optimizer)
            hand.step(optimizer, container)
            scheduler.step()
    rows = read(tmp_path / "lr.csv")
    assert rows == hand.rows and len(rows) == 8


def test_guarded_traces_schedulers_built_mid_run_and_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path (to the working directory when the block starts); steps before any
    scheduler exists are not traced; a replacement on the same optimizer continues its rows; a
    scheduler on a new optimizer gets its own; the rows are written when the block ends."""
    monkeypatch.chdir(tmp_path)
    model, optimizer = make_optimizer()
    hand = ByHand()
    with lrlint.guarded(trace="lr.csv"):
        for _ in range(3):  # no scheduler yet
            backward(model, optimizer)
            optimizer.step()
        scheduler = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3)
        for step in range(8):
            if step == 3:  # the warm-up is replaced, as a hand-made SequentialLR does
                scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
            backward(model, optimizer)
            hand.step(optimizer, "LinearLR")
            scheduler.step()
        other, fine_tune = make_optimizer("adamw")
        scheduler = lr_scheduler.LinearLR(fine_tune, start_factor=0.5, total_iters=2)
        for _ in range(3):
            backward(other, fine_tune)
            hand.step(fine_tune, "LinearLR#2")
            scheduler.step()
    assert read(tmp_path / "lr.csv") == hand.rows


def test_the_trace_changes_nothing_in_training(tmp_path: Path) -> None:
    """Same weights and rates, same state_dict keys, no scheduler attribute added; a traced
    scheduler and its optimizer still pickle, and the loaded pair trains (untraced)."""

    def train(path: Optional[Path]) -> Tuple[Any, Any, Any]:
        model, optimizer = make_optimizer("adamw", groups=2)
        scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=[0.5, 0.1], total_steps=10)
        attributes = set(vars(scheduler))
        lrlint.guard(scheduler, trace=path)
        assert set(vars(scheduler)) == attributes
        for _ in range(8):
            backward(model, optimizer)
            optimizer.step()
            scheduler.step()
        return model, optimizer, scheduler

    model, optimizer, scheduler = train(tmp_path / "lr.csv")
    plain_model, plain_optimizer, plain_scheduler = train(None)
    assert torch.equal(model.weight, plain_model.weight)
    assert scheduler.state_dict().keys() == plain_scheduler.state_dict().keys()
    assert str(optimizer.state_dict()) == str(plain_optimizer.state_dict())
    loaded = pickle.loads(pickle.dumps({"optimizer": optimizer, "scheduler": scheduler}))
    loaded["optimizer"].step()
    loaded["scheduler"].step()
    assert len(read(tmp_path / "lr.csv")) == 8 * 2  # the loaded optimizer's step is not traced


def test_a_compiled_optimizer_step_is_traced_without_a_new_graph(tmp_path: Path) -> None:
    """torch.compile(optimizer.step) with the learning rate in a tensor: the trace runs eagerly
    beside the compiled step, exactly as by hand, with as many graphs as untraced."""
    dynamo = pytest.importorskip("torch._dynamo")
    from torch._dynamo.utils import counters

    def train(path: Optional[Path]) -> Tuple[ByHand, int]:
        dynamo.reset()
        counters.clear()
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=torch.tensor(0.1), momentum=0.9)
        scheduler = lrlint.guard(lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=4), trace=path)
        step = torch.compile(optimizer.step, backend="eager")
        hand = ByHand()
        for _ in range(6):
            backward(model, optimizer)
            hand.rows.append(
                ("recorded", "LinearLR", str(len(hand.rows)), "", "0", repr(float(optimizer.param_groups[0]["lr"])))
            )
            step()
            scheduler.step()
        return hand, counters["stats"]["unique_graphs"]

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hand, graphs = train(tmp_path / "lr.csv")
    except Exception as error:  # pragma: no cover - depends on the platform
        pytest.skip(f"torch.compile cannot run here: {error!r}")
    assert read(tmp_path / "lr.csv") == hand.rows
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []  # none from Dynamo
    assert 0 < graphs == train(None)[1]
    dynamo.reset()


# -- when the rows reach the file ------------------------------------------------------------------


def test_rows_reach_the_file_within_a_second_with_no_flush(tmp_path: Path) -> None:
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2), trace=tmp_path / "lr.csv")
    for _ in range(5):
        backward(model, optimizer)
        optimizer.step()
        scheduler.step()
    deadline = time.monotonic() + 5 * trace.FLUSH_SECONDS
    while time.monotonic() < deadline and (tmp_path / "lr.csv").read_text().count("\n") < 6:
        time.sleep(0.05)
    assert (tmp_path / "lr.csv").read_text().count("\n") == 6  # the header and five rows


def test_rows_are_written_when_the_optimizer_is_garbage_collected(tmp_path: Path, no_periodic_flush: None) -> None:
    path = tmp_path / "lr.csv"
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2), trace=path)
    for _ in range(5):
        backward(model, optimizer)
        optimizer.step()
        scheduler.step()
    del optimizer, scheduler
    gc.collect()
    assert path.read_text().count("\n") == 6


# -- the trace never stops training ----------------------------------------------------------------


def test_a_missing_folder_warns_once_and_training_completes(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "lr.csv"
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5), trace=path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(6):
            backward(model, optimizer)
            optimizer.step()
            scheduler.step()
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 1 and NOT_WRITABLE in messages[0] and str(path) in messages[0]
    assert "\n" not in messages[0] and caught[0].filename == __file__  # at the user's line
    assert optimizer.param_groups[0]["lr"] == 0.1 * 0.5**3
    assert not path.parent.exists()


def test_a_missing_folder_under_warnings_as_errors_is_a_log_line(tmp_path: Path, caplog: Any) -> None:
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2), trace=tmp_path / "missing" / "lr.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backward(model, optimizer)
        optimizer.step()
        scheduler.step()
    assert NOT_WRITABLE in caplog.text


def test_an_internal_error_turns_tracing_off_not_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace.STOPPED, "stopped", False)
    monkeypatch.setattr(trace, "_TAPS", {})  # cleared by the error: the other tests' taps stay
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2), trace=tmp_path / "lr.csv")

    def broken(*args: Any) -> Any:
        raise KeyError("lrlint bug")

    monkeypatch.setattr(trace, "_value", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):
            backward(model, optimizer)
            optimizer.step()
            scheduler.step()
    assert len([w for w in caught if "the learning-rate trace stopped" in str(w.message)]) == 1
    assert trace.STOPPED.stopped and trace._TAPS == {}
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.1**2)


@pytest.mark.parametrize("all_ranks", [False, True], ids=["rank 0 only", "LRLINT_ALL_RANKS"])
def test_under_torch_distributed_only_rank_0_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, all_ranks: bool
) -> None:
    """As rank 1: no file; with LRLINT_ALL_RANKS=1, a file of its own beside rank 0's."""
    monkeypatch.setattr(torch.distributed, "is_available", lambda: True)
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda group=None: 1)
    monkeypatch.setenv("LRLINT_ALL_RANKS", "1" if all_ranks else "0")
    model, optimizer = make_optimizer()
    scheduler = lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2), trace=tmp_path / "lr.csv")
    hand = ByHand()
    for _ in range(3):
        backward(model, optimizer)
        hand.step(optimizer, "StepLR")
        scheduler.step()
    trace.flush_traces()
    assert [path.name for path in tmp_path.iterdir()] == (["lr.rank1.csv"] if all_ranks else [])
    if all_ranks:
        assert read(tmp_path / "lr.rank1.csv") == hand.rows


def test_tracing_is_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    model, optimizer = make_optimizer()
    with lrlint.guarded():
        scheduler = lr_scheduler.StepLR(optimizer, step_size=2)
        for _ in range(3):
            backward(model, optimizer)
            optimizer.step()
            scheduler.step()
    assert id(optimizer) not in trace._TAPS
    assert trace._on_optimizer_step not in optimizer._optimizer_step_pre_hooks.values()
    assert list(tmp_path.iterdir()) == []


def test_a_trace_that_is_not_a_path_is_a_type_error() -> None:
    model, optimizer = make_optimizer()
    with pytest.raises(TypeError, match="trace must be a path"):
        lrlint.guard(lr_scheduler.StepLR(optimizer, step_size=2), trace=3)


# -- python -m lrlint.run --trace, and a run that crashes ------------------------------------------

TRAINING = """
import json, sys
import torch
{setup}
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(
    [{{"params": [model.weight]}}, {{"params": [model.bias], "lr": 0.02}}], lr=0.1, momentum=0.9
)
scheduler = {scheduler}
seen = []
for batch in range(12):
    optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()
    seen.append([repr(group["lr"]) for group in optimizer.param_groups])
    with open(sys.argv[1], "w") as out:  # read by hand, as far as training got
        json.dump(seen, out)
    optimizer.step()
    scheduler.step()
    if batch == {crash_at}:
        raise RuntimeError("training crashed")
"""


def run_script(tmp_path: Path, command: List[str], **fields: Any) -> subprocess.CompletedProcess:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TRAINING.format(**fields)))
    return subprocess.run(
        [sys.executable, *command, str(script), str(tmp_path / "seen.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def expected_rows(tmp_path: Path, label: str) -> List[Row]:
    seen = json.loads((tmp_path / "seen.json").read_text())
    return [
        ("recorded", label, str(update), "", str(group), lr)
        for update, lrs in enumerate(seen)
        for group, lr in enumerate(lrs)
    ]


def test_lrlint_run_traces_an_unmodified_script(tmp_path: Path) -> None:
    scheduler = "torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[0.5, 0.1], total_steps=12)"
    result = run_script(tmp_path, ["-m", "lrlint.run", "--trace", "lr.csv"], setup="", scheduler=scheduler, crash_at=-1)
    assert result.returncode == 0, result.stderr
    rows = read(tmp_path / "lr.csv")
    assert rows == expected_rows(tmp_path, "OneCycleLR") and len(rows) == 12 * 2


def test_a_crash_leaves_every_row_written_so_far(tmp_path: Path) -> None:
    """``guard(trace=...)`` in a plain script that raises after 7 steps: the rows reach the file at
    exit, whole lines only."""
    setup = "import lrlint"
    scheduler = "lrlint.guard(torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5), trace='lr.csv')"
    result = run_script(tmp_path, [], setup=setup, scheduler=scheduler, crash_at=6)
    assert result.returncode == 1 and "training crashed" in result.stderr
    rows = read(tmp_path / "lr.csv")
    assert rows == expected_rows(tmp_path, "StepLR") and len(rows) == 7 * 2
