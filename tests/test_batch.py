"""Checking many files: the garbage collector's thresholds while lrlint checks them."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lrlint import batch
from lrlint.batch import YOUNG_GENERATION_THRESHOLD, fewer_collections
from lrlint.cli import main


def test_fewer_collections_raises_the_young_threshold_and_restores_all() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        inside = gc.get_threshold()
    assert inside[0] == YOUNG_GENERATION_THRESHOLD
    assert inside[1:] == before[1:]
    assert gc.get_threshold() == before


def test_fewer_collections_restores_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with fewer_collections():
            raise RuntimeError("a file's check failed")
    assert gc.get_threshold() == before


def test_the_command_line_checks_with_fewer_collections_and_gives_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "train.py").write_text("import torch\n")
    seen = []
    check_files = batch.check_files

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.get_threshold()[0])
        return check_files(*args, **kwargs)

    monkeypatch.setattr("lrlint.cli.check_files", spy)
    before = gc.get_threshold()
    assert main(["--isolated", "--no-cache", "-q", str(tmp_path)]) == 0
    assert seen == [YOUNG_GENERATION_THRESHOLD]
    assert gc.get_threshold() == before


def test_a_pool_worker_starts_with_fewer_collections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "_end_with", lambda parent: None)  # no watcher thread in the test process
    before = gc.get_threshold()
    try:
        batch._start_worker(1)
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)


@given(
    st.lists(st.sampled_from(["", ".", "..", "a", ".a", "a.", "b.py", "..b"]), max_size=6), st.booleans(), st.booleans()
)
@example(["a", "", "b.py"], True, False)  # `/a//b.py`
@example([], True, False)  # `/`
def test_absolute_path_is_abspath(parts, leading_slash, trailing_slash) -> None:
    path = ("/" if leading_slash else "") + "/".join(parts) + ("/" if trailing_slash else "")
    assert batch.absolute_path(path or ".") == os.path.abspath(path or ".")


def test_without_a_cache_no_entry_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--no-cache: a file is neither hashed nor stamped, nor its dependencies' digests gathered."""
    from lrlint.cache import ResultCache

    (tmp_path / "train.py").write_text(
        "import torch\nopt = torch.optim.SGD(m.parameters(), lr=0.1)\n"
        "s = torch.optim.lr_scheduler.StepLR(opt, 30)\nfor x in data:\n    s.step()\n    opt.step()\n"
    )
    jobs = [batch.Job(str(tmp_path / "train.py"), "train.py", frozenset({"LR001"}), {})]
    entries = []
    monkeypatch.setattr(batch, "dependencies_of", lambda reads: entries.append(reads) or ())

    uncached = list(batch.check_files(jobs, None))
    assert entries == []
    cached = list(batch.check_files(jobs, ResultCache(tmp_path / "cache")))
    assert len(entries) == 1
    assert [r.diagnostics for r in uncached] == [r.diagnostics for r in cached] != [()]
