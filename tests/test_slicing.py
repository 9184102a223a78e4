"""Slicing a candidate file: libcst gets only the statements the analysis may need, blanked in
place, and the findings are those of the whole file."""

from __future__ import annotations

import ast
import io
import textwrap
from pathlib import Path
from typing import Callable, Collection, List, Optional, Set, Tuple

import pytest

from lrlint import engine, slicing
from lrlint.engine import lint_file
from lrlint.slicing import needed_source

ROOT = Path(__file__).resolve().parents[1]
CHECKED = sorted((ROOT / "fixtures").glob("*/*.py")) + sorted((ROOT / "tests" / "projects").rglob("*.py"))


def sliced(
    source: str,
    scheduler_imports: Collection[str] = (),
    imports_training_code: Callable[[], bool] = lambda: False,
) -> Optional[str]:
    source = textwrap.dedent(source).lstrip("\n")
    return needed_source(source, ast.parse(source), (), lambda: frozenset(scheduler_imports), imports_training_code)


def kept(result: Optional[str]) -> List[str]:
    """The lines left as they were: neither `pass` nor emptied."""
    assert result is not None
    return [line.strip() for line in result.splitlines() if line.strip() not in ("", "pass")]


def test_statements_no_scheduler_code_needs_are_blanked_in_place() -> None:
    source = """
        import os
        from torch.optim.lr_scheduler import StepLR

        def load(path):
            return os.path.join(path, "data")

        def make_scheduler(optimizer):
            return StepLR(optimizer, step_size=10)

        class Unrelated:
            def method(self):
                return 1
        """
    result = sliced(source)
    assert kept(result) == [
        "from torch.optim.lr_scheduler import StepLR",
        "def make_scheduler(optimizer):",
        "return StepLR(optimizer, step_size=10)",
    ]
    original = textwrap.dedent(source).lstrip("\n").splitlines()
    assert result is not None and len(result.splitlines()) == len(original)
    for number, line in enumerate(result.splitlines()):  # every kept line at its own place
        assert line in ("", "pass") or line == original[number]


def test_what_needed_code_mentions_is_kept_transitively() -> None:
    source = """
        from torch.optim.lr_scheduler import StepLR
        STEP = 10

        def step_size():
            return STEP

        def make_scheduler(optimizer):
            return StepLR(optimizer, step_size=step_size())

        def unrelated():
            return 2
        """
    assert "def unrelated():" not in kept(sliced(source))
    assert {"STEP = 10", "def step_size():"} <= set(kept(sliced(source)))


def test_top_level_code_acting_on_a_needed_variable_is_kept() -> None:
    source = """
        import argparse
        from torch.optim.lr_scheduler import CosineAnnealingLR
        args = argparse.Namespace(epochs=10)
        args.epochs = 3
        print("starting")
        scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
        """
    lines = kept(sliced(source))
    assert "args.epochs = 3" in lines
    assert 'print("starting")' not in lines


def test_a_definition_that_sets_the_optimizer_of_a_scheduler_is_kept() -> None:
    source = """
        import logging
        from torch.optim import SGD
        from torch.optim.lr_scheduler import StepLR
        logger = logging.getLogger(__name__)
        optimizer = SGD(params, lr=0.1)
        scheduler = StepLR(optimizer, 5)

        def bump():
            optimizer.param_groups[0]["lr"] = 0.5

        def train():
            logger.info("epoch")
            scheduler.step()

        def report():
            logger.info("done")
        """
    lines = kept(sliced(source))
    assert "def bump():" in lines  # runs as a root: a manual change of a scheduled learning rate
    assert "def train():" in lines and "logger = logging.getLogger(__name__)" in lines
    assert "def report():" not in lines  # the logger holds no optimizer or scheduler


def test_argument_declarations_and_the_names_a_kept_header_tests_are_kept() -> None:
    source = """
        import argparse
        from torch.optim.lr_scheduler import StepLR
        parser = argparse.ArgumentParser()
        parser.add_argument("--step", type=int, default=30)
        args = parser.parse_args()
        WARMUP = False
        if WARMUP:
            scheduler = StepLR(optimizer, args.step)

        def unrelated():
            return 1
        """
    lines = kept(sliced(source))
    assert "def unrelated():" not in lines
    assert 'parser.add_argument("--step", type=int, default=30)' in lines
    assert "WARMUP = False" in lines  # the `if` stays, and what it tests


def test_imports_of_project_scheduler_code_count_as_schedulers() -> None:
    source = """
        from utils import build
        from helpers import unrelated

        def setup(optimizer):
            return build(optimizer)

        def other():
            return unrelated()
        """
    assert sliced(source) is not None and "def setup(optimizer):" not in kept(sliced(source))
    lines = kept(sliced(source, scheduler_imports={"build"}))
    assert "def setup(optimizer):" in lines and "def other():" not in lines


def test_training_imports_are_asked_only_for_a_scheduler_stepped_without_optimizer_in_sight() -> None:
    source = """
        from engine import run

        def tick(sched):
            run()
            sched.step()

        def other():
            return 1
        """
    asked: List[bool] = []

    def trains() -> bool:
        asked.append(True)
        return True

    assert "def tick(sched):" in kept(sliced(source, imports_training_code=trains))
    assert asked == [True]
    assert "def tick(sched):" not in kept(sliced(source, imports_training_code=lambda: False))


def test_nothing_is_blanked_when_a_star_import_hides_what_names_mean() -> None:
    source = """
        from helpers import *
        from torch.optim.lr_scheduler import StepLR

        def make(optimizer):
            return StepLR(optimizer, 10)

        def other():
            return 1
        """
    assert sliced(source) is None


def test_nothing_is_returned_when_everything_is_needed() -> None:
    assert sliced("from torch.optim.lr_scheduler import StepLR\nscheduler = StepLR(optimizer, 5)\n") is None


ODD_LAYOUTS = """
import os; import sys
from torch.optim.lr_scheduler import StepLR
if os.sep: x = 1
if sys.platform == "win32":
    y = 1
elif sys.platform == "darwin": y = 2
else:
    y = 3
if os.name:
    z = 1
elif os.sep:
    z = 2
try: import numpy
except ImportError: numpy = None
try:
    import yaml
except ImportError:
    yaml = None
finally:
    pass
try:
    import toml
except ImportError: toml = None
else: toml_ok = True
finally: done = True
if os.sep:
    w = 1
else: w = 2

@property
def decorated(self):
    return '''
    a multi-line string
    '''

\fdef fed():
    return 1
class K: pass
scheduler = StepLR(optimizer, 5)
"""


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_odd_layouts_stay_valid_python_with_every_line_in_place(ending: str) -> None:
    source = ODD_LAYOUTS.lstrip("\n").replace("\n", ending)
    result = needed_source(source, ast.parse(source))
    assert result is not None
    ast.parse(result)  # blanking never breaks the syntax
    before = io.StringIO(source, newline="").readlines()
    after = io.StringIO(result, newline="").readlines()
    assert len(after) == len(before)
    for old, new in zip(before, after):
        assert new == old or new.strip() in ("", "pass") and new.endswith(ending)
    assert _clauses(result) <= _clauses(source)  # an `if` or `try` kept has every clause it had
    assert "def decorated(self):" not in result and "scheduler = StepLR(optimizer, 5)" in result


def _clauses(source: str) -> Set[Tuple[int, int, str, int, bool, bool]]:
    """Where each `if` and `try` is, with its handlers, `else` and `finally`."""
    return {
        (
            node.lineno,
            node.col_offset,
            type(node).__name__,
            len(getattr(node, "handlers", ())),
            bool(node.orelse),
            bool(getattr(node, "finalbody", ())),
        )
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.If, ast.Try))
    }


def _sliced_and_whole(path: Path, monkeypatch: pytest.MonkeyPatch) -> Tuple[object, object, int]:
    """The file's result with slicing (the size limit lifted), without it, and how many texts
    were sliced; every sliced text parses and keeps the file's lines."""
    taken: List[str] = []

    def recording(source: str, tree: ast.Module, *args: object) -> Optional[str]:
        result = needed_source(source, tree, *args)  # type: ignore[arg-type]
        if result is not None:
            ast.parse(result)
            assert result.count("\n") == source.count("\n")
            taken.append(result)
        return result

    monkeypatch.setattr(engine, "MIN_SLICED_SIZE", 0)  # the fixtures are small scripts
    monkeypatch.setattr(slicing, "needed_source", recording)
    with_slicing = lint_file(path)
    monkeypatch.setattr(slicing, "needed_source", lambda *args: None)
    return with_slicing, lint_file(path), len(taken)


@pytest.mark.parametrize("path", CHECKED, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_findings_are_those_of_the_whole_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_slicing, whole, _ = _sliced_and_whole(path, monkeypatch)
    assert with_slicing == whole


def test_most_of_those_files_are_sliced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above is not empty: a fifth of the files, checked again, count their slices
    (594 of the 721 candidates among all of them are sliced)."""
    sample = CHECKED[::5]
    sliced = sum(_sliced_and_whole(path, monkeypatch)[2] for path in sample)
    assert sliced >= len(sample) // 2, (sliced, len(sample))


def test_small_files_are_parsed_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "from torch.optim.lr_scheduler import StepLR\n"
        "def unrelated():\n    return 1\n"
        "scheduler = StepLR(optimizer, 5)\n"
    )
    called: List[str] = []
    monkeypatch.setattr(slicing, "needed_source", lambda source, *args: called.append(source))
    lint_file(script)
    assert called == []
    monkeypatch.setattr(engine, "MIN_SLICED_SIZE", 10)
    lint_file(script)
    assert called == [script.read_text()]
