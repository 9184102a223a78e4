"""Jupyter notebooks: cells as one program, findings at `cell N:line:col`, `--fix` writing back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Union

from conftest import invoke

from lrlint.engine import lint_file, lint_notebook
from lrlint.notebook import mask_ipython, read_notebook

Source = Union[str, List[str]]


def code(source: Source, outputs: Any = ()) -> Dict[str, Any]:
    lines = source if isinstance(source, list) else source.splitlines(keepends=True)
    return {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {"tags": []},
        "outputs": list(outputs),
        "source": lines,
    }


def markdown(text: str) -> Dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def notebook(*cells: Dict[str, Any], language: str = "python") -> str:
    data = {
        "cells": list(cells),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": language, "name": "python3"},
            "language_info": {"name": language, "version": "3.11.4"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"  # as nbformat writes it


SETUP = code(
    "%matplotlib inline\n"
    "import torch\n"
    "from torch.optim.lr_scheduler import StepLR\n"
    "!pip install -q timm\n"
    "model = torch.nn.Linear(4, 2)\n"
    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "scheduler = StepLR(optimizer, step_size=30)"
)
TRAIN = (
    "for epoch in range(90):\n"
    "    scheduler.step()\n"
    "    for x, y in loader:\n"
    "        optimizer.zero_grad()\n"
    "        model(x).sum().backward()\n"
    "        optimizer.step()\n"
)
OUTPUT = {"name": "stdout", "output_type": "stream", "text": ["epoch 0 done\n", "étape ✓\n"]}


def test_misuse_in_the_third_cell_is_reported_at_that_cell_and_line(project: Path) -> None:
    (project / "train.ipynb").write_text(notebook(markdown("# Training\nnotes"), SETUP, code(TRAIN)), encoding="utf-8")
    result = invoke("train.ipynb")
    assert result.stdout.startswith("train.ipynb:cell 3:2:5: LR001 ")
    (finding,) = json.loads(invoke("--output-format", "json", "train.ipynb").stdout)
    assert (finding["cell"], finding["line"], finding["column"], finding["end_line"]) == (3, 2, 5, 2)


def test_folders_include_notebooks_but_not_checkpoints(project: Path) -> None:
    text = notebook(SETUP, code(TRAIN))
    (project / "nb").mkdir()
    (project / "nb" / "a.ipynb").write_text(text, encoding="utf-8")
    (project / "nb" / ".ipynb_checkpoints").mkdir()
    (project / "nb" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text(text, encoding="utf-8")
    assert [line.split(":")[0] for line in invoke(".").stdout.splitlines()] == ["nb/a.ipynb"]


def test_magics_are_masked_without_moving_columns() -> None:
    cell = "x = 1\n  %time f()\nfiles = !ls -l\nmodel?\n?torch.optim\nprint(files)"
    masked, lines = mask_ipython(cell)
    assert masked == "x = 1\n  0#ime f()\nfiles = 0#s -l\n0#del?\n0#orch.optim\nprint(files)"
    assert lines == [1, 2, 3, 4]
    assert [len(line) for line in masked.split("\n")] == [len(line) for line in cell.split("\n")]
    assert mask_ipython("a = 1  # why?\n") == ("a = 1  # why?\n", [])  # valid Python is left alone


def test_cell_magics_python_bodied_or_not() -> None:
    timed = code("%%time\n" + TRAIN)
    shell = code("%%bash\n  for f in *.py; do\n    echo $f\n  done\n")
    diagnostics = lint_notebook(notebook(SETUP, shell, timed), "t.ipynb")
    assert [(d.code, d.cell, d.line) for d in diagnostics] == [("LR001", 3, 3)]


def test_noqa_per_line_and_syntax_errors_per_cell() -> None:
    quiet = TRAIN.replace("scheduler.step()\n", "scheduler.step()  # noqa: LR001\n")
    assert lint_notebook(notebook(SETUP, code(quiet)), "t.ipynb") == []
    broken = code("def f(:\n    pass\n")
    (diagnostic,) = lint_notebook(notebook(SETUP, code("x = 1"), broken), "t.ipynb")
    assert (diagnostic.code, diagnostic.cell, diagnostic.line) == ("LR000", 3, 1)


def test_unreadable_notebooks_are_lr000_with_a_reason(tmp_path: Path) -> None:
    cases = {
        "broken.ipynb": '{"cells": [',
        "old.ipynb": json.dumps({"worksheets": [], "nbformat": 3}),
        "list.ipynb": "[]",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        (diagnostic,) = lint_file(tmp_path / name).diagnostics
        assert diagnostic.code == "LR000" and diagnostic.cell is None
    assert "not a valid notebook" in lint_file(tmp_path / "broken.ipynb").diagnostics[0].message
    assert "format 3" in lint_file(tmp_path / "old.ipynb").diagnostics[0].message
    (tmp_path / "latin.ipynb").write_bytes(b'{"cells": ["\xe9"]}')
    assert "not valid UTF-8" in lint_file(tmp_path / "latin.ipynb").diagnostics[0].message


def test_other_kernels_and_empty_notebooks_are_silent() -> None:
    assert lint_notebook(notebook(code("x <- 1\nplot(x)"), language="R"), "r.ipynb") == []
    assert lint_notebook(notebook(), "empty.ipynb") == []
    assert read_notebook(notebook(markdown("only text"))).cells == []


def test_fix_writes_back_only_the_changed_cell_source(project: Path) -> None:
    original = notebook(markdown("# Training"), SETUP, code(TRAIN + "print(scheduler.get_lr())", [OUTPUT]))
    path = project / "train.ipynb"
    path.write_text(original, encoding="utf-8")
    result = invoke("--fix", "train.ipynb")
    assert result.exit_code == 0 and "2 fixed" in result.stderr
    after = path.read_text(encoding="utf-8")
    before_data, after_data = json.loads(original), json.loads(after)
    fixed_source = "".join(after_data["cells"][2].pop("source"))
    before_data["cells"][2].pop("source")
    assert after_data == before_data  # outputs, metadata, other cells: untouched
    assert fixed_source == (
        "for epoch in range(90):\n"
        "    for x, y in loader:\n"
        "        optimizer.zero_grad()\n"
        "        model(x).sum().backward()\n"
        "        optimizer.step()\n"
        "    scheduler.step()\n"
        "print(scheduler.get_last_lr())"
    )
    changed = [line for line in after.splitlines() if line not in original.splitlines()]
    assert changed == ['    "print(scheduler.get_last_lr())"'], "only source lines may differ"
    assert "étape ✓" in after  # nbformat's UTF-8 layout kept
    assert invoke("--fix", "train.ipynb").exit_code == 0 and path.read_text(encoding="utf-8") == after


def test_diff_names_the_cell(project: Path) -> None:
    (project / "train.ipynb").write_text(notebook(SETUP, code(TRAIN)), encoding="utf-8")
    result = invoke("--diff", "train.ipynb")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- train.ipynb:cell 2\n+++ train.ipynb:cell 2\n")
    assert "-    scheduler.step()\n" in result.stdout and "+    scheduler.step()\n" in result.stdout


def test_fix_never_touches_a_masked_line_or_crosses_cells(project: Path) -> None:
    # The optimizer step is in another cell: a move across cells is not offered as a fix.
    split = notebook(SETUP, code("for x, y in loader:\n    scheduler.step()\n    %time optimizer.step()"))
    path = project / "split.ipynb"
    path.write_text(split, encoding="utf-8")
    invoke("--fix", "split.ipynb")
    assert path.read_text(encoding="utf-8") == split
