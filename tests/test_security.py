"""lrlint never runs the code it checks, and nothing in a project makes it read outside it.

Each test runs the command line in a fresh interpreter under an audit hook (PEP 578) that records
every file opened, every module imported, every code object executed and every process started;
the hook's record is what the assertions read, not lrlint's own account of itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

from lrlint.startup import cache_path

# Runs lrlint's CLI in-process, recording the audit events, then writes them to argv[1].
AUDITED_RUN = r"""
import atexit, json, sys
events = {"open": [], "import": [], "exec": [], "process": []}

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        events["open"].append(args[0] if isinstance(args[0], str) else args[0].decode(errors="replace"))
    elif event == "import":
        events["import"].append(args[0])
    elif event == "exec":
        events["exec"].append(getattr(args[0], "co_filename", ""))
    elif event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn"):
        events["process"].append(event)

log = sys.argv.pop(1)
atexit.register(lambda: open(log, "w").write(json.dumps(events)))
sys.addaudithook(hook)
from lrlint.cli import main
sys.exit(main())
"""

SIDE_EFFECTS = """
import os
import pathlib
import subprocess

import torch
from torch.optim.lr_scheduler import StepLR

import helpers  # a project module with side effects of its own

pathlib.Path("RAN_AT_IMPORT").write_text("train.py was executed")
os.system("touch RAN_OS_SYSTEM")
subprocess.run(["touch", "RAN_SUBPROCESS"])
exec("open('RAN_EXEC', 'w')")

model = torch.nn.Linear(2, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = StepLR(optimizer, 10)
for epoch in range(3):
    for x in range(4):
        loss = model(torch.randn(1, 2)).sum()
        loss.backward()
        scheduler.step()
        optimizer.step()

if __name__ == "__main__":
    open("RAN_AS_MAIN", "w")
"""

HELPERS = """
import torch

open("RAN_HELPERS", "w")


def build_scheduler(optimizer):
    open("RAN_BUILD_SCHEDULER", "w")
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=100)
"""

MARKERS = ("RAN_AT_IMPORT", "RAN_OS_SYSTEM", "RAN_SUBPROCESS", "RAN_EXEC", "RAN_AS_MAIN", "RAN_HELPERS")


def audited(project: Path, *args: str) -> "tuple[subprocess.CompletedProcess[str], Dict[str, List[str]]]":
    log = project.parent / "audit.json"
    done = subprocess.run(
        [sys.executable, "-c", AUDITED_RUN, str(log), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, json.loads(log.read_text())


def write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(root, {"pyproject.toml": "[project]\nname = 'demo'\n", "train.py": SIDE_EFFECTS, "helpers.py": HELPERS})
    return root


def test_the_checked_code_is_never_imported_or_run(project: Path) -> None:
    done, events = audited(project, "--no-cache", "--output-format", "json", ".")
    assert done.returncode == 1, done.stderr  # the misuse is found ...
    assert [item["code"] for item in json.loads(done.stdout)] == ["LR001", "LR003"]
    # ... from the text alone: nothing of the project ran, was imported, or started a process
    assert not [marker for marker in MARKERS if (project / marker).exists()]
    assert not {"train", "helpers"} & set(events["import"])
    assert not [name for name in events["exec"] if name.startswith(str(project))]
    assert events["process"] == []
    assert any(path.endswith("train.py") for path in events["open"])  # it was read, as text


def test_a_pool_of_workers_runs_nothing_either(project: Path) -> None:
    for index in range(20):  # enough files for the process pool
        write(project, {f"copy_{index}.py": SIDE_EFFECTS})
    done = subprocess.run(
        [sys.executable, "-m", "lrlint", "--no-cache", "-q", "."], cwd=project, capture_output=True, timeout=300
    )
    assert done.returncode == 1
    assert not [marker for marker in MARKERS if (project / marker).exists()]


def test_nothing_a_project_says_makes_it_read_outside_it(tmp_path: Path) -> None:
    """Config values are patterns and names, never paths to read; imports are resolved inside
    the project, and relative imports never climb above the top-level package."""
    outside = tmp_path / "outside"
    write(outside, {"secret.py": HELPERS, "config.toml": "[tool.lrlint]\nselect = ['ALL']\n"})
    project = tmp_path / "project"
    write(
        project,
        {
            "pyproject.toml": """
            [project]
            name = "demo"

            [tool.lrlint]
            extend-exclude = ["../outside/*", "/etc/*", "../../*"]

            [tool.lrlint.per-file-ignores]
            "../outside/secret.py" = ["LR001"]

            [tool.lrlint.schedulers]
            per-batch = ["outside.secret.build_scheduler", "secret.Warm"]
            """,
            "pkg/__init__.py": "",
            "pkg/train.py": """
            import torch
            from ... import secret
            from ...outside.secret import build_scheduler
            from .... import outside
            import outside.secret
            import secret

            model = torch.nn.Linear(2, 2)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            scheduler = build_scheduler(optimizer)
            for epoch in range(3):
                scheduler.step()
                optimizer.step()
            """,
        },
    )
    done, events = audited(project, "--no-cache", "-q", ".")
    assert done.returncode in (0, 1), done.stderr
    allowed = [str(project)] + sorted(
        {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    )
    allowed += [sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[1]), "/dev/", "/proc/", "/sys/"]
    # lrlint's folder in the user's cache directory (compiled methods, see lrlint.startup): a
    # fixed place of its own, never one a project names
    allowed += [os.path.dirname(cache_path("any"))]
    opened = [path for path in events["open"] if Path(path).name != "audit.json"]  # the hook's own log
    read_outside = [path for path in opened if not any(str(Path(path)).startswith(root) for root in allowed)]
    assert read_outside == []
    assert not [path for path in events["open"] if "outside" in Path(path).parts]


def test_a_hostile_config_is_data_not_code(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.lrlint]\nselect = [\"__import__('os').system('touch RAN_CONFIG')\"]\n", encoding="utf-8"
    )
    done, events = audited(project, "--no-cache", ".")
    assert done.returncode == 2  # a bad value: a clear error naming the file and the key
    assert "pyproject.toml" in done.stderr and "select" in done.stderr and "Traceback" not in done.stderr
    assert not (project / "RAN_CONFIG").exists() and events["process"] == []


def test_config_is_read_with_tomllib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lrlint.config import load_settings

    tomllib = pytest.importorskip("tomllib")  # tomli before Python 3.11
    read: List[str] = []
    loads = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: read.append(text) or loads(text))
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.lrlint]\nselect = ["LR001"]\n')
    load_settings(str(config), False)
    assert read == [config.read_text()]
