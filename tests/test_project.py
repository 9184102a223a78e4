"""Project analysis: imports between the project's own files are followed, findings stay in the
file where the misuse is, and a single-file run sees the same project as a folder run."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from lrlint import engine
from lrlint.engine import lint_file
from lrlint.project import _resolved

UTILS = """
import torch


def build_optimizer(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def build_scheduler(optimizer, epochs, steps_per_epoch):
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=steps_per_epoch
    )
"""

ENGINE = """
import torch


def train_one_epoch(model, loader, optimizer, loss_fn):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()


def train_with_scheduler(model, loader, optimizer, scheduler, loss_fn):
    for x, y in loader:
        loss_fn(model(x), y).backward()
        scheduler.step()
        optimizer.step()
"""


def make_project(root: Path, files: Dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return root


def findings(path: Path) -> List[Tuple[int, str]]:
    """What checking ``path`` reports about ``path`` itself."""
    return [(d.line, d.code) for d in lint_file(path).diagnostics if Path(d.path).resolve() == path.resolve()]


def test_scheduler_built_in_one_module_and_trained_in_another(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/utils.py": UTILS,
            "pkg/engine.py": ENGINE,
            "train.py": """
            import torch
            from pkg.engine import train_one_epoch
            from pkg.utils import build_optimizer, build_scheduler

            def main(model, loader, epochs):
                optimizer = build_optimizer(model, 0.1)
                scheduler = build_scheduler(optimizer, epochs, len(loader))
                for epoch in range(epochs):
                    train_one_epoch(model, loader, optimizer, torch.nn.functional.cross_entropy)
                    scheduler.step()

            def forgetful(model, loader, epochs):
                optimizer = build_optimizer(model, 0.1)
                scheduler = build_scheduler(optimizer, epochs, len(loader))
                for epoch in range(epochs):
                    train_one_epoch(model, loader, optimizer, torch.nn.functional.cross_entropy)
            """,
        },
    )
    # per-batch OneCycleLR from utils stepped per epoch around engine's batch loop; and one never stepped,
    # reported at the call here that built it
    assert findings(root / "train.py") == [(10, "LR002"), (14, "LR004")]
    assert findings(root / "pkg" / "utils.py") == []


def test_a_misuse_inside_an_imported_helper_is_reported_in_the_helper_only(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/engine.py": ENGINE,
            "pkg/train.py": """
            import torch
            from .engine import train_with_scheduler

            model = torch.nn.Linear(4, 1)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=1000)
            for epoch in range(10):
                train_with_scheduler(model, loader, optimizer, scheduler, torch.nn.functional.mse_loss)
            """,
        },
    )
    assert findings(root / "pkg" / "train.py") == []  # stepped by the helper: no LR004 either
    assert findings(root / "pkg" / "engine.py") == [(14, "LR001")]


def test_a_module_followed_from_an_importer_is_not_parsed_again_for_its_own_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(
        tmp_path,
        {
            "engine.py": ENGINE,
            "train.py": """
            import torch
            from engine import train_with_scheduler

            optimizer = torch.optim.AdamW([], lr=1e-3)
            scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=1000)
            train_with_scheduler(None, [], optimizer, scheduler, None)
            """,
        },
    )
    parsed: List[str] = []
    real_parse = engine._parse
    monkeypatch.setattr(
        engine, "_parse", lambda source, path, *rest: parsed.append(Path(path).name) or real_parse(source, path, *rest)
    )
    assert findings(root / "train.py") == []
    assert findings(root / "engine.py") == [(14, "LR001")]  # the tree read while checking train.py
    assert parsed == ["train.py"]
    # edited since: parsed anew, and judged as it is now
    (root / "engine.py").write_text(
        ENGINE.lstrip().replace(
            "scheduler.step()\n        optimizer.step()", "optimizer.step()\n        scheduler.step()"
        )
    )
    assert findings(root / "engine.py") == []
    assert parsed == ["train.py", "engine.py"]


def test_a_single_file_run_from_elsewhere_resolves_the_project(tmp_path: Path, monkeypatch) -> None:
    root = make_project(
        tmp_path / "repo",
        {
            "utils.py": UTILS,
            "scripts/train.py": """
            from utils import build_optimizer, build_scheduler

            optimizer = build_optimizer(model, 0.1)
            scheduler = build_scheduler(optimizer, 10, 100)
            for epoch in range(10):
                for x, y in loader:
                    loss_fn(model(x), y).backward()
                    optimizer.step()
            """,
        },
    )
    monkeypatch.chdir(tmp_path)
    assert findings(root / "scripts" / "train.py") == [(4, "LR004")]


def test_import_cycles_end_and_unparsable_modules_stay_opaque(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        {
            # a.build -> b.helper -> a.build: the cycle ends, and what it builds is still seen
            "a.py": "import torch\nfrom b import helper\n\ndef build(optimizer):\n    return helper(optimizer)\n",
            "b.py": (
                "import torch\nfrom a import build\n\ndef helper(optimizer, fresh=True):\n"
                "    if fresh:\n        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)\n"
                "    return build(optimizer)\n"
            ),
            "broken.py": "import torch\n\ndef build_scheduler(:\n",
            "train.py": """
            import torch
            from a import build
            from broken import build_scheduler

            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            forgotten = build(optimizer)
            opaque = build_scheduler(optimizer)
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
            for epoch in range(30):
                train(model, optimizer)
                scheduler.step()
            """,
        },
    )
    assert findings(root / "train.py") == [(6, "LR004")]


@pytest.mark.parametrize("style", ["import pkg.trainer as trainer_module", "from pkg import trainer as trainer_module"])
def test_a_trainer_class_from_another_module(tmp_path: Path, style: str) -> None:
    root = make_project(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/trainer.py": """
            import torch

            class Trainer:
                def __init__(self, model, epochs):
                    self.model = model
                    self.epochs = epochs
                    self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
                    self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=epochs)

                def fit(self, loader):
                    for epoch in range(self.epochs):
                        for x, y in loader:
                            self.optimizer.zero_grad()
                            self.model(x).sum().backward()
                            self.optimizer.step()
            """,
            "train.py": f"""
            {style}

            trainer = trainer_module.Trainer(model, epochs=90)
            trainer.fit(loader)
            """,
        },
    )
    # The scheduler nobody steps is the trainer module's own misuse: reported there, not here.
    assert findings(root / "train.py") == []
    assert findings(root / "pkg" / "trainer.py") == [(8, "LR004")]


def test_a_file_that_names_no_scheduler_is_checked_when_its_imports_do(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        {
            "policies.py": """
            import torch

            def build_lr_policy(optimizer, total):
                return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=total)
            """,
            "train.py": """
            import torch
            from policies import build_lr_policy

            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            policy = build_lr_policy(optimizer, 90 * len(loader))
            for epoch in range(90):
                train_one_epoch(model, loader, optimizer)
                policy.step()
            """,
        },
    )
    assert findings(root / "train.py") == [(8, "LR002")]


def test_a_misuse_seen_only_with_the_importers_objects_is_reported_in_the_imported_module(
    tmp_path: Path, monkeypatch
) -> None:
    from lrlint.cli import main

    root = make_project(
        tmp_path,
        {
            "engine.py": """
            import torch

            def train_one_epoch(model, loader, optimizer, scheduler):
                for x, y in loader:
                    optimizer.zero_grad()
                    model(x).sum().backward()
                    optimizer.step()
                    scheduler.step()
            """,
            "train.py": """
            import torch
            from engine import train_one_epoch

            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
            for epoch in range(90):
                train_one_epoch(model, loader, optimizer, scheduler)
            """,
            "eval.py": """
            import torch
            from engine import train_one_epoch

            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
            for epoch in range(90):
                train_one_epoch(model, finetune_loader, optimizer, scheduler)
            """,
        },
    )
    # engine.py alone cannot know what `scheduler` is; checking train.py can, and reports it there.
    assert findings(root / "engine.py") == []
    reported = [(Path(d.path).name, d.line, d.code) for d in lint_file(root / "train.py").diagnostics]
    assert reported == [("engine.py", 8, "LR003")]
    monkeypatch.chdir(root)
    # two importers, one finding: the command line reports it once, under its own path
    assert main(["--output-format", "concise", "-o", "out.txt", "train.py", "eval.py", "engine.py"]) == 1
    lines = (root / "out.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split(" ")[0] for line in lines if "LR0" in line] == ["engine.py:8:9:"]


PROJECTS = Path(__file__).resolve().parent / "projects"


def _key() -> Dict[str, List[Tuple[str, int, str]]]:
    expected: Dict[str, List[Tuple[str, int, str]]] = {}
    lines = (PROJECTS / "KEY.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for row in (line.split("\t") for line in lines):
        found = expected.setdefault(row[0], [])
        if row[2]:
            found.append((row[1], int(row[3]), row[2]))
    return expected


@pytest.mark.parametrize("project", sorted(_key()))
def test_independent_multi_file_projects(project: str, monkeypatch) -> None:
    """Twelve small projects written from the rule text by someone who never saw the analysis:
    seven with one misuse split across files, five correct ones split the same ways."""
    from lrlint.cli import main

    monkeypatch.chdir(PROJECTS / project)
    out = PROJECTS.parent / f".{project}.out"  # outside the project, so it is not linted
    try:
        main(["--output-format", "json", "-o", str(out), "."])
        import json

        reported = [(d["path"].replace("\\", "/"), d["line"], d["code"]) for d in json.loads(out.read_text())]
    finally:
        out.unlink(missing_ok=True)
    assert reported == _key()[project]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_checked_file_is_resolved_as_path_resolve_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Folders are resolved once per folder; a link followed by `..` must still climb from the
    # link's target, and a linked file must still lead to its target.
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "train.py").write_text("")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "link").symlink_to(tmp_path / "real" / "sub")
    (tmp_path / "other" / "linked.py").symlink_to(tmp_path / "real" / "train.py")
    monkeypatch.chdir(tmp_path / "other")
    for given in (
        "link/../train.py",
        "link/new.py",
        "linked.py",
        "plain.py",
        str(tmp_path / "other" / "link" / "x.py"),
    ):
        assert _resolved(Path(given)) == Path(given).resolve(), given


def test_modules_are_found_from_each_folders_listing(tmp_path: Path) -> None:
    # Where an import may lead is read from each folder's listing, read once, instead of a stat
    # per candidate path: the same answers, links followed, broken links and odd entries left out.
    from lrlint import project

    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "folder.py").mkdir()  # a folder, not a module
    (tmp_path / "linked").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "gone.py").symlink_to(tmp_path / "nowhere.py")
    root = str(tmp_path)
    assert project._module_file(root, ("pkg", "mod")) == str(tmp_path / "pkg" / "mod.py")
    assert project._module_file(root, ("pkg",)) == str(tmp_path / "pkg" / "__init__.py")
    assert project._module_file(root, ("pkg", "sub")) == str(tmp_path / "pkg" / "sub" / "__init__.py")
    assert project._module_file(root, ("linked", "mod")) == str(tmp_path / "linked" / "mod.py")
    assert project._module_file(root, ("pkg", "folder")) is None
    assert project._module_file(root, ("gone",)) is None
    assert project._module_file(root, ("absent", "mod")) is None
    assert project._has_entry(root, "pkg") and project._has_entry(root, "linked")
    assert not project._has_entry(root, "gone") and not project._has_entry(root, "absent")
    assert project._listing(str(tmp_path / "absent")) == project._ABSENT
    assert project._relative_base(str(tmp_path / "pkg" / "sub"), 2) == str(tmp_path / "pkg")
    assert project._relative_base(str(tmp_path / "pkg"), 2) == root
    assert project._relative_base(root, 2) is None  # above the top-level package
