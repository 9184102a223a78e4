"""Followed modules split into statements: libcst parses only the statements whose names the
analysis looks up, and what it finds is what it found when it parsed the whole module."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import List, Tuple

import libcst as cst
import pytest

from lrlint import project
from lrlint.engine import lint_file
from lrlint.followed import FollowedModule
from lrlint.project import ProjectModules

# No word of a scheduler in it, so it is split rather than parsed whole; the misuse inside it is
# seen only with the importer's scheduler.
HELPERS = '''
"""Helpers."""
import os; import sys
import torch

PADDING = 3


def unused_one(x):
    return [x] * PADDING


class Unused:
    def method(self):
        return os.sep


def run(x):  # bound twice: the later one wins, as when the module runs
    return x


@torch.no_grad()
def evaluate(model, loader):
    return sum(model(x).sum() for x in loader)


def run(model, loader, opt, s):
    for x in loader:
        opt.zero_grad()
        model(x).sum().backward()
        s.step()
        opt.step()
'''

TRAIN = """
import torch
from helpers import run, evaluate

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
for epoch in range(90):
    run(model, loader, optimizer, scheduler)
    evaluate(model, loader)
"""


def make_project(root: Path, files: dict) -> Path:
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    for name, source in files.items():
        (root / name).write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return root


def test_a_misuse_in_a_split_module_is_reported_at_its_own_line(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"helpers.py": HELPERS, "train.py": TRAIN})
    module = ProjectModules.followed(root / "helpers.py")
    assert module is not None and module.tree is None  # split, not parsed whole
    reported = [(Path(d.path).name, d.line, d.column, d.code) for d in lint_file(root / "train.py").diagnostics]
    line = HELPERS.lstrip("\n").splitlines().index("        s.step()") + 1
    assert line == 30
    assert sorted(reported) == [("helpers.py", line, 9, "LR001"), ("helpers.py", line, 9, "LR003")]


def test_only_the_statements_of_the_names_looked_up_are_parsed(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"helpers.py": HELPERS, "train.py": TRAIN})
    lint_file(root / "train.py")
    module = ProjectModules.followed(root / "helpers.py")
    assert module is not None
    parsed = ["\n".join(tree.code.splitlines()[:1]) for _, tree in module.parsed()]
    # `run` twice (one group, in order) and `evaluate` with its decorator: never `unused_one`,
    # `Unused`, the imports (nothing looked `torch` up) or the line of `os` and `sys`
    assert parsed == [
        "def run(x):  # bound twice: the later one wins, as when the module runs",
        "@torch.no_grad()",
        "def run(model, loader, opt, s):",
    ]


def test_the_same_findings_as_when_parsed_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, {"helpers.py": HELPERS, "train.py": TRAIN})
    split = sorted((d.path, d.line, d.column, d.code) for d in lint_file(root / "train.py").diagnostics)
    project._SPLIT.clear()
    monkeypatch.setattr(project, "_split", lambda data: FollowedModule.whole(cst.parse_module(data)))
    assert sorted((d.path, d.line, d.column, d.code) for d in lint_file(root / "train.py").diagnostics) == split


# A module that builds a scheduler: it may have findings of its own.
BUILDERS = """
import torch


def build(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)


def unrelated():
    return 1
"""

USES_BUILDERS = """
from builders import build

optimizer, scheduler = build(model)
for epoch in range(90):
    for batch in loader:
        optimizer.step()
        scheduler.step()
"""


def test_a_module_with_findings_of_its_own_is_parsed_whole_only_if_this_process_checks_it_later(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path, {"builders.py": BUILDERS, "train.py": USES_BUILDERS})
    builders = str(root / "builders.py")

    with project.checked_later([builders]):
        assert ProjectModules.followed(builders).tree is not None  # its own check reuses the tree
    project._PARSED.clear()
    with project.checked_later([]):  # checked earlier, or by another process
        followed = ProjectModules.followed(builders)
        assert followed.tree is None and followed.group_of("build") is not None
    project._SPLIT.clear()
    assert ProjectModules.followed(builders).tree is not None  # not known (the API): whole, as before


def test_a_run_of_files_parses_a_module_whole_for_an_importer_checked_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrlint.batch import Job, _check_here

    root = make_project(tmp_path, {"builders.py": BUILDERS, "train.py": USES_BUILDERS})
    parsed_whole: List[str] = []
    parse = project._parse
    monkeypatch.setattr(project, "_parse", lambda data: parsed_whole.append(data[:12]) or parse(data))

    def findings(names: List[str]) -> List[Tuple[str, int, str]]:
        jobs = [Job(str(root / name), name, frozenset({"LR003"}), {}) for name in names]
        found = [d for checked in _check_here(jobs) for d in checked.result.diagnostics]
        return sorted((Path(d.path).name, d.line, d.code) for d in found)

    # train.py follows into builders.py, which is checked next in this process: parsed whole,
    # once, for both.
    assert findings(["train.py", "builders.py"]) == [("train.py", 7, "LR003")]
    assert parsed_whole == [b"import torch"]
    # Checked first, builders.py is split when train.py follows into it afterwards.
    for cache in (project._PARSED, project._SPLIT):
        cache.clear()
    parsed_whole.clear()
    assert findings(["builders.py", "train.py"]) == [("train.py", 7, "LR003")]
    assert parsed_whole == []


def _split(source: str) -> FollowedModule:
    source = textwrap.dedent(source).lstrip("\n")
    return FollowedModule.split(source, ast.parse(source))


def _texts(module: FollowedModule, name: str) -> List[str]:
    group = module.group_of(name)
    assert group is not None, name
    return [cst.Module(body=[statement]).code for statement in module.group(group)]


def test_statements_sharing_a_name_form_one_group_in_file_order() -> None:
    module = _split(
        """
        from a import x, y
        def y(): pass
        import z; import x as w
        class Z(z.Base): pass
        def z(): pass
        """
    )
    # x and y share a statement, y's second binding joins it; z is bound twice, w with z's line
    assert module.group_of("x") == module.group_of("y") != module.group_of("z") == module.group_of("w")
    assert _texts(module, "y") == ["from a import x, y\n", "def y(): pass\n"]
    assert _texts(module, "z") == ["import z; import x as w\n", "def z(): pass\n"]
    assert module.group_of("Z") is not None and module.group_of("missing") is None


def test_star_imports_are_run_first_and_other_statements_never() -> None:
    module = _split(
        """
        if True:
            def hidden(): pass
        from .base import *
        value = 3
        def shown(): pass
        """
    )
    assert module.group_of("hidden") is None and module.group_of("value") is None
    assert [_texts_of(module, group) for group in module.starred_groups] == [["from .base import *\n"]]


def _texts_of(module: FollowedModule, group: int) -> List[str]:
    return [cst.Module(body=[statement]).code for statement in module.group(group)]


def test_lines_of_split_statements_keep_their_place() -> None:
    """Only \\n, \\r\\n and \\r end lines (as in Python): a form feed inside a string does not."""
    source = 'import torch\r\nTEXT = "a\x0cb"\r\n\r\n@dec\r\ndef f():\r\n    return 1\r\n'
    module = FollowedModule.split(source, ast.parse(source))
    group = module.group_of("f")
    assert group is not None
    module.group(group)
    offsets: List[Tuple[int, str]] = [(above, tree.code) for above, tree in module.parsed()]
    assert offsets == [(3, "@dec\r\ndef f():\r\n    return 1\r\n")]


def test_a_statement_libcst_rejects_is_left_out() -> None:
    module = FollowedModule(None, [(1, "def f(:\n")], [(0,)], {"f": 0})
    assert module.group(0) == []
