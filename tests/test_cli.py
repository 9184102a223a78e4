"""The ``lrlint`` command end to end, through click's CliRunner and ``main(argv)``.

Findings come from LR000 (files that cannot be parsed or read), so that these tests do not
depend on the analysis of LR001+; the formats are tested on real rules in test_output.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke

from lrlint import __version__, engine
from lrlint import cli as cli_module
from lrlint.catalogue import RULES
from lrlint.cli import main
from lrlint.diagnostics import FileResult

BAD = "def f(:  lr_scheduler\n"  # LR000 at 1:7 (a file whose code names no scheduler is not even parsed)
BAD_LINE = "bad.py:1:7: LR000 cannot analyze file: syntax error: invalid syntax"
GOOD = "x = 1\n"


def write(root: Path, relative: str, text: str = GOOD) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- basics -------------------------------------------------------------------------------


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"lrlint {__version__}\n" == "lrlint 0.1.0\n"


def test_help_lists_every_option() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for option in (
        "--select",
        "--extend-select",
        "--ignore",
        "--output-format",
        "-o, --output-file",
        "--statistics",
        "--explain",
        "--exit-zero",
        "--config",
        "--isolated",
        "--force-exclude",
        "-q, --quiet",
        "--version",
        "--fix",
        "--diff",
        "LRLINT_OUTPUT_FORMAT",
    ):
        assert option in result.stdout


def test_clean_run(project: Path) -> None:
    write(project, "ok.py")
    result = invoke()
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "All checks passed!\n")


def test_finding_exit_1_summary_on_stderr(project: Path) -> None:
    write(project, "bad.py", BAD)
    write(project, "ok.py")
    result = invoke(".")
    assert result.exit_code == 1
    assert result.stdout == BAD_LINE + "\n"
    assert result.stderr == "Found 1 error in 1 file.\n"


def test_quiet_silences_summary(project: Path) -> None:
    write(project, "bad.py", BAD)
    result = invoke("-q")
    assert (result.exit_code, result.stdout, result.stderr) == (1, BAD_LINE + "\n", "")
    assert invoke("--quiet").stderr == ""


def test_bad_files_are_lr000_and_others_still_lint(project: Path) -> None:
    write(project, "a_syntax.py", BAD)
    (project / "b_latin1.py").write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    (project / "c_binary.py").write_bytes(b"x = 1\n\x00\x01\x02")
    write(project, "d_empty.py", "")
    write(project, "e_ok.py")
    (project / "f_latin1_declared.py").write_bytes("# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".encode("latin-1"))
    write(project, "g_syntax.py", "lr_scheduler = (\n")
    result = invoke("--output-format", "json")
    found = json.loads(result.stdout)
    assert [(d["path"], d["code"], d["line"]) for d in found] == [
        ("a_syntax.py", "LR000", 1),
        ("b_latin1.py", "LR000", 1),
        ("c_binary.py", "LR000", 2),
        ("g_syntax.py", "LR000", 1),
    ]
    assert "not valid utf-8" in found[1]["message"]
    assert "binary" in found[2]["message"]
    assert result.exit_code == 1
    assert result.stderr == "Found 4 errors in 4 files.\n"


def test_no_python_files(project: Path) -> None:
    write(project, "notes.txt")
    result = invoke()
    assert result.exit_code == 0
    assert result.stderr == "lrlint: warning: No Python files found under the given path(s)\n"
    assert invoke("-q").stderr == ""
    write(project, "build/x.py")
    result = invoke("--force-exclude", "build/x.py")  # pre-commit's all-excluded batch: silent
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_default_path_is_cwd_and_display_paths(project: Path) -> None:
    write(project, "src/bad.py", BAD)
    assert invoke().stdout.startswith("src/bad.py:1:7: LR000")
    assert invoke("src/").stdout.startswith("src/bad.py:1:7: LR000")
    assert invoke("./src/bad.py").stdout.startswith("./src/bad.py:1:7: LR000")


# --- exit codes ------------------------------------------------------------------------------


def test_exit_zero_turns_1_into_0(project: Path) -> None:
    write(project, "bad.py", BAD)
    result = invoke("--exit-zero")
    assert result.exit_code == 0
    assert result.stdout == BAD_LINE + "\n"


def test_missing_path_exit_2_others_still_linted(project: Path) -> None:
    write(project, "bad.py", BAD)
    result = invoke("nope.py", "bad.py")
    assert result.exit_code == 2
    assert result.stdout == BAD_LINE + "\n"
    assert "lrlint: error: nope.py: No such file or directory\n" in result.stderr
    assert invoke("--exit-zero", "nope.py", "bad.py").exit_code == 2  # never 2 -> 0


def test_internal_error_on_one_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project, "bad.py", BAD)
    write(project, "crash.py")
    real = engine.lint_bytes

    def flaky(data, path, codes=None, display_path=None, schedulers=None):  # type: ignore[no-untyped-def]
        if display_path == "crash.py":
            return FileResult("crash.py", (), "internal error while checking crash.py: KeyError: 'x'")
        return real(data, path, codes, display_path, schedulers)

    monkeypatch.setattr(engine, "lint_bytes", flaky)
    result = invoke()
    assert result.exit_code == 2
    assert result.stdout == BAD_LINE + "\n"  # the other file is still reported
    assert "lrlint: error: internal error while checking crash.py: KeyError: 'x'\n" in result.stderr
    assert invoke("--exit-zero").exit_code == 2  # an internal error is never cached


def test_internal_error_outside_files_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(cli_module, "discover", boom)
    result = invoke()
    assert result.exit_code == 2
    assert result.stderr == "lrlint: error: internal error: RuntimeError: kaput\n"


# --- selection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, status",
    [
        # LR000 (an unanalyzable file) stays on whatever is selected, as ruff reports syntax
        # errors; only an ignore naming it exactly turns it off.
        (["--select", "LR001"], 1),
        (["--select", "LR001", "--ignore", "LR000"], 0),
        (["--select", "LR001", "--ignore", "LR0"], 1),
        (["--select", "LR000"], 1),
        (["--select", "LR00"], 1),
        (["--select", "LR"], 1),
        (["--select", "ALL"], 1),
        (["--select", "unanalyzable-file"], 1),
        (["--select", "LR001,LR000"], 1),
        (["--select", "LR001", "--select", "LR000"], 1),
        (["--select", "LR001", "--extend-select", "LR000"], 1),
        (["--ignore", "LR000"], 0),
        (["--ignore", "LR00", "--extend-select", "LR000"], 1),  # the more specific wins
        (["--select", ""], 1),
        (["--ignore", "unanalyzable-file"], 0),
    ],
)
def test_selection_options(project: Path, args: list, status: int) -> None:
    write(project, "bad.py", BAD)
    assert invoke(*args).exit_code == status


@pytest.mark.parametrize("option", ["--select", "--extend-select", "--ignore"])
def test_unknown_selector_is_a_usage_error(project: Path, option: str) -> None:
    result = invoke(option, "LR001,LR999")
    assert result.exit_code == 2
    assert "LR999" in result.stderr and option in result.stderr
    assert result.stdout == ""


def test_command_line_overrides_config(project: Path) -> None:
    write(project, "bad.py", BAD)
    write(project, "pyproject.toml", '[tool.lrlint]\nselect = ["LR001"]\nignore = ["LR000"]\n')
    assert invoke().exit_code == 0
    assert invoke("--select", "LR000").exit_code == 1  # the command line names it last
    assert invoke("--select", "LR001").exit_code == 0
    write(project, "pyproject.toml", '[tool.lrlint]\nselect = ["LR002"]\n')
    assert invoke().exit_code == 1  # LR000 is always on unless ignored by name
    write(project, "pyproject.toml", '[tool.lrlint]\nignore = ["LR000"]\n')
    assert invoke().exit_code == 0
    assert invoke("--ignore", "LR001").exit_code == 0  # adds to the config's ignores
    assert invoke("--select", "LR000").exit_code == 1


def test_per_file_ignores(project: Path) -> None:
    write(project, "tests/bad.py", BAD)
    write(project, "bad.py", BAD)
    write(project, "pyproject.toml", '[tool.lrlint.per-file-ignores]\n"tests/*.py" = ["LR000"]\n')
    result = invoke()
    assert result.stdout == BAD_LINE + "\n"


# --- output formats ------------------------------------------------------------------------


def test_output_formats(project: Path) -> None:
    write(project, "bad.py", BAD)
    assert invoke("--output-format", "concise").stdout == BAD_LINE + "\n"
    full = invoke("--output-format", "full").stdout
    assert full.startswith(BAD_LINE + "\n  |\n1 | def f(:  lr_scheduler\n  |       ^ LR000\n")
    assert f"= help: {RULES['LR000'].summary}" in full
    assert json.loads(invoke("--output-format", "json").stdout)[0]["code"] == "LR000"
    assert json.loads(invoke("--output-format", "json-lines").stdout.splitlines()[0])["code"] == "LR000"
    assert invoke("--output-format", "github").stdout.startswith(
        "::error title=lrlint (LR000),file=bad.py,line=1,col=7,"
    )
    sarif = json.loads(invoke("--output-format", "sarif").stdout)
    assert sarif["runs"][0]["results"][0]["ruleId"] == "LR000"
    assert invoke("--output-format", "xml").exit_code == 2


def test_output_format_from_env_and_config(project: Path) -> None:
    write(project, "bad.py", BAD)
    assert invoke(env={"LRLINT_OUTPUT_FORMAT": "json-lines"}).stdout.startswith('{"code": "LR000"')
    assert invoke("--output-format", "concise", env={"LRLINT_OUTPUT_FORMAT": "json"}).stdout == BAD_LINE + "\n"
    assert invoke(env={"LRLINT_OUTPUT_FORMAT": "nope"}).exit_code == 2
    write(project, "pyproject.toml", '[tool.lrlint]\noutput-format = "github"\n')
    assert invoke().stdout.startswith("::error ")
    assert invoke(env={"LRLINT_OUTPUT_FORMAT": "concise"}).stdout == BAD_LINE + "\n"  # env beats config


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_keep_stdout_clean(project: Path, fmt: str) -> None:
    write(project, "bad.py", BAD)
    result = invoke("--output-format", fmt, "--fix", "nope.py", ".")
    json.loads(result.stdout)  # nothing but the document
    assert "nope.py" in result.stderr and "Found 1 error" in result.stderr
    assert result.exit_code == 2


def test_json_lines_stdout_is_only_objects(project: Path) -> None:
    write(project, "a.py", BAD)
    write(project, "b.py", BAD)
    result = invoke("--output-format", "json-lines")
    assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == ["a.py", "b.py"]


def test_empty_machine_documents(project: Path) -> None:
    write(project, "ok.py")
    assert json.loads(invoke("--output-format", "json").stdout) == []
    assert json.loads(invoke("--output-format", "sarif").stdout)["runs"][0]["results"] == []
    assert invoke("--output-format", "json-lines").stdout == ""


def test_output_file(project: Path) -> None:
    write(project, "bad.py", BAD)
    result = invoke("-o", "reports/out.json", "--output-format", "json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Found 1 error in 1 file.\n"
    assert json.loads((project / "reports" / "out.json").read_text())[0]["code"] == "LR000"
    assert sorted(os.listdir(project / "reports")) == ["out.json"]  # no temporary file left
    assert stat.S_IMODE((project / "reports" / "out.json").stat().st_mode) & 0o644 == 0o644


def test_output_file_replaces_and_keeps_mode(project: Path) -> None:
    write(project, "bad.py", BAD)
    target = write(project, "out.txt", "old content that is longer than the new one\n" * 10)
    target.chmod(0o640)
    assert invoke("--output-file", "out.txt").exit_code == 1
    assert target.read_text() == BAD_LINE + "\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_output_file_unwritable_is_exit_2(project: Path) -> None:
    write(project, "bad.py", BAD)
    write(project, "afile")
    result = invoke("-o", "afile/out.txt")
    assert result.exit_code == 2
    assert result.stderr.startswith("lrlint: error: cannot write afile/out.txt")


# --- statistics, explain, fix ----------------------------------------------------------


def test_statistics(project: Path) -> None:
    write(project, "a.py", BAD)
    write(project, "b.py", BAD)
    result = invoke("--statistics")
    assert result.exit_code == 1
    assert result.stdout == "2  LR000  unanalyzable-file\n"
    assert result.stderr == "Found 2 errors in 2 files.\n"
    stats = json.loads(invoke("--statistics", "--output-format", "json").stdout)
    assert stats == [{"code": "LR000", "name": "unanalyzable-file", "count": 2}]
    assert json.loads(invoke("--statistics", "--output-format", "sarif").stdout) == stats
    line = invoke("--statistics", "--output-format", "json-lines").stdout
    assert json.loads(line) == stats[0]
    write(project, "a.py")
    write(project, "b.py")
    assert invoke("--statistics").stdout == ""


def test_statistics_order() -> None:
    from lrlint.cli import statistics
    from lrlint.diagnostics import Diagnostic

    diagnostics = [Diagnostic(code, "m", "a.py", 1, 1, 1, 2) for code in ("LR004", "LR001", "LR001", "LR002")]
    for _ in range(12):
        diagnostics.append(Diagnostic("LR005", "m", "a.py", 1, 1, 1, 2))
    assert statistics(diagnostics).splitlines() == [
        "12  LR005  plateau-step-without-metric",
        " 2  LR001  scheduler-step-before-optimizer-step",
        " 1  LR002  per-batch-scheduler-stepped-per-epoch",
        " 1  LR004  scheduler-never-stepped",
    ]


@pytest.mark.parametrize("code", ["LR001", "lr001", "scheduler-step-before-optimizer-step"])
def test_explain(code: str) -> None:
    result = invoke("--explain", code)
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "# LR001 (scheduler-step-before-optimizer-step)\n\nSeverity: error\n\n## What it does\n"
    )
    assert "## Use instead:" in result.stdout


def test_explain_json_and_unknown() -> None:
    data = json.loads(invoke("--explain", "LR004", "--output-format", "json").stdout)
    assert data["code"] == "LR004" and data["name"] == "scheduler-never-stepped"
    assert data["explanation"] == RULES["LR004"].doc
    result = invoke("--explain", "LR999")
    assert result.exit_code == 2
    assert "LR999" in result.stderr


def test_fix_and_diff_leave_unfixable_findings_alone(project: Path) -> None:
    bad = write(project, "bad.py", BAD)
    fixed = invoke("--fix")
    assert fixed.exit_code == 1 and fixed.stdout == BAD_LINE + "\n"
    diff = invoke("--diff")
    assert diff.exit_code == 0 and diff.stdout == "" and "No errors would be fixed." in diff.stderr
    assert bad.read_text() == BAD


# --- configuration -----------------------------------------------------------------------


def test_bad_config_is_exit_2_one_line(project: Path) -> None:
    write(project, "bad.py", BAD)
    write(project, "pyproject.toml", '[tool.lrlint]\nselct = ["LR001"]\n')
    result = invoke()
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"lrlint: error: {project / 'pyproject.toml'}: [tool.lrlint] unknown key 'selct' (did you mean 'select'?)\n"
    )
    assert invoke("--exit-zero").exit_code == 2


@pytest.mark.parametrize(
    "body, expected",
    [
        ('[tool.lrlint]\nselect = "LR001"\n', "[tool.lrlint] 'select' must be a list of strings"),
        ('[tool.lrlint]\nignore = ["LR999"]\n', "[tool.lrlint] 'ignore': unknown rule code or prefix 'LR999'"),
        ("[tool.lrlint]\nselect = [\n", "invalid TOML"),
        ('[tool.lrlint]\noutput-format = "xml"\n', "'output-format': unknown output format 'xml'"),
    ],
)
def test_bad_config_values(project: Path, body: str, expected: str) -> None:
    write(project, "pyproject.toml", body)
    result = invoke()
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert str(project / "pyproject.toml") in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_config_option_and_isolated(project: Path) -> None:
    write(project, "bad.py", BAD)
    write(project, "pyproject.toml", '[tool.lrlint]\nignore = ["LR000"]\n')
    write(project, "conf/lrlint.toml", 'select = ["LR000"]\n')
    assert invoke().exit_code == 0
    assert invoke("--isolated").exit_code == 1
    assert invoke("--config", "conf/lrlint.toml").exit_code == 1
    assert invoke("--config", "pyproject.toml").exit_code == 0
    missing = invoke("--config", "nope.toml")
    assert missing.exit_code == 2 and "nope.toml" in missing.stderr
    both = invoke("--isolated", "--config", "conf/lrlint.toml")
    assert both.exit_code == 2 and "--isolated" in both.stderr


def test_config_exclude_and_force_exclude(project: Path) -> None:
    write(project, "legacy/bad.py", BAD)
    write(project, "gen/bad.py", BAD)
    write(project, "build/bad.py", BAD)
    write(project, ".gitignore", "gen/\n")
    write(project, "pyproject.toml", '[tool.lrlint]\nextend-exclude = ["legacy"]\n')
    assert invoke().exit_code == 0  # all three are excluded from the walk
    explicit = ["legacy/bad.py", "gen/bad.py", "build/bad.py"]
    assert invoke(*explicit).exit_code == 1  # named on the command line: linted
    assert len(invoke(*explicit).stdout.splitlines()) == 3
    result = invoke("--force-exclude", *explicit)
    assert (result.exit_code, result.stdout) == (0, "")


def test_respect_gitignore_false_from_config(project: Path) -> None:
    write(project, "gen/bad.py", BAD)
    write(project, ".gitignore", "gen/\n")
    assert invoke().exit_code == 0
    write(project, "pyproject.toml", "[tool.lrlint]\nrespect-gitignore = false\n")
    assert invoke().exit_code == 1


def test_nearest_config_governs_each_file(project: Path) -> None:
    write(project, "pyproject.toml", '[tool.lrlint]\nextend-exclude = ["skipped"]\n')
    write(project, "bad.py", BAD)
    write(project, "sub/bad.py", BAD)
    write(project, "sub/tests/bad.py", BAD)
    write(project, "sub/skipped/bad.py", BAD)  # the root's excludes are relative to the root
    write(project, "sub/vendored/bad.py", BAD)
    write(
        project,
        "sub/pyproject.toml",
        '[tool.lrlint]\nextend-exclude = ["vendored"]\n[tool.lrlint.per-file-ignores]\n"tests/*" = ["LR000"]\n',
    )
    result = invoke()
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["bad.py", "sub/bad.py", "sub/skipped/bad.py"]
    # a file named on the command line is governed by its own folder's config too
    assert invoke("sub/tests/bad.py").exit_code == 0
    # one configuration for everything with --config or --isolated
    assert len(invoke("--isolated").stdout.splitlines()) == 5
    assert len(invoke("--config", "pyproject.toml").stdout.splitlines()) == 4


def test_nested_lrlint_toml_selects_for_its_folder(project: Path) -> None:
    write(project, "a/bad.py", BAD)
    write(project, "b/bad.py", BAD)
    write(project, "b/lrlint.toml", 'ignore = ["LR000"]\n')
    assert [line.split(":")[0] for line in invoke().stdout.splitlines()] == ["a/bad.py"]
    assert invoke("--select", "LR000").stdout.count("LR000") == 2  # the command line wins over every config


def test_a_broken_nested_config_is_one_error_and_the_rest_is_checked(project: Path) -> None:
    write(project, "bad.py", BAD)
    write(project, "sub/bad.py", BAD)
    write(project, "sub/deeper/bad.py", BAD)
    write(project, "sub/pyproject.toml", "[tool.lrlint]\nselect = [\n")
    result = invoke()
    assert result.exit_code == 2
    assert result.stdout == BAD_LINE + "\n"
    errors = [line for line in result.stderr.splitlines() if line.startswith("lrlint: error:")]
    assert len(errors) == 1 and "sub" in errors[0] and "pyproject.toml: invalid TOML" in errors[0]
    named = invoke("sub/bad.py")
    assert named.exit_code == 2 and named.stdout == "" and "invalid TOML" in named.stderr


class _Terminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_bar_only_for_long_runs_in_a_terminal_outside_ci() -> None:
    from lrlint.cli import PROGRESS_MIN_FILES, wants_progress

    many = PROGRESS_MIN_FILES
    assert wants_progress(many, False, _Terminal(True), {"TERM": "xterm"})
    assert not wants_progress(many, False, _Terminal(False), {})  # piped
    assert not wants_progress(many, True, _Terminal(True), {})  # -q
    assert not wants_progress(many, False, _Terminal(True), {"CI": "true"})
    assert not wants_progress(many - 1, False, _Terminal(True), {})
    assert not wants_progress(many, False, _Terminal(True), {"TERM": "dumb"})


def test_no_progress_output_when_piped(project: Path) -> None:
    for index in range(60):
        write(project, f"m{index:02}.py")
    result = invoke()
    assert result.stderr == "All checks passed!\n"


# --- main(argv) and python -m ---------------------------------------------------------------


def test_main_returns_status(project: Path, capsys: pytest.CaptureFixture) -> None:
    write(project, "bad.py", BAD)
    assert main(["--version"]) == 0
    assert main(["-q"]) == 1
    assert main(["--exit-zero", "-q"]) == 0
    assert main(["--select", "LR999"]) == 2
    assert main(["--no-such-option"]) == 2
    captured = capsys.readouterr()
    assert "lrlint 0.1.0" in captured.out and BAD_LINE in captured.out
    assert "LR999" in captured.err and "--no-such-option" in captured.err


def test_python_dash_m(project: Path) -> None:
    write(project, "bad.py", BAD)
    env = {k: v for k, v in os.environ.items() if k != "LRLINT_OUTPUT_FORMAT"}
    done = subprocess.run([sys.executable, "-m", "lrlint", "--version"], capture_output=True, text=True, env=env)
    assert (done.returncode, done.stdout) == (0, "lrlint 0.1.0\n")
    done = subprocess.run([sys.executable, "-m", "lrlint", "bad.py"], capture_output=True, text=True, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (1, BAD_LINE + "\n", "Found 1 error in 1 file.\n")
