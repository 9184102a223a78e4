"""``--fix`` and ``--diff``: each rule's fix, its proof, and how files are written back."""

from __future__ import annotations

import ast
import difflib
import json
import os
import stat
import sys
from pathlib import Path
from typing import List

import pytest
from conftest import invoke

from lrlint.atomic import ChangedOnDisk
from lrlint.catalogue import RULES
from lrlint.diagnostics import Diagnostic
from lrlint.engine import lint_source
from lrlint.fixer import fix_file, fix_source, write_fix
from lrlint.fixes import Edit, Fix, apply_edits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXABLE = tuple(code for code, rule in sorted(RULES.items()) if rule.fix)

HEADER = """import torch
from torch.optim.lr_scheduler import StepLR

model = torch.nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = StepLR(optimizer, step_size=30)
"""


def fixed(source: str) -> str:
    return fix_source(source, lambda text: lint_source(text, "train.py")).source


def codes(source: str) -> List[str]:
    return [d.code for d in lint_source(source, "train.py")]


# --- each rule's fix -----------------------------------------------------------------------


def test_lr001_moves_the_step_after_the_optimizer_step_with_its_comment() -> None:
    source = HEADER + (
        "for epoch in range(90):\n"
        "    for x, y in loader:\n"
        "        optimizer.zero_grad()\n"
        "        loss = model(x).sum()\n"
        "        loss.backward()\n"
        "        # per batch\n"
        "        scheduler.step()  # decays\n"
        "        optimizer.step()\n"
        "        log(loss)\n"
    )
    result = fixed(source)
    assert result.endswith(
        "        loss.backward()\n        optimizer.step()\n        # per batch\n        scheduler.step()  # decays\n"
        "        log(loss)\n"
    )
    assert "LR001" not in codes(result)


def test_lr001_moves_the_step_after_the_batch_loop_and_after_a_helper_call() -> None:
    loop = HEADER + (
        "for epoch in range(90):\n"
        "    scheduler.step()\n"
        "    for x, y in loader:\n"
        "        optimizer.zero_grad()\n"
        "        model(x).sum().backward()\n"
        "        optimizer.step()\n"
        "    evaluate(model)\n"
    )
    assert fixed(loop).endswith("        optimizer.step()\n    scheduler.step()\n    evaluate(model)\n")
    helper = HEADER + (
        "def train_one_epoch():\n"
        "    for x, y in loader:\n"
        "        optimizer.zero_grad()\n"
        "        model(x).sum().backward()\n"
        "        optimizer.step()\n"
        "\n"
        "for epoch in range(90):\n"
        "    scheduler.step()\n"
        "    train_one_epoch()\n"
    )
    assert fixed(helper).endswith("    train_one_epoch()\n    scheduler.step()\n")


def test_lr001_moves_a_none_guard_with_its_step() -> None:
    source = HEADER + (
        "for x, y in loader:\n"
        "    model(x).sum().backward()\n"
        "    if scheduler is not None:\n"
        "        scheduler.step()\n"
        "    optimizer.step()\n"
    )
    assert fixed(source).endswith("    optimizer.step()\n    if scheduler is not None:\n        scheduler.step()\n")


@pytest.mark.parametrize(
    "between",
    [
        "    if skip(x):\n        continue\n",  # a continue between: moving changes whether it runs
        "    if x is None:\n        break\n",
    ],
)
def test_lr001_no_fix_when_control_can_leave_between(between: str) -> None:
    source = HEADER + "for x, y in loader:\n    scheduler.step()\n" + between + "    optimizer.step()\n"
    diagnostics = lint_source(source, "train.py")
    assert [d.code for d in diagnostics] == ["LR001"] and diagnostics[0].fix is None


def test_lr001_no_fix_on_a_semicolon_line_or_a_conditional_optimizer_step() -> None:
    semicolon = HEADER + "for x, y in loader:\n    scheduler.step(); log()\n    optimizer.step()\n"
    branch = (
        HEADER + "for i, x in enumerate(loader):\n    scheduler.step()\n    if i % 4 == 0:\n        optimizer.step()\n"
    )
    for source in (semicolon, branch):
        assert all(d.fix is None for d in lint_source(source, "train.py"))


def test_lr006_drops_an_epoch_not_a_metric() -> None:
    epoch = HEADER + "for epoch in range(90):\n    train(model, optimizer)\n    scheduler.step(epoch)\n"
    assert fixed(epoch).endswith("    scheduler.step()\n")
    keyword = HEADER + "for e in range(90):\n    train(model, optimizer)\n    scheduler.step(epoch=e + 1)\n"
    assert fixed(keyword).endswith("    scheduler.step()\n")
    metric = HEADER + "for epoch in range(90):\n    train(model, optimizer)\n    scheduler.step(val_loss)\n"
    diagnostics = lint_source(metric, "train.py")
    assert [d.code for d in diagnostics] == ["LR006"] and diagnostics[0].fix is None


def test_lr006_under_a_condition_is_only_a_suggestion() -> None:
    # after a warm-up the step count is not the epoch number: dropping it would shift the schedule
    source = (
        HEADER
        + "for epoch in range(90):\n    train(model, optimizer)\n    if epoch > 5:\n        scheduler.step(epoch)\n"
    )
    (diagnostic,) = lint_source(source, "train.py")
    assert diagnostic.fix is not None and diagnostic.fix.applicability == "unsafe"
    assert fixed(source) == source


def test_lr001_a_guard_does_not_move_past_an_assignment_of_what_it_tests() -> None:
    source = HEADER + (
        "for x, y in loader:\n"
        "    model(x).sum().backward()\n"
        "    if warm:\n"
        "        scheduler.step()\n"
        "    warm = still_warming()\n"
        "    optimizer.step()\n"
    )
    assert [(d.code, d.fix) for d in lint_source(source, "train.py")] == [("LR001", None)]


def test_lr010_uses_get_last_lr() -> None:
    source = HEADER + "print(scheduler.get_lr()[0])\n"
    assert fixed(source).endswith("print(scheduler.get_last_lr()[0])\n")


LIGHTNING = """import torch
import lightning as L
from torch.optim.lr_scheduler import OneCycleLR


class Model(L.LightningModule):
    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=1e-3)
        scheduler = OneCycleLR(optimizer, max_lr=1e-3, total_steps=10000)
        return {returned}
"""


@pytest.mark.parametrize(
    "returned, expected",
    [
        (
            "{'optimizer': optimizer, 'lr_scheduler': {'scheduler': scheduler}}",
            "{'optimizer': optimizer, 'lr_scheduler': {'scheduler': scheduler, 'interval': 'step'}}",
        ),
        (
            '{"optimizer": optimizer, "lr_scheduler": scheduler}',
            '{"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}',
        ),
        ("[optimizer], [scheduler]", '[optimizer], [{"scheduler": scheduler, "interval": "step"}]'),
    ],
)
def test_lr011_adds_interval_step(returned: str, expected: str) -> None:
    result = fixed(LIGHTNING.format(returned=returned))
    assert result == LIGHTNING.format(returned=expected)
    assert "LR011" not in codes(result)


def test_lr011_explicit_epoch_interval_is_only_a_suggestion() -> None:
    source = LIGHTNING.format(returned='[optimizer], [{"scheduler": scheduler, "interval": "epoch"}]')
    (diagnostic,) = lint_source(source, "train.py")
    assert diagnostic.fix is not None and diagnostic.fix.applicability == "unsafe"
    assert fixed(source) == source


def test_the_catalogue_names_the_rules_with_fixes() -> None:
    assert FIXABLE == ("LR001", "LR006", "LR010", "LR011")


@pytest.mark.parametrize("code", FIXABLE)
def test_every_fixable_rule_fixes_its_catalogue_example(code: str) -> None:
    example = RULES[code].example
    result = fixed(example)
    assert result != example and _parses(result)
    assert code not in codes(result)


# --- the proof: a fix that breaks something is not applied ---------------------------------


def _diagnostic(code: str, line: int, fix: Fix) -> Diagnostic:
    return Diagnostic(code, "m", "x.py", line, 1, line, 2, fix=fix)


def test_a_fix_that_adds_a_finding_is_dropped() -> None:
    bad_fix = Fix("rename", (Edit(1, 1, 1, 2, "b"),))

    def lint(text: str) -> List[Diagnostic]:
        return [_diagnostic("LR010", 1, bad_fix)] if text.startswith("a") else [_diagnostic("LR014", 1, bad_fix)]

    result = fix_source("a = 1\n", lint)
    assert result.source == "a = 1\n" and result.counts == {}


def test_a_fix_that_does_not_parse_is_dropped_and_the_others_still_apply() -> None:
    broken = Fix("break it", (Edit(1, 1, 1, 1, "(("),))
    good = Fix("fine", (Edit(3, 1, 3, 2, "d"),))

    def lint(text: str) -> List[Diagnostic]:
        found = []
        if text.startswith("a"):
            found.append(_diagnostic("LR010", 1, broken))
        if "c = 3" in text:
            found.append(_diagnostic("LR006", 3, good))
        return found

    result = fix_source("a = 1\nb = 2\nc = 3\n", lint)
    assert result.source == "a = 1\nb = 2\nd = 3\n" and result.counts == {"LR006": 1}


def test_apply_edits_keeps_crlf_and_refuses_overlaps() -> None:
    assert apply_edits("a\r\nb\r\n", [Edit(2, 1, 2, 2, "c")]) == "a\r\nc\r\n"
    assert apply_edits("a\nb", [Edit(1, 1, 2, 1, ""), Edit(2, 2, 2, 2, "\na")]) == "b\na"
    with pytest.raises(ValueError):
        apply_edits("abc", [Edit(1, 1, 1, 3, ""), Edit(1, 2, 1, 2, "x")])


# --- the command line and the files ---------------------------------------------------------

BAD_SCRIPT = HEADER + (
    "for epoch in range(90):\n"
    "    scheduler.step()\n"
    "    for x, y in loader:\n"
    "        optimizer.zero_grad()\n"
    "        model(x).sum().backward()\n"
    "        optimizer.step()\n"
    "    print(scheduler.get_lr())\n"
)


def test_fix_writes_reports_the_rest_and_a_second_run_is_a_no_op(project: Path) -> None:
    path = project / "train.py"
    path.write_text(BAD_SCRIPT + "    scheduler.step(val_loss)\n", encoding="utf-8")  # LR006 and LR014: no fix
    result = invoke("--fix", "train.py")
    assert "Found 4 errors (2 fixed, 2 remaining)." in result.stderr
    assert result.exit_code == 1 and [line.split()[1] for line in result.stdout.splitlines()] == ["LR006", "LR014"]
    after = path.read_text(encoding="utf-8")
    assert "    print(scheduler.get_last_lr())\n" in after and "LR001" not in result.stdout
    again = invoke("--fix", "train.py")
    assert path.read_text(encoding="utf-8") == after and "fixed" not in again.stderr


def test_fix_exit_0_when_everything_was_fixed(project: Path) -> None:
    (project / "train.py").write_text(BAD_SCRIPT, encoding="utf-8")
    result = invoke("--fix", "train.py")
    assert result.exit_code == 0 and result.stdout == ""
    assert "Found 2 errors (2 fixed, 0 remaining)." in result.stderr


def test_diff_prints_and_writes_nothing(project: Path) -> None:
    path = project / "train.py"
    path.write_text(BAD_SCRIPT, encoding="utf-8")
    result = invoke("--diff", "train.py")
    assert result.exit_code == 1 and path.read_text(encoding="utf-8") == BAD_SCRIPT
    assert result.stdout.startswith("--- train.py\n+++ train.py\n@@")
    assert (
        "-    print(scheduler.get_lr())\n" in result.stdout and "+    print(scheduler.get_last_lr())\n" in result.stdout
    )
    assert "Would fix 2 errors." in result.stderr


def test_without_fix_the_summary_counts_fixable_findings_and_json_carries_edits(project: Path) -> None:
    (project / "train.py").write_text(BAD_SCRIPT, encoding="utf-8")
    result = invoke("train.py")
    assert "[*] 2 fixable with the `--fix` option." in result.stderr
    findings = json.loads(invoke("--output-format", "json", "train.py").stdout)
    (get_lr,) = [f for f in findings if f["code"] == "LR010"]
    assert get_lr["fix"] == {
        "applicability": "safe",
        "message": "Use `get_last_lr()`",
        "edits": [
            {
                "content": "get_last_lr",
                "location": {"line": 13, "column": 21},
                "end_location": {"line": 13, "column": 27},
            }
        ],
    }


def test_fix_keeps_encoding_bom_line_endings_and_permissions(project: Path) -> None:
    latin = project / "latin.py"
    text = "# -*- coding: latin-1 -*-\n# café\n" + BAD_SCRIPT
    latin.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    os.chmod(latin, 0o754)
    bom = project / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + BAD_SCRIPT.encode("utf-8"))
    assert invoke("--fix", "latin.py", "bom.py").exit_code == 0
    data = latin.read_bytes()
    assert data.decode("latin-1").startswith("# -*- coding: latin-1 -*-\r\n# café\r\n")
    assert b"get_last_lr()" in data and data.count(b"\n") == data.count(b"\r\n")
    assert stat.S_IMODE(os.stat(latin).st_mode) == 0o754
    assert bom.read_bytes().startswith(b"\xef\xbb\xbfimport torch") and b"get_last_lr" in bom.read_bytes()


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_fix_through_a_symlink_rewrites_the_target_and_keeps_the_link(project: Path) -> None:
    target = project / "real.py"
    target.write_text(BAD_SCRIPT, encoding="utf-8")
    link = project / "link.py"
    link.symlink_to(target)
    assert invoke("--fix", "link.py").exit_code == 0
    assert link.is_symlink() and "get_last_lr" in target.read_text(encoding="utf-8")


def test_fix_refuses_to_write_over_a_change_made_meanwhile(project: Path) -> None:
    path = project / "train.py"
    path.write_text(BAD_SCRIPT, encoding="utf-8")
    fix = fix_file(path, "train.py")
    path.write_text(BAD_SCRIPT + "# edited in the editor\n", encoding="utf-8")
    with pytest.raises(ChangedOnDisk):
        write_fix(path, fix)
    assert path.read_text(encoding="utf-8").endswith("# edited in the editor\n")
    assert [p.name for p in project.iterdir()] == ["train.py"]  # no temporary file left behind


def test_a_file_that_cannot_be_written_is_one_line_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project / "train.py"
    path.write_text(BAD_SCRIPT, encoding="utf-8")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("lrlint.fixer.write_atomically", refuse)
    result = invoke("--fix", "train.py")
    assert result.exit_code == 2
    assert "lrlint: error: cannot fix train.py: Permission denied" in result.stderr
    assert path.read_text(encoding="utf-8") == BAD_SCRIPT
    assert "LR001" in result.stdout  # the findings are still reported


# --- every fixture: the fixes hold up on real training scripts --------------------------------


def _fixtures_with_fixes() -> List[Path]:
    paths = []
    for path in sorted(FIXTURES.glob("LR*/*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(code in text for code in FIXABLE):
            paths.append(path)
    return paths


@pytest.mark.parametrize("path", _fixtures_with_fixes(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_fixing_a_fixture(path: Path) -> None:
    """Output parses, the fixed findings are gone, nothing else changes, a second pass is a no-op."""
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8 (an LR000 fixture)")

    def lint(text: str) -> List[Diagnostic]:
        return lint_source(text, path.name)

    result = fix_source(source, lint)
    if not result.counts:
        return
    assert _parses(result.source)
    before = [d.code for d in lint(source)]
    after = [d.code for d in result.remaining]
    for code in set(before) | set(after):
        assert after.count(code) == before.count(code) - result.counts.get(code, 0), code
    assert fix_source(result.source, lint).source == result.source
    _only_fixed_lines_changed(source, result.source, lint(source))


def _only_fixed_lines_changed(before: str, after: str, diagnostics: List[Diagnostic]) -> None:
    """Every removed line comes back (a move) or is a line a fix edits."""
    edited = {edit.line for d in diagnostics if d.fix for edit in d.fix.edits}
    old, new = before.splitlines(), after.splitlines()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        for index in range(i1, i2) if tag in ("replace", "delete") else ():
            assert old[index] in new or index + 1 in edited, f"line {index + 1} changed: {old[index]!r}"


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True
