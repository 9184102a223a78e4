"""PATHS -> files: default excludes, config excludes, .gitignore, explicit paths, display paths."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Sequence

import pytest

from lrlint.config import ConfigResolver, Settings
from lrlint.files import Listings, discover, parse_gitignore
from lrlint.globs import PathGlob


def _make(root: Path, *paths: str) -> None:
    for relative in paths:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not relative.endswith("/"):
            path.write_text("x = 1\n", encoding="utf-8")


def _shown(paths: Sequence[str] = (), settings: Settings = None, force: bool = False) -> List[str]:
    found = discover(paths, settings or Settings(root=Path.cwd()), force)
    assert not found.errors, found.errors
    return [source.display for source in found.files]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _git_repo(root: Path) -> None:
    (root / ".git").mkdir()


# --- gitignore patterns -----------------------------------------------------------------


def _ignored(patterns: str, path: str, is_dir: bool = False) -> bool:
    result = False
    for pattern in parse_gitignore(patterns):
        if pattern.matches(path, is_dir):
            result = not pattern.negated
    return result


@pytest.mark.parametrize(
    "patterns, path, is_dir, ignored",
    [
        ("# a comment\n\n   \n", "a.py", False, False),  # comments and blank lines
        ("*.py", "a.py", False, True),
        ("*.py", "deep/down/a.py", False, True),  # no slash: any depth
        ("*.py\n!keep.py", "keep.py", False, False),  # negation, last match wins
        ("!keep.py\n*.py", "keep.py", False, True),
        ("/top.py", "top.py", False, True),  # leading slash anchors
        ("/top.py", "sub/top.py", False, False),
        ("gen/", "gen", True, True),  # trailing slash: folders only
        ("gen/", "gen", False, False),
        ("gen/", "a/gen", True, True),
        ("src/gen", "src/gen", True, True),  # a middle slash anchors too
        ("src/gen", "x/src/gen", True, False),
        ("**/gen", "a/b/gen", True, True),
        ("a/**/b.py", "a/b.py", False, True),
        ("a/**/b.py", "a/x/y/b.py", False, True),
        ("out/**", "out/a/b.py", False, True),
        ("out/**", "out", True, False),
        ("a?.py", "ab.py", False, True),
        ("a?.py", "a/.py", False, False),  # ? never matches a slash
        ("*.py[co]", "a.pyc", False, True),
        ("*.py[co]", "a.pyx", False, False),
        ("[!a]*.py", "b.py", False, True),
        ("[!a]*.py", "a.py", False, False),
        ("file[0-9].py", "file7.py", False, True),
        ("\\#hash.py", "#hash.py", False, True),  # escaped comment character
        ("\\!bang.py", "!bang.py", False, True),  # escaped negation
        ("space.py\\ ", "space.py ", False, True),  # escaped trailing blank kept
        ("trail.py   ", "trail.py", False, True),  # trailing blanks dropped
        ("a*b", "a/b", False, False),  # * never matches a slash
        ("foo", "sub/foo", True, True),
    ],
)
def test_gitignore_patterns(patterns: str, path: str, is_dir: bool, ignored: bool) -> None:
    assert _ignored(patterns, path, is_dir) is ignored


@pytest.mark.parametrize(
    "pattern, path, matches",
    [
        ("build", "x/build", True),  # a name matches at any depth
        ("legacy.py", "a/legacy.py", True),
        ("src/gen/*.py", "src/gen/a.py", True),  # with a slash: relative to the root
        ("src/gen/*.py", "x/src/gen/a.py", False),
        ("/src", "src", True),
        ("./src/", "src", True),
        ("tests/**/*.py", "tests/a/b/c.py", True),
        ("*.egg-info", "pkg.egg-info", True),
    ],
)
def test_path_globs(pattern: str, path: str, matches: bool) -> None:
    assert PathGlob.compile(pattern).matches(path) is matches


# --- discovery --------------------------------------------------------------------------


def test_default_excludes(project: Path) -> None:
    _make(
        project,
        "a.py",
        "pkg/b.py",
        "notes.txt",
        ".git/x.py",
        ".hg/x.py",
        ".svn/x.py",
        ".venv/x.py",
        "venv/x.py",
        "__pycache__/x.py",
        "build/x.py",
        "dist/x.py",
        "node_modules/x.py",
        ".tox/x.py",
        ".nox/x.py",
        ".mypy_cache/x.py",
        ".pytest_cache/x.py",
        ".eggs/x.py",
        "pkg.egg-info/x.py",
        "pkg/build/x.py",
        "myenv/pyvenv.cfg",
        "myenv/lib/x.py",
    )
    assert _shown() == ["a.py", "pkg/b.py"]
    assert _shown(["."]) == ["a.py", "pkg/b.py"]


def test_a_virtualenv_is_skipped_at_any_depth_but_walked_when_named(project: Path) -> None:
    _make(project, "a.py", "envs/one/pyvenv.cfg", "envs/one/lib/x.py", "envs/two/PYVENV.CFG/", "envs/two/y.py")
    # a folder named pyvenv.cfg makes no virtualenv; one named on the command line is walked
    assert _shown() == ["a.py", "envs/two/y.py"]
    assert _shown(["envs/one"]) == ["envs/one/lib/x.py"]
    assert _shown(["envs/one/lib"]) == ["envs/one/lib/x.py"]


def test_display_paths_follow_the_command_line(project: Path) -> None:
    _make(project, "src/train.py", "train.py")
    assert _shown(["src/"]) == ["src/train.py"]
    assert _shown(["src"]) == ["src/train.py"]
    assert _shown(["./src"]) == [os.path.join("./src", "train.py")]
    assert _shown(["./train.py"]) == ["./train.py"]
    assert _shown([str(project / "src")]) == [str(project / "src" / "train.py")]


def test_sorted_and_deduplicated(project: Path) -> None:
    _make(project, "b.py", "a.py", "z/c.py")
    assert _shown(["z", "b.py", ".", "a.py"]) == ["a.py", "b.py", "z/c.py"]


def test_explicit_file_of_any_suffix(project: Path) -> None:
    _make(project, "script")
    assert _shown(["script"]) == ["script"]
    assert _shown(["."]) == []


def test_missing_path_is_an_error_others_still_found(project: Path) -> None:
    _make(project, "a.py")
    found = discover(["nope.py", "a.py"], Settings(root=project))
    assert found.errors == ["nope.py: No such file or directory"]
    assert [source.display for source in found.files] == ["a.py"]


def test_explicit_excluded_path_vs_force_exclude(project: Path) -> None:
    _make(project, "build/x.py", "keep.py", ".venv/lib/y.py", "gen/z.py")
    (project / ".gitignore").write_text("gen/\n")
    settings = Settings(root=project)
    assert _shown(["build/x.py", ".venv/lib/y.py", "gen/z.py", "keep.py"], settings) == [
        ".venv/lib/y.py",
        "build/x.py",
        "gen/z.py",
        "keep.py",
    ]
    assert _shown(["build/x.py", ".venv/lib/y.py", "gen/z.py", "keep.py"], settings, force=True) == ["keep.py"]
    assert _shown(["build"], settings) == ["build/x.py"]  # an explicit folder is walked
    assert _shown(["build"], settings, force=True) == []


def test_config_exclude_replaces_defaults_extend_exclude_adds(project: Path) -> None:
    _make(project, "build/x.py", "legacy/old.py", "src/gen/g.py", "src/a.py", "src/gen.py")
    assert _shown(settings=Settings(root=project, extend_exclude=("legacy", "src/gen"))) == ["src/a.py", "src/gen.py"]
    assert _shown(settings=Settings(root=project, exclude=("legacy",))) == [
        "build/x.py",
        "src/a.py",
        "src/gen.py",
        "src/gen/g.py",
    ]
    assert _shown(settings=Settings(root=project, extend_exclude=("*.py",))) == []


def test_exclude_globs_are_relative_to_the_config_folder(project: Path) -> None:
    _make(project, "sub/src/gen/g.py", "sub/src/a.py", "src/gen/h.py")
    settings = Settings(root=project / "sub", extend_exclude=("src/gen",))
    assert _shown(settings=settings) == ["src/gen/h.py", "sub/src/a.py"]


def test_gitignore_nested_and_negation(project: Path) -> None:
    _make(project, "a.py", "gen/g.py", "sub/s.py", "sub/keep.py", "sub/deep/d.py", "data/x.py", "tmp_1.py")
    (project / ".gitignore").write_text("# generated\n/gen/\ntmp_?.py\n")
    (project / "sub" / ".gitignore").write_text("*.py\n!keep.py\n")
    (project / "data" / ".gitignore").write_text("/x.py\n")
    assert _shown() == ["a.py", "sub/keep.py"]


def test_gitignore_negation_inside_subfolder_file(project: Path) -> None:
    _make(project, "logs/a.py", "logs/b.py")
    (project / ".gitignore").write_text("logs/*.py\n")
    (project / "logs" / ".gitignore").write_text("!b.py\n")  # deeper files take precedence
    assert _shown() == ["logs/b.py"]


def test_gitignore_of_parents_up_to_git_root(project: Path) -> None:
    _git_repo(project)
    _make(project, "src/gen/g.py", "src/a.py")
    (project / ".gitignore").write_text("src/gen/\n")
    assert _shown(["src"]) == ["src/a.py"]
    (project / ".git" / "info").mkdir()
    (project / ".git" / "info" / "exclude").write_text("a.py\n")
    assert _shown(["src"]) == []


def test_gitignore_of_parents_not_read_outside_git(project: Path) -> None:
    _make(project, "src/gen/g.py", "src/a.py")
    (project / ".gitignore").write_text("gen/\n")
    assert _shown(["src"]) == ["src/a.py", "src/gen/g.py"]  # the parent is not a git work tree
    assert _shown(["."]) == ["src/a.py"]  # the walked folder's own .gitignore applies


def test_gitignore_above_the_git_root_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".gitignore").write_text("*.py\n")
    repo = tmp_path / "repo"
    _make(repo, "a.py")
    _git_repo(repo)
    monkeypatch.chdir(repo)
    assert _shown() == ["a.py"]


def test_respect_gitignore_false(project: Path) -> None:
    _make(project, "gen/g.py")
    (project / ".gitignore").write_text("gen/\n")
    assert _shown(settings=Settings(root=project, respect_gitignore=False)) == ["gen/g.py"]


def test_force_exclude_checks_gitignore_of_parents(project: Path) -> None:
    _git_repo(project)
    _make(project, "gen/deep/g.py")
    (project / ".gitignore").write_text("gen/\n")
    assert _shown(["gen/deep/g.py"], Settings(root=project), force=True) == []
    assert _shown(["gen/deep/g.py"], Settings(root=project)) == ["gen/deep/g.py"]


def test_force_exclude_ignores_folders_above_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "build" / "project"  # checked out under a folder named like an exclude
    _make(project, "a.py")
    monkeypatch.chdir(project)
    assert _shown(["a.py"], Settings(root=project), force=True) == ["a.py"]


# --- one stat per file, listings instead of stats --------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="symlinks as POSIX has them")
def test_a_file_reached_twice_is_found_once_with_its_stat(project: Path) -> None:
    _make(project, "pkg/a.py", "pkg/b.py")
    os.symlink("a.py", project / "pkg" / "z_link.py")  # the same file under a later name
    os.symlink("pkg", project / "alias")  # a symlinked folder is not entered
    found = discover(["pkg", "alias/b.py"], Settings(root=project))
    assert [source.display for source in found.files] == ["alias/b.py", "pkg/a.py"]
    for source in found.files:
        status = os.stat(source.path)
        assert (source.status.st_dev, source.status.st_ino, source.status.st_mtime_ns) == (
            status.st_dev,
            status.st_ino,
            status.st_mtime_ns,
        )
    assert _shown(["."]) == ["pkg/a.py", "pkg/b.py"]


def test_a_git_file_marks_a_work_tree_too(project: Path) -> None:
    (project / ".git").write_text("gitdir: /elsewhere/.git/worktrees/here\n")  # a worktree or submodule
    _make(project, "src/gen/g.py", "src/a.py")
    (project / ".gitignore").write_text("src/gen/\n")
    assert _shown(["src"]) == ["src/a.py"]


def test_nested_config_files_are_found_by_the_walk(project: Path) -> None:
    _make(project, "a/x.py", "a/skip/y.py", "b/x.py", "b/skip/y.py", "c/x.py", "c/skip/y.py")
    (project / "a" / ".lrlint.toml").write_text('extend-exclude = ["skip"]\n')
    (project / "b" / "pyproject.toml").write_text("[tool.other]\nx = 1\n")  # no table: not a config
    (project / "c" / "pyproject.toml").write_text('[tool.lrlint]\nextend-exclude = ["skip"]\n')
    settings = Settings(root=project)
    found = discover(["."], settings, resolver=ConfigResolver(settings))
    assert [source.display for source in found.files] == ["a/x.py", "b/skip/y.py", "b/x.py", "c/x.py"]


def test_listings_answer_only_for_what_they_surely_lack(tmp_path: Path) -> None:
    listings = Listings()
    folder = str(tmp_path)
    assert listings.may_have(folder, ".gitignore")  # not listed: ask the file system
    listings.add(folder, ["a.py", "PyProject.TOML"])
    assert not listings.may_have(folder, ".gitignore")
    assert listings.may_have(folder, "pyproject.toml")  # one file on a file system that ignores case
    assert listings.may_have(str(tmp_path / "other"), ".gitignore")
