"""What several test modules share: a project folder to run the command line in."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest
from click.testing import CliRunner, Result

from lrlint.cli import cli


@pytest.fixture(scope="session", autouse=True)
def _user_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The compiled methods lrlint keeps in the user's cache directory (lrlint.startup) go to a
    folder of the session, for lrlint in this process and the ones the tests start: a test run
    writes nothing into the home directory."""
    folder = str(tmp_path_factory.mktemp("user-cache"))
    with pytest.MonkeyPatch.context() as patch:
        for name in ("XDG_CACHE_HOME", "LOCALAPPDATA"):
            patch.setenv(name, folder)
        yield


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


# -- slow tests: run with `pytest --run-slow` (or `-m slow` for those alone) -------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow (minutes each)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: minutes long; skipped unless --run-slow or -m slow")


def pytest_collection_modifyitems(config: pytest.Config, items: "list[pytest.Item]") -> None:
    if config.getoption("--run-slow") or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
