"""The pre-commit hook, for real: `pre-commit try-repo` installs this checkout into its own
environment (as users get it) and runs it on a clean and on a dirty git repository.

Slow (pre-commit builds a virtualenv and installs lrlint with its dependencies from the package
index), so the environment is built once for the module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="needs git and a git checkout of lrlint",
)

CLEAN = """import torch
from torch.optim.lr_scheduler import StepLR

model = torch.nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = StepLR(optimizer, step_size=30)
for epoch in range(90):
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    scheduler.step()
"""
DIRTY = CLEAN.replace("    scheduler.step()\n", "").replace(
    "        optimizer.zero_grad()\n", "        scheduler.step()\n        optimizer.zero_grad()\n"
)


def _notebook(source: str) -> str:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    metadata = {"kernelspec": {"language": "python", "name": "python3", "display_name": "Python 3"}}
    return json.dumps({"cells": [cell], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _repo(path: Path, files: Dict[str, str]) -> Path:
    path.mkdir()
    _git(path, "init", "-q")
    _git(path, "config", "user.email", "test@example.com")
    _git(path, "config", "user.name", "test")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    _git(path, "add", ".")
    return path


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        subprocess.run([sys.executable, "-m", "pre_commit", "--version"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("pre-commit (test extra) is not installed")
    return tmp_path_factory.mktemp("pre-commit-home")


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    command: List[str] = [
        sys.executable,
        "-m",
        "pre_commit",
        "try-repo",
        str(ROOT),
        "lrlint",
        "--all-files",
        "--verbose",
    ]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=900)


def test_clean_repository_passes(tmp_path: Path, pre_commit_home: Path) -> None:
    repo = _repo(tmp_path / "clean", {"train.py": CLEAN, "nb/explore.ipynb": _notebook(CLEAN), "README.md": "# x\n"})
    result = _try_repo(repo, pre_commit_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_dirty_repository_fails_with_the_findings(tmp_path: Path, pre_commit_home: Path) -> None:
    files = {
        "train.py": CLEAN,
        "src/bad_train.py": DIRTY,
        "nb/bad.ipynb": _notebook(DIRTY),
        "build/generated.py": DIRTY,  # excluded by default: --force-exclude keeps it out
    }
    repo = _repo(tmp_path / "dirty", files)
    result = _try_repo(repo, pre_commit_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed" in result.stdout
    assert "src/bad_train.py:9:9: LR001 " in result.stdout
    assert "nb/bad.ipynb:cell 1:9:9: LR001 " in result.stdout
    assert "build/generated.py" not in result.stdout
    assert "train.py:" not in result.stdout.replace("bad_train.py:", "")
