"""``[tool.lrlint]``: discovery, validation (ConfigError naming file and key) and selection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lrlint.batch import DEFAULT_TIMEOUT
from lrlint.catalogue import RULES
from lrlint.cli import PerFileSettings
from lrlint.config import ConfigError, ConfigResolver, Settings, find_config, load_settings
from lrlint.selection import Layer, UnknownSelector, expand, resolve, split_selectors

ALL = frozenset(RULES)


def _pyproject(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(body, encoding="utf-8")
    return path


def _error(tmp_path: Path, body: str) -> str:
    _pyproject(tmp_path, "[tool.lrlint]\n" + body)
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}: "), message
    assert "\n" not in message
    return message


# --- discovery --------------------------------------------------------------------------


def test_no_config_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path)
    assert settings.config_path is None
    assert settings.root == tmp_path
    assert resolve([settings.layer]) == ALL
    assert settings.respect_gitignore is True
    assert settings.custom_schedulers == {"per-batch": (), "per-epoch": (), "needs-metric": ()}


def test_nearest_pyproject_with_table_upward(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.lrlint]\nignore = ["LR004"]\n')
    middle = tmp_path / "a"
    middle.mkdir()
    _pyproject(middle, '[project]\nname = "x"\n')  # no [tool.lrlint]: skipped
    deep = middle / "b"
    deep.mkdir()
    settings = load_settings(cwd=deep)
    assert settings.config_path == tmp_path / "pyproject.toml"
    assert settings.root == tmp_path
    assert settings.ignore == ("LR004",)


def test_broken_unrelated_pyproject_is_skipped(tmp_path: Path) -> None:
    _pyproject(tmp_path, "[project\nname = ")  # not ours: never parsed
    assert load_settings(cwd=tmp_path).config_path is None


def test_dedicated_file_wins_in_its_folder(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.lrlint]\nignore = ["LR004"]\n')
    (tmp_path / "lrlint.toml").write_text('ignore = ["LR005"]\n')
    found = find_config(tmp_path)
    assert found is not None and found[0].name == "lrlint.toml"
    assert load_settings(cwd=tmp_path).ignore == ("LR005",)


def test_explicit_config_file(tmp_path: Path) -> None:
    other = tmp_path / "conf"
    other.mkdir()
    (other / "lrlint.toml").write_text('select = ["LR00"]\noutput-format = "json"\n')
    settings = load_settings(config=other / "lrlint.toml", cwd=tmp_path)
    assert settings.root == other
    assert settings.select == ("LR00",)
    assert settings.output_format == "json"
    _pyproject(other, '[tool.lrlint]\nextend-select = ["LR001"]\n')
    assert load_settings(config=other / "pyproject.toml").extend_select == ("LR001",)


def test_explicit_pyproject_without_table_is_empty(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, '[project]\nname = "x"\n')
    assert load_settings(config=path).select is None


def test_missing_explicit_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: cannot read config file"):
        load_settings(config=tmp_path / "nope.toml")


def test_isolated_ignores_config(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.lrlint]\nselect = ["LR001"]\n')
    settings = load_settings(isolated=True, cwd=tmp_path)
    assert settings.config_path is None and settings.select is None


def test_all_keys(tmp_path: Path) -> None:
    _pyproject(
        tmp_path,
        """
[tool.lrlint]
select = ["LR0"]
extend-select = ["LR010"]
ignore = ["plateau-mode-mismatch"]
exclude = ["legacy"]
extend-exclude = ["gen/*.py"]
output-format = "github"
respect-gitignore = false

[tool.lrlint.per-file-ignores]
"tests/*.py" = ["LR004"]
"conftest.py" = ["LR0"]

[tool.lrlint.schedulers]
per-batch = ["mypkg.sched.WarmupCosine"]
per-epoch = ["mypkg.sched.Staircase", "Local"]
needs-metric = ["mypkg.sched.Plateau"]
""",
    )
    settings = load_settings(cwd=tmp_path)
    assert settings.select == ("LR0",)
    assert settings.extend_select == ("LR010",)
    assert settings.ignore == ("plateau-mode-mismatch",)
    assert settings.exclude == ("legacy",)
    assert settings.extend_exclude == ("gen/*.py",)
    assert settings.output_format == "github"
    assert settings.respect_gitignore is False
    assert settings.custom_schedulers == {
        "per-batch": ("mypkg.sched.WarmupCosine",),
        "per-epoch": ("mypkg.sched.Staircase", "Local"),
        "needs-metric": ("mypkg.sched.Plateau",),
    }
    assert settings.ignored_codes_for(tmp_path / "tests" / "test_a.py") == {"LR004"}
    assert settings.ignored_codes_for(tmp_path / "tests" / "deep" / "test_a.py") == frozenset()
    assert settings.ignored_codes_for(tmp_path / "pkg" / "conftest.py") == {c for c in RULES if c.startswith("LR0")}
    assert settings.ignored_codes_for(tmp_path / "train.py") == frozenset()


# --- errors name the file and the key ---------------------------------------------------------


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    message = _error(tmp_path, 'selct = ["LR001"]\n')
    assert message.endswith("[tool.lrlint] unknown key 'selct' (did you mean 'select'?)")


def test_snake_case_key_suggests_kebab(tmp_path: Path) -> None:
    assert "did you mean 'extend-select'?" in _error(tmp_path, 'extend_select = ["LR001"]\n')


def test_unknown_key_without_suggestion(tmp_path: Path) -> None:
    assert _error(tmp_path, "colour = true\n").endswith("unknown key 'colour'")


@pytest.mark.parametrize(
    "body, key",
    [
        ('select = "LR001"\n', "'select' must be a list of strings, not a string"),
        ("ignore = [1]\n", "'ignore' must be a list of strings"),
        ("exclude = true\n", "'exclude' must be a list of strings, not a boolean"),
        ("extend-exclude = {a = 1}\n", "'extend-exclude' must be a list of strings, not a table"),
        ('respect-gitignore = "yes"\n', "'respect-gitignore' must be true or false, not a string"),
        ("output-format = 3\n", "'output-format' must be a string"),
        ('per-file-ignores = ["x"]\n', "'per-file-ignores' must be a table"),
        ('schedulers = ["x"]\n', "[tool.lrlint.schedulers] must be a table"),
    ],
)
def test_wrong_types(tmp_path: Path, body: str, key: str) -> None:
    assert key in _error(tmp_path, body)


def test_unknown_codes(tmp_path: Path) -> None:
    assert _error(tmp_path, 'select = ["LR999"]\n').endswith(
        "[tool.lrlint] 'select': unknown rule code or prefix 'LR999'"
    )
    assert "'extend-select': unknown rule code or prefix 'XYZ'" in _error(tmp_path, 'extend-select = ["XYZ"]\n')
    assert "'ignore': unknown rule code or prefix 'LR9'" in _error(tmp_path, 'ignore = ["LR9"]\n')


def test_per_file_ignores_errors(tmp_path: Path) -> None:
    message = _error(tmp_path, '[tool.lrlint.per-file-ignores]\n"tests/*.py" = ["LR99"]\n')
    assert message.endswith("[tool.lrlint.per-file-ignores] 'tests/*.py': unknown rule code or prefix 'LR99'")
    message = _error(tmp_path, '[tool.lrlint.per-file-ignores]\n"tests/*.py" = "LR001"\n')
    assert "[tool.lrlint.per-file-ignores] 'tests/*.py' must be a list of strings" in message


def test_output_format_error(tmp_path: Path) -> None:
    message = _error(tmp_path, 'output-format = "jsonl"\n')
    assert "[tool.lrlint] 'output-format': unknown output format 'jsonl'" in message
    assert "expected one of: concise, full, json, json-lines, github, sarif" in message


def test_scheduler_table_errors(tmp_path: Path) -> None:
    assert _error(tmp_path, '[tool.lrlint.schedulers]\nper-step = ["a.B"]\n').endswith(
        "[tool.lrlint.schedulers] unknown key 'per-step' (did you mean 'per-epoch'?)"
    )
    assert "[tool.lrlint.schedulers] 'per-batch' must be a list of strings" in _error(
        tmp_path, '[tool.lrlint.schedulers]\nper-batch = "a.B"\n'
    )
    assert "'needs-metric': 'my-pkg.Sched' is not a qualified name" in _error(
        tmp_path, '[tool.lrlint.schedulers]\nneeds-metric = ["my-pkg.Sched"]\n'
    )
    assert "'a.B' is listed in both 'per-batch' and 'per-epoch'" in _error(
        tmp_path, '[tool.lrlint.schedulers]\nper-batch = ["a.B"]\nper-epoch = ["a.B"]\n'
    )


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, "[tool.lrlint]\nselect = LR001\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=tmp_path)
    assert str(caught.value).startswith(f"{path}: invalid TOML: ")
    assert "line 2" in str(caught.value)


def test_lrlint_toml_messages_have_no_tool_prefix(tmp_path: Path) -> None:
    (tmp_path / "lrlint.toml").write_text('selct = ["LR001"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=tmp_path)
    assert str(caught.value) == f"{tmp_path / 'lrlint.toml'}: unknown key 'selct' (did you mean 'select'?)"


def test_tool_lrlint_not_a_table(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool]\nlrlint = "on"\n')
    with pytest.raises(ConfigError, match=r"\[tool\] 'lrlint' must be a table"):
        load_settings(cwd=tmp_path)


# --- selection --------------------------------------------------------------------------


def test_expand_selectors() -> None:
    assert expand("ALL")[0] == ALL
    assert expand("LR")[0] == ALL
    assert expand("LR00")[0] == {c for c in RULES if c.startswith("LR00")}
    assert expand("LR001")[0] == {"LR001"}
    assert expand("lr001")[0] == {"LR001"}
    assert expand("scheduler-never-stepped")[0] == {"LR004"}
    for bad in ("LR999", "XX", "", "scheduler"):
        with pytest.raises(UnknownSelector):
            expand(bad)


def test_split_selectors() -> None:
    assert split_selectors(["LR001, LR002", "LR01", ""]) == ("LR001", "LR002", "LR01")


def test_resolve_base_extend_ignore() -> None:
    assert resolve([]) == ALL
    assert resolve([Layer(select=["LR001"])]) == {"LR000", "LR001"}
    assert resolve([Layer(select=["LR001"], extend_select=["LR002"])]) == {"LR000", "LR001", "LR002"}
    assert resolve([Layer(ignore=["LR00"])]) == {"LR000"} | {c for c in RULES if not c.startswith("LR00")}
    assert resolve([Layer(select=[])]) == {"LR000"}


def test_lr000_is_only_turned_off_by_name() -> None:
    assert "LR000" not in resolve([Layer(ignore=["LR000"])])
    assert "LR000" not in resolve([Layer(select=["LR001"]), Layer(ignore=["unanalyzable-file"])])
    assert "LR000" in resolve([Layer(ignore=["LR0", "ALL"])])


def test_more_specific_selector_wins_within_a_layer() -> None:
    assert resolve([Layer(select=["LR"], ignore=["LR00"], extend_select=["LR001"])]) == (
        {"LR000", "LR001"} | {c for c in RULES if not c.startswith("LR00")}
    )
    assert "LR001" not in resolve([Layer(select=["LR001"], ignore=["LR001"])])  # a tie: ignore wins


def test_command_line_layer_over_config_layer() -> None:
    config = Layer(select=["LR001", "LR002"], ignore=["LR002"])
    # --select replaces the config's selection entirely
    assert resolve([config, Layer(select=["LR003"])]) == {"LR000", "LR003"}
    # --ignore adds to the config's ignores; --extend-select adds to its selection
    assert resolve([config, Layer(ignore=["LR001"])]) == {"LR000"}
    assert resolve([config, Layer(extend_select=["LR005"])]) == {"LR000", "LR001", "LR005"}


def test_settings_relpath(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path)
    assert settings.relpath(tmp_path / "a" / "b.py") == "a/b.py"
    assert settings.relpath(tmp_path.parent / "x.py") == (tmp_path.parent / "x.py").as_posix()


def test_config_option_accepts_a_pyproject_shaped_file_of_any_name(tmp_path: Path) -> None:
    config = tmp_path / "ci-lrlint.toml"
    config.write_text('[tool.lrlint]\nignore = ["LR003"]\n', encoding="utf-8")
    assert "LR003" in load_settings(config, cwd=tmp_path).layer.ignore
    config.write_text('[tool.lrlint]\nselct = ["LR001"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"ci-lrlint.toml: \[tool.lrlint\] unknown key 'selct'"):
        load_settings(config, cwd=tmp_path)


PROJECT_SCHEDULERS = """
import torch
from mylib.optim import AdaptiveDecay, StagedDecay, WarmupCosine, build_scheduler

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
warm = WarmupCosine(optimizer, warmup=500, total=10000)
staged = StagedDecay(optimizer, epochs=90)
adaptive = AdaptiveDecay(optimizer)
built = build_scheduler(optimizer, cfg)
for epoch in range(90):
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()
        staged.step()
        built.step()
    warm.step()
    adaptive.step()
"""


def test_declared_project_schedulers_are_judged_by_their_cadence(tmp_path: Path) -> None:
    from lrlint.engine import lint_source

    declared = {
        "per-batch": ("mylib.optim.WarmupCosine", "mylib.optim.build_scheduler"),
        "per-epoch": ("mylib.optim.StagedDecay",),
        "needs-metric": ("mylib.optim.AdaptiveDecay",),
    }
    found = [(d.line, d.code) for d in lint_source(PROJECT_SCHEDULERS, "train.py", schedulers=declared)]
    assert found == [(14, "LR003"), (16, "LR002"), (17, "LR005")]
    assert lint_source(PROJECT_SCHEDULERS, "train.py") == []  # unknown classes: nothing is said


def test_declared_schedulers_reach_the_checker_through_pyproject(tmp_path: Path, monkeypatch) -> None:
    from lrlint.cli import main

    (tmp_path / "pyproject.toml").write_text(
        '[tool.lrlint.schedulers]\nper-epoch = ["mylib.optim.StagedDecay"]\n', encoding="utf-8"
    )
    # no word the built-in pre-filter looks for: the declared name alone must get the file parsed
    (tmp_path / "train.py").write_text(
        "from mylib.optim import StagedDecay\n"
        "decay = StagedDecay(opt, epochs=90)\n"
        "for epoch in range(90):\n"
        "    for x, y in loader:\n"
        "        loss_fn(model(x), y).backward()\n"
        "        opt.step()\n"
        "        decay.step()\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["--output-format", "concise", "train.py"]) == 1
    assert main(["--isolated", "train.py"]) == 0


# --- settings per folder ---------------------------------------------------------------------


def _per_file_reference(resolver: ConfigResolver, command_line: Layer, path: Path) -> tuple:
    """What each file's settings were, computed file by file: the nearest config, then its per-file-ignores."""
    settings = resolver.for_path(path)
    codes = resolve([settings.layer, command_line]) - settings.ignored_codes_for(path)
    return codes, settings.custom_schedulers, DEFAULT_TIMEOUT if settings.timeout is None else settings.timeout


def test_settings_per_folder_are_those_per_file(tmp_path: Path) -> None:
    _pyproject(
        tmp_path,
        '[tool.lrlint]\nselect = ["LR001", "LR003", "LR005"]\ntimeout = 7\n'
        '[tool.lrlint.per-file-ignores]\n"tests/*" = ["LR001"]\n"**/gen_*.py" = ["LR003"]\n',
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "lrlint.toml").write_text(
        'extend-select = ["LR007"]\n[per-file-ignores]\n"deep/*.py" = ["LR007"]\n[schedulers]\nper-batch = ["m.W"]\n'
    )
    files = ["a.py", "tests/t.py", "tests/gen_x.py", "pkg/gen_y.py", "sub/b.py", "sub/deep/c.py", "sub/deep/gen_z.py"]
    for relative in files:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x = 1\n")
    command_line = Layer(extend_select=["LR010"])
    resolver = ConfigResolver(load_settings(cwd=tmp_path))
    per_file = PerFileSettings(resolver, command_line)
    reference = ConfigResolver(load_settings(cwd=tmp_path))
    for relative in files:
        path = tmp_path / relative
        expected = _per_file_reference(reference, command_line, path)
        assert per_file.for_file(str(path)) == expected, relative
        assert (per_file.codes(str(path)), per_file.schedulers(str(path)), per_file.timeout(str(path))) == expected
    assert per_file.codes(str(tmp_path / "tests" / "t.py")) == {"LR000", "LR003", "LR005", "LR010"}
    assert per_file.codes(str(tmp_path / "sub" / "deep" / "c.py")) == ALL - {"LR007"}  # the nearest config only
    assert per_file.for_file(str(tmp_path / "sub" / ".." / "tests" / "t.py")) == per_file.for_file(
        str(tmp_path / "tests" / "t.py")
    )
    assert PerFileSettings(resolver, command_line, timeout=2.0).for_file(str(tmp_path / "a.py"))[2] == 2.0


def test_a_broken_nested_config_fails_every_file_below_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "lrlint.toml").write_text("select = [\n")
    per_file = PerFileSettings(ConfigResolver(load_settings(cwd=tmp_path)), Layer())
    for name in ("a.py", "b.py", "deep/c.py"):
        with pytest.raises(ConfigError, match="lrlint.toml: invalid TOML"):
            per_file.for_file(str(tmp_path / "sub" / name))
    assert per_file.for_file(str(tmp_path / "ok.py"))[0] == ALL


@pytest.mark.parametrize(
    "root, path",
    [
        ("/p", "/p/a/b.py"),
        ("/p/", "/p/a.py"),
        ("/p", "/p"),
        ("/p", "/pa/b.py"),  # a sibling whose name starts like the root
        ("/p", "/q/x.py"),
        ("/p/../q", "/q/x.py"),
        ("/", "/x/y.py"),
        ("rel", "rel/x.py"),
    ],
)
def test_settings_relpath_is_relpath(root: str, path: str) -> None:
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, os.path.abspath(root))
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    expected = Path(absolute).as_posix() if outside else Path(relative).as_posix()
    assert Settings(root=Path(root)).relpath(path) == expected
