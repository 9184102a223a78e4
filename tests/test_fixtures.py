"""The fixture corpus: realistic training scripts with inline ``# expect: LRnnn`` markers.

Every ``fixtures/**/*.py`` is linted and the sorted ``(line, code)`` pairs it reports must equal
the pairs its markers declare:

    scheduler.step()  # expect: LR001
    scheduler.step(epoch)  # expect: LR001, LR006

A marker sits at the end of the line where the finding is reported (see "Where a finding points"
in the rule spec). ``clean_*.py`` files carry no marker and must produce no finding at all.
A marker is only an expectation: it is not ``noqa`` and never suppresses anything.

Markers are read from the raw bytes decoded as latin-1, so that undecodable or binary LR000
fixtures can carry them too; lines are counted the way Python counts them (``\\r\\n``, ``\\r``
and ``\\n`` all end a line).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import List, Tuple

import libcst
import pytest

from lrlint.catalogue import RULES
from lrlint.engine import lint_file, lint_source
from lrlint.suppress import line_exemptions

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORE_RULES = [
    "LR000", "LR001", "LR002", "LR003", "LR004", "LR005", "LR006", "LR007", "LR008",
    "LR009", "LR010", "LR011", "LR012", "LR013", "LR014", "LR015", "LR016", "LR017",
]  # fmt: skip
MIN_BAD_PER_RULE = 3
MIN_CLEAN_PER_RULE = 5

MARKER = re.compile(r"#\s*expect:\s*(LR\d{3}(?:\s*,\s*LR\d{3})*)")
LINE_BREAK = re.compile(r"\r\n|\r|\n")

FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()


def _lines(path: Path) -> List[str]:
    return LINE_BREAK.split(path.read_bytes().decode("latin-1"))


def expected_findings(path: Path) -> List[Tuple[int, str]]:
    found = []
    for number, text in enumerate(_lines(path), start=1):
        for match in MARKER.finditer(text):
            for code in re.split(r"\s*,\s*", match.group(1).strip()):
                found.append((number, code))
    return sorted(found)


def _render(pairs, lines: List[str]) -> str:
    rows = []
    for line, code in pairs:
        text = lines[line - 1].rstrip() if 0 < line <= len(lines) else "<no such line>"
        text = text.encode("ascii", "backslashreplace").decode("ascii")
        if len(text) > 110:
            text = text[:107] + "..."
        rows.append(f"    {line:>4}  {code}  | {text}")
    return "\n".join(rows) if rows else "    (none)"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[_rel(p) for p in FIXTURE_FILES])
def test_fixture(path: Path) -> None:
    expected = expected_findings(path)
    result = lint_file(path)
    assert result.error is None, f"internal error: {result.error}"
    actual = sorted((d.line, d.code) for d in result.diagnostics)
    if actual != expected:
        lines = _lines(path)
        missing = [pair for pair in expected if pair not in actual]
        unexpected = [pair for pair in actual if pair not in expected]
        pytest.fail(
            f"{_rel(path)}: findings differ from the # expect: markers\n"
            f"  expected but not reported:\n{_render(missing, lines)}\n"
            f"  reported but not expected:\n{_render(unexpected, lines)}\n"
            f"  all expected: {expected}\n"
            f"  all reported: {actual}",
            pytrace=False,
        )


def _markers_of(path: Path) -> List[str]:
    return [code for _, code in expected_findings(path)]


@pytest.mark.parametrize("code", CORE_RULES)
def test_every_core_rule_has_bad_and_clean_fixtures(code: str) -> None:
    folder = FIXTURES / code
    assert folder.is_dir(), f"missing fixtures/{code}/"
    bad = [p for p in sorted(folder.glob("bad_*.py")) if code in _markers_of(p)]
    clean = [p for p in sorted(folder.glob("clean_*.py")) if not _markers_of(p)]
    assert len(bad) >= MIN_BAD_PER_RULE, f"{code}: only {len(bad)} bad_*.py fixtures with a {code} marker"
    assert len(clean) >= MIN_CLEAN_PER_RULE, f"{code}: only {len(clean)} clean_*.py fixtures without markers"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[_rel(p) for p in FIXTURE_FILES])
def test_fixture_is_well_formed(path: Path) -> None:
    """Naming, markers and syntax: what the corpus itself promises."""
    name = path.name
    assert name.startswith(("bad_", "clean_")), f"{_rel(path)}: name it bad_*.py or clean_*.py"
    markers = _markers_of(path)
    if name.startswith("clean_"):
        assert not markers, f"{_rel(path)}: a clean fixture carries no # expect: marker"
    else:
        assert markers, f"{_rel(path)}: a bad fixture needs at least one # expect: marker"
    unknown = sorted(set(markers) - set(RULES))
    assert not unknown, f"{_rel(path)}: markers name codes that are not in the catalogue: {unknown}"
    raw = path.read_bytes()
    # Fixtures must never silence the linter: markers are checked against everything reported.
    assert not re.search(rb"noqa", raw, re.I), f"{_rel(path)}: fixtures must not contain noqa comments"
    # Outside LR000 every fixture is plain, valid Python 3.9 source (the scripts are never run).
    if path.parent.name != "LR000":
        ast.parse(raw, filename=str(path), feature_version=(3, 9))
    elif name.startswith("clean_"):
        try:
            ast.parse(raw, filename=str(path))
        except SyntaxError:  # newer syntax than the running Python (match on 3.9): libcst decides
            libcst.parse_module(raw)


@pytest.mark.parametrize(
    "line",
    [
        "    scheduler.step()  # expect: LR001",
        "    scheduler.step(epoch)  # expect: LR001, LR006",
        "sched.step()  #expect:LR005",
    ],
)
def test_expect_marker_is_not_noqa(line: str) -> None:
    assert line_exemptions(line) is None


def test_expect_marker_does_not_suppress_a_finding() -> None:
    source = "import torch\nfor epoch in range(10)  # expect: LR000\n    lr_scheduler.step()\n"
    found = [(d.line, d.code) for d in lint_source(source, "marker.py")]
    assert found == [(2, "LR000")]
