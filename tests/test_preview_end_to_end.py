"""``lrlint preview`` against reality: each script is run for real under the runtime trace
(``python -m lrlint.run --trace``), and the learning rates it trained with must equal the preview's
"actual" curve, read statically from the same file. Where lrlint reports a finding, the preview
also draws the intended curve, and it differs from the actual one."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

from lrlint.catalogue import RULES
from lrlint.preview.command import main as preview_main
from lrlint.preview.plan import Missing, Options, Preview
from lrlint.preview.replay import replay
from lrlint.preview.static import fill_in, read_preview

torch = pytest.importorskip("torch")

BATCHES = 6  # batches per epoch in every script below
HEADER = f"""\
import math

import torch

torch.manual_seed(0)
EPOCHS = 6
model = torch.nn.Linear(4, 1)
loader = [(torch.randn(8, 4), torch.randn(8, 1)) for _ in range({BATCHES})]


def loss_of(batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)
"""
PER_EPOCH = """
for epoch in range(EPOCHS):
    for batch in loader:
        optimizer.zero_grad()
        loss_of(batch).backward()
        optimizer.step()
    scheduler.step()
"""
PER_BATCH = """
for epoch in range(EPOCHS):
    for batch in loader:
        optimizer.zero_grad()
        loss_of(batch).backward()
        optimizer.step()
        scheduler.step()
"""
SGD = "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
WARMUP_COSINE = """
total_steps = EPOCHS * len(loader)
warmup_steps = 5


def warmup_cosine(step):
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine)
"""
PLATEAU = """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
val_losses = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98]
for epoch in range(EPOCHS):
    for batch in loader:
        optimizer.zero_grad()
        loss_of(batch).backward()
        optimizer.step()
    scheduler.step(val_losses[epoch])
"""
ACCUMULATION = """
ACCUM = 3
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=EPOCHS * len(loader) // ACCUM)
for epoch in range(EPOCHS):
    for i, batch in enumerate(loader):
        (loss_of(batch) / ACCUM).backward()
        if (i + 1) % ACCUM == 0:
            optimizer.step()
            optimizer.zero_grad()
            scheduler.step()
"""
TWO_GROUPS = """
optimizer = torch.optim.SGD([{"params": model.weight, "lr": 0.1}, {"params": model.bias}], lr=0.01)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)
"""

CORRECT: Dict[str, Tuple[str, Sequence[str]]] = {
    "steplr": (
        SGD + "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)\n" + PER_EPOCH,
        (),
    ),
    "multisteplr": (
        SGD + "scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4], gamma=0.1)\n" + PER_EPOCH,
        (),
    ),
    "exponentiallr": (
        SGD + "scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)\n" + PER_EPOCH,
        (),
    ),
    "cosine": (
        SGD + "scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)\n" + PER_EPOCH,
        (),
    ),
    "warmup_cosine": (WARMUP_COSINE + PER_BATCH, ()),
    "onecycle": (
        SGD
        + "scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, epochs=EPOCHS,"
        + " steps_per_epoch=len(loader))\n"
        + PER_BATCH,
        (),
    ),
    "plateau": (PLATEAU, ("--metric", "1.0,0.9,0.95,0.96,0.97,0.98")),
    "accumulation": (ACCUMULATION, ()),
    "two_groups": (TWO_GROUPS + PER_EPOCH, ()),
}
MISUSED: Dict[str, Tuple[str, str]] = {
    "onecycle_per_epoch": (
        SGD
        + "scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, epochs=EPOCHS,"
        + " steps_per_epoch=len(loader))\n"
        + PER_EPOCH,
        "LR002",
    ),
    "steplr_per_batch": (
        SGD + "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)\n" + PER_BATCH,
        "LR003",
    ),
    "cosine_short_horizon": (
        SGD + "scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=2)\n" + PER_EPOCH,
        "LR012",
    ),
}

Rows = Dict[str, List[Tuple[int, int, float]]]  # curve kind -> (update, group, lr)


def _rows(path: Path) -> Rows:
    rows: Rows = {}
    with path.open(newline="") as stream:
        for row in csv.DictReader(stream):
            rows.setdefault(row["curve"], []).append((int(row["update"]), int(row["group"]), float(row["lr"])))
    return rows


def assert_same_rates(previewed: List[Tuple[int, int, float]], recorded: List[Tuple[int, int, float]]) -> None:
    """The same optimizer steps and param groups, at the same rates (torch's own arithmetic both times)."""
    assert [(update, group) for update, group, _ in previewed] == [(update, group) for update, group, _ in recorded]
    assert [lr for _, _, lr in previewed] == pytest.approx([lr for _, _, lr in recorded], rel=1e-12, abs=0)


def _run_for_real(script: Path, trace: Path) -> Rows:
    """``python -m lrlint.run --trace TRACE SCRIPT``: the script trains for real, traced."""
    done = subprocess.run(
        [sys.executable, "-m", "lrlint.run", "--trace", str(trace), str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=script.parent,
    )
    assert done.returncode == 0, done.stderr
    return _rows(trace)


# Each script trains under guarded(trace=...), as `python -m lrlint.run --trace` runs it, but all in
# one interpreter: torch is imported once, not once per script.
RUN_ALL = """
import runpy, sys
from lrlint.runtime import guarded
for script in sys.argv[1:]:
    with guarded(trace=script[:-3] + ".trace.csv"):
        runpy.run_path(script, run_name="__main__")
"""


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Tuple[Path, Rows]]:
    """Every script of CORRECT and MISUSED, written out and run for real: its path and its trace."""
    folder = tmp_path_factory.mktemp("scripts")
    scripts = {name: code for name, (code, _) in {**CORRECT, **MISUSED}.items()}
    for name, code in scripts.items():
        (folder / f"{name}.py").write_text(HEADER + textwrap.dedent(code))
    paths = [str(folder / f"{name}.py") for name in scripts]
    done = subprocess.run(
        [sys.executable, "-c", RUN_ALL, *paths], capture_output=True, text=True, timeout=300, cwd=folder
    )
    assert done.returncode == 0, done.stderr
    return {name: (folder / f"{name}.py", _rows(folder / f"{name}.trace.csv")) for name in scripts}


def _preview(script: Path, output: Path, extra: Sequence[str], capsys: pytest.CaptureFixture) -> Rows:
    status = preview_main([str(script), "--steps-per-epoch", str(BATCHES), "-o", str(output), *extra])
    assert status == 0, capsys.readouterr().err
    return _rows(output)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_script_previews_the_rates_it_trains_with(
    name: str, traced: Dict[str, Tuple[Path, Rows]], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, extra = CORRECT[name]
    script, trace = traced[name]
    recorded = trace["recorded"]
    previewed = _preview(script, tmp_path / "preview.csv", extra, capsys)
    assert set(previewed) == {"actual"}, "a correct script has one curve"
    assert len(recorded) >= BATCHES
    assert_same_rates(previewed["actual"], recorded)


@pytest.mark.parametrize("name", sorted(MISUSED))
def test_misused_scheduler_previews_the_actual_and_the_intended_curve(
    name: str, traced: Dict[str, Tuple[Path, Rows]], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, finding = MISUSED[name]
    script, trace = traced[name]
    recorded = trace["recorded"]
    previewed = _preview(script, tmp_path / "preview.csv", (), capsys)
    assert set(previewed) == {"actual", "intended"}
    assert_same_rates(previewed["actual"], recorded)
    assert previewed["intended"] != previewed["actual"]
    assert status_text(script, capsys).count(finding) >= 1


def status_text(script: Path, capsys: pytest.CaptureFixture) -> str:
    """The text plot names the finding behind the intended curve."""
    capsys.readouterr()
    assert preview_main([str(script), "--steps-per-epoch", str(BATCHES)]) == 0
    return capsys.readouterr().out


def test_missing_sizes_are_asked_for_by_name(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        HEADER
        + SGD
        + "scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.5, epochs=EPOCHS, steps_per_epoch=len(loader))\n"
        + PER_BATCH
    )
    assert preview_main([str(script)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("lrlint preview: error: ") and "len(loader)" in error and "--steps-per-epoch" in error
    assert len(error.strip().splitlines()) == 1


def test_nothing_to_preview_is_an_error_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = tmp_path / "train.py"
    script.write_text("import torch\nprint(torch.zeros(1))\n")
    assert preview_main([str(script)]) == 2
    assert "nothing to preview" in capsys.readouterr().err


def test_a_recorded_trace_is_drawn_with_the_preview(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _ = CORRECT["onecycle"]
    script = tmp_path / "train.py"
    script.write_text(HEADER + code)
    _run_for_real(script, tmp_path / "trace.csv")
    status = preview_main([str(script), "--steps-per-epoch", str(BATCHES), "--trace", str(tmp_path / "trace.csv")])
    assert status == 0
    out = capsys.readouterr().out
    assert "actual" in out and "recorded" in out
    assert preview_main(["--trace", str(tmp_path / "trace.csv"), "-o", str(tmp_path / "again.csv")]) == 0
    assert _rows(tmp_path / "again.csv") == _rows(tmp_path / "trace.csv")


def test_lrlint_preview_is_a_sub_command_and_a_folder_named_preview_still_lints(tmp_path: Path) -> None:
    code, _ = CORRECT["steplr"]
    (tmp_path / "train.py").write_text(HEADER + code)
    folder = tmp_path / "preview"
    folder.mkdir()
    (folder / "bad.py").write_text(
        "import torch\nopt = torch.optim.SGD([], lr=0.1)\n"
        "scheduler = torch.optim.lr_scheduler.StepLR(opt, 10)\n"
        "for epoch in range(3):\n    scheduler.step()\n    opt.step()\n"
    )
    run = [sys.executable, "-m", "lrlint"]
    shown = subprocess.run(
        run + ["preview", "train.py", "--steps-per-epoch", str(BATCHES)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stderr
    assert "StepLR" in shown.stdout
    linted = subprocess.run(
        run + ["--isolated", "./preview"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert linted.returncode == 1 and "LR001" in linted.stdout


# The rules whose misuse changes the curve: each catalogue Example gets an intended curve beside
# the actual one, and each "Use instead" a single curve.
CURVE_RULES = ("LR001", "LR002", "LR003", "LR004", "LR005", "LR009", "LR012", "LR014")


def small_run(found: Preview) -> Options:
    """A few epochs of a few batches; the script's own epoch count where it has one."""
    epochs = 4 if isinstance(found.loop.epochs, Missing) else None
    return Options(epochs=epochs, steps_per_epoch=5, accumulation=2, metrics=(1.0, 0.9, 0.95, 0.97))


@pytest.mark.parametrize("code", CURVE_RULES)
def test_catalogue_example_shows_the_wrong_curve_beside_the_intended_one(code: str) -> None:
    found = fill_in(read_preview(RULES[code].example, "example.py"), {}, lr=0.1)
    (plan,) = found.plans
    assert plan.intended is not None and code in plan.intended.codes
    actual, meant = (replay(plan, found.loop, small_run(found), kind=kind) for kind in ("actual", "intended"))
    assert meant.stopped is None and meant.lrs
    assert actual.lrs != meant.lrs or actual.stopped is not None


@pytest.mark.parametrize("code", CURVE_RULES)
def test_catalogue_use_instead_shows_one_curve(code: str) -> None:
    found = fill_in(read_preview(RULES[code].use_instead, "fixed.py"), {}, lr=0.1)
    (plan,) = found.plans
    assert plan.intended is None
    assert replay(plan, found.loop, small_run(found)).stopped is None


@pytest.mark.parametrize("code", ["LR006", "LR008"])
def test_curves_only_the_run_knows_are_not_guessed(code: str) -> None:
    found = read_preview(RULES[code].example, "example.py")
    assert found.plans == () and any("not previewed" in note for note in found.notes), found.notes


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "No such file or directory"),
        (b"a,b\n", "line 1: expected the header"),
        (b"curve,scheduler,update,epoch,group,lr\n\xff\n", "not a UTF-8 CSV file"),
    ],
)
def test_a_bad_trace_is_one_line_naming_the_file(
    content: Optional[bytes], problem: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    trace = tmp_path / "lr.csv"
    if content is not None:
        trace.write_bytes(content)
    assert preview_main(["--trace", str(trace)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"lrlint preview: error: {trace}: ") and problem in error
    assert len(error.splitlines()) == 1


def test_an_unknown_output_format_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _ = CORRECT["steplr"]
    (tmp_path / "train.py").write_text(HEADER + code)
    out = tmp_path / "lr.txt"
    assert preview_main([str(tmp_path / "train.py"), "--steps-per-epoch", "3", "-o", str(out)]) == 2
    assert "unknown output format .txt" in capsys.readouterr().err and not out.exists()


def test_every_value_the_run_knows_is_asked_for_at_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import torch\n"
        "cfg = load_config()\n"
        "model = torch.nn.Linear(2, 1)\n"
        'optimizer = torch.optim.SGD(model.parameters(), lr=cfg["lr"])\n'
        'scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg["step"])\n'
        "for epoch in range(6):\n"
        "    for x in loader:\n"
        "        optimizer.step()\n"
        "    scheduler.step()\n"
    )
    assert preview_main([str(script)]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        "lrlint preview: error: StepLR (scheduler, line 5): needs values only the run knows: "
        '`len(loader)`: pass --steps-per-epoch N; `cfg["step"]`: pass --set \'cfg["step"]=VALUE\'; '
        '`cfg["lr"]`: pass --lr VALUE'
    )
    settings = ["--steps-per-epoch", "2", "--lr", "0.1", "--set", 'cfg["step"]=2', "-o", str(tmp_path / "lr.csv")]
    assert preview_main([str(script), *settings]) == 0
    rates = [lr for _, _, lr in _rows(tmp_path / "lr.csv")["actual"]]
    assert rates == pytest.approx([0.1] * 4 + [0.01] * 4 + [0.001] * 4, rel=1e-12)


def test_set_takes_numbers_and_lists(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import torch\n"
        "model = torch.nn.Linear(2, 1)\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=args.milestones, gamma=0.5)\n"
        "for epoch in range(args.epochs):\n"
        "    for x in loader:\n"
        "        optimizer.step()\n"
        "    scheduler.step()\n"
    )
    out = tmp_path / "lr.csv"
    settings = ["--set", "args.milestones=2,4", "--set", "args.epochs=6", "--steps-per-epoch", "1", "-o", str(out)]
    assert preview_main([str(script), *settings]) == 0
    assert [lr for _, _, lr in _rows(out)["actual"]] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


def test_an_internal_error_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lrlint.preview.static as static

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(static, "read_preview", broken)
    script = tmp_path / "train.py"
    script.write_text("import torch\n")
    assert preview_main([str(script)]) == 2
    assert capsys.readouterr().err.strip() == "lrlint preview: internal error: KeyError: 'boom'"
