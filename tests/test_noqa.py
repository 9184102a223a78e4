"""``# noqa`` comments (lrlint/suppress.py): per line and per file."""

from __future__ import annotations

import pytest

from lrlint import Diagnostic, lint_source
from lrlint.suppress import ALL, file_exemptions, filter_suppressed, is_exempt, line_exemptions


def _diagnostic(code: str = "LR001", line: int = 1) -> Diagnostic:
    return Diagnostic(code, "message", "train.py", line, 5, line, 21)


def _kept(line_text: str, code: str = "LR001") -> bool:
    return bool(filter_suppressed([_diagnostic(code)], [line_text]))


@pytest.mark.parametrize(
    "line, code, kept",
    [
        ("scheduler.step()", "LR001", True),
        ("scheduler.step()  # noqa: LR001", "LR001", False),  # specific
        ("scheduler.step()  # noqa: LR002", "LR001", True),  # another code
        ("scheduler.step()  # noqa", "LR001", False),  # blanket
        ("scheduler.step()  # noqa", "LR007", False),
        ("scheduler.step()  # NOQA: lr001", "LR001", False),  # case-insensitive
        ("scheduler.step()  #noqa:LR001", "LR001", False),  # no blanks
        ("scheduler.step()  # noqa: LR002, LR001", "LR001", False),  # several codes
        ("scheduler.step()  # noqa: LR002,LR001", "LR001", False),
        ("scheduler.step()  # noqa: LR002, LR003", "LR001", True),
        ("scheduler.step()  # noqa: scheduler-step-before-optimizer-step", "LR001", False),  # a name
        ("scheduler.step()  # noqa: plateau-mode-mismatch", "LR001", True),
        ("scheduler.step()  # some words # noqa: LR001", "LR001", False),
        ('print("# noqa: LR001"); scheduler.step()', "LR001", True),  # inside a string
        ("print('# noqa'); scheduler.step()", "LR001", True),
        ('print("# noqa")  # noqa: LR001', "LR001", False),  # the real comment after a string
    ],
)
def test_line_noqa(line: str, code: str, kept: bool) -> None:
    assert _kept(line, code) is kept


def test_noqa_applies_to_the_reported_line_only() -> None:
    lines = ["scheduler.step()", "optimizer.step()  # noqa"]
    assert filter_suppressed([_diagnostic(line=1)], lines) == [_diagnostic(line=1)]
    assert filter_suppressed([_diagnostic(line=2)], lines) == []


def test_line_exemptions_values() -> None:
    assert line_exemptions("x = 1") is None
    assert line_exemptions("x = 1  # noqa") is ALL
    assert line_exemptions("x = 1  # noqa: LR001, plateau-mode-mismatch") == {"LR001", "LR007"}
    assert line_exemptions("x = 'noqa'") is None


@pytest.mark.parametrize(
    "source, code, exempt",
    [
        ("# lrlint: noqa\nx = 1\n", "LR001", True),
        ("x = 1\n# lrlint: noqa\n", "LR004", True),  # anywhere in the file
        ("# LRLINT: NOQA\n", "LR001", True),
        ("# lrlint: noqa: LR001\n", "LR001", True),
        ("# lrlint: noqa: LR001\n", "LR002", False),
        ("# lrlint: noqa: LR001, LR002\n", "LR002", True),
        ("# lrlint: noqa: scheduler-never-stepped\n", "LR004", True),
        ("x = 1  # lrlint: noqa\n", "LR001", False),  # must be a comment line of its own
        ("# noqa\nx = 1\n", "LR001", False),  # a plain noqa is not file-level
    ],
)
def test_file_level_noqa(source: str, code: str, exempt: bool) -> None:
    assert is_exempt(code, file_exemptions(source)) is exempt


def test_noqa_end_to_end_on_lr000() -> None:
    # The analysis of LR001+ is written separately: LR000 (a syntax error) exercises the pipeline.
    # `def f(lr_scheduler:` names a scheduler, so the pre-filter hands the file to the parser.
    assert [d.code for d in lint_source("def f(lr_scheduler:\n", "a.py")] == ["LR000"]
    assert lint_source("def f(lr_scheduler:  # noqa: lr000\n", "a.py") == []
    assert lint_source("def f(lr_scheduler:  # noqa\n", "a.py") == []
    assert lint_source("def f(lr_scheduler:  # noqa: unanalyzable-file\n", "a.py") == []
    assert [d.code for d in lint_source("def f(lr_scheduler:  # noqa: lr001\n", "a.py")] == ["LR000"]
    assert [d.code for d in lint_source("def f(lr_scheduler:\nx = 1  # noqa\n", "a.py")] == ["LR000"]
    assert lint_source("# lrlint: noqa\ndef f(lr_scheduler:\n", "a.py") == []
    assert lint_source("# lrlint: noqa: lr000\ndef f(lr_scheduler:\n", "a.py") == []
    assert [d.code for d in lint_source("# lrlint: noqa: lr001\ndef f(lr_scheduler:\n", "a.py")] == ["LR000"]
