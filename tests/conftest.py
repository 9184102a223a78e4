"""What several test modules share: a project folder to run the command line in."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import pytest
from click.testing import CliRunner, Result

from lrlint.cli import cli


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the working directory, with no output format from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LRLINT_OUTPUT_FORMAT", raising=False)
    return tmp_path


def invoke(*args: str, env: Optional[Dict[str, str]] = None) -> Result:
    """``lrlint ARGS`` in-process, stdout and stderr apart."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, list(args), env=env, catch_exceptions=False)
