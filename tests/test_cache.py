"""The result cache and the process pool: reuse only what is still true, in the order given."""

from __future__ import annotations

import concurrent.futures
import json
import marshal
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import pytest
from conftest import invoke

from lrlint import batch, cache
from lrlint.batch import Job, check_files, check_one
from lrlint.cache import ResultCache

ROOT = Path(__file__).resolve().parents[1]

TRAIN = """\
import torch
from torch.optim.lr_scheduler import OneCycleLR

model = torch.nn.Linear(2, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = OneCycleLR(optimizer, max_lr=0.1, total_steps=9000)
for epoch in range(90):
    for x, y in loader:
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        scheduler.step()
        optimizer.step()
        optimizer.zero_grad()
"""
FIXED = TRAIN.replace(
    "        scheduler.step()\n        optimizer.step()\n", "        optimizer.step()\n        scheduler.step()\n"
)


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The display paths actually checked (not answered from the cache) during the test."""
    seen: List[str] = []

    def counting(job: Job) -> batch.Checked:
        seen.append(job.display)
        return check_one(job)

    monkeypatch.setattr(batch, "check_one", counting)
    return seen


def codes(result) -> List[str]:
    return [d["code"] for d in json.loads(result.stdout)]


def test_an_unchanged_file_is_not_checked_again(project: Path, checked: List[str]) -> None:
    (project / "train.py").write_text(TRAIN)
    first = invoke("--output-format", "json")
    assert codes(first) == ["LR001"] and checked == ["train.py"]
    second = invoke("--output-format", "json")
    assert second.stdout == first.stdout and second.exit_code == 1 and checked == ["train.py"]
    assert (project / ".lrlint_cache" / ".gitignore").read_text().endswith("*\n")
    assert (project / ".lrlint_cache" / "CACHEDIR.TAG").is_file()


def test_an_edit_is_seen_and_a_touch_is_not_an_edit(project: Path, checked: List[str]) -> None:
    path = project / "train.py"
    path.write_text(TRAIN)
    invoke()
    os.utime(path, ns=(1, 1))  # same bytes, another timestamp: answered from the cache
    assert invoke("-q").exit_code == 1 and checked == ["train.py"]
    path.write_text(FIXED)
    os.utime(path, ns=(1, 1))  # other bytes, same size and timestamp: the inode's ctime tells
    assert invoke().exit_code == 0 and checked == ["train.py", "train.py"]


def test_other_settings_are_other_results(project: Path, checked: List[str]) -> None:
    (project / "train.py").write_text(TRAIN)
    assert invoke("-q").exit_code == 1
    assert invoke("-q", "--ignore", "LR001").exit_code == 0
    assert invoke("-q", "--ignore", "LR001").exit_code == 0
    assert checked == ["train.py", "train.py"]


def test_the_code_stamp_lists_every_module_of_the_package_with_its_size_and_time(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    for relative in ("a.py", "sub/b.py", "sub/deeper/c.py", "sub/notes.txt"):
        (tmp_path / relative).write_text("x = 1\n")
    listed = sorted(cache._code_files(str(tmp_path), ""))
    assert [line.split(" ")[0] for line in listed] == ["a.py", "sub/b.py", "sub/deeper/c.py"]
    status = (tmp_path / "sub" / "b.py").stat()
    assert listed[1] == f"sub/b.py {status.st_size} {status.st_mtime_ns}"
    package = Path(cache.__file__).resolve().parent
    assert len(listed) < len(list(cache._code_files(str(package), ""))) == len(list(package.rglob("*.py")))


def test_other_lrlint_code_is_other_results(project: Path, checked: List[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout or editable install changes lrlint without changing its version."""
    (project / "train.py").write_text(TRAIN)
    invoke("-q")
    monkeypatch.setattr(cache, "_code_stamp", lambda: "edited")
    cache._shared_settings.cache_clear()
    try:
        invoke("-q")
    finally:
        cache._shared_settings.cache_clear()
    assert checked == ["train.py", "train.py"]


def test_an_edited_project_module_invalidates_its_importers(project: Path) -> None:
    (project / "pyproject.toml").write_text("")
    (project / "helpers.py").write_text(
        textwrap.dedent(
            """\
            import torch


            def train_epoch(model, loader, optimizer, scheduler):
                for x, y in loader:
                    torch.nn.functional.mse_loss(model(x), y).backward()
                    optimizer.step()
                    scheduler.step()
            """
        )
    )
    (project / "main.py").write_text(
        textwrap.dedent(
            """\
            import torch
            from helpers import train_epoch

            model = torch.nn.Linear(2, 1)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
            for epoch in range(90):
                train_epoch(model, loader, optimizer, scheduler)
            """
        )
    )
    assert codes(invoke("--output-format", "json", "main.py")) == ["LR003"]
    # main.py unchanged, only the module it follows edited: main.py's result must follow
    helpers = project / "helpers.py"
    helpers.write_text(helpers.read_text().replace("        scheduler.step()\n", ""))
    assert codes(invoke("--output-format", "json", "main.py")) == ["LR004"]
    helpers.write_text(helpers.read_text() + "        scheduler.step()\n")
    assert codes(invoke("--output-format", "json", "main.py")) == ["LR003"]


def test_no_cache_neither_reads_nor_writes(project: Path, checked: List[str]) -> None:
    (project / "train.py").write_text(TRAIN)
    invoke("--no-cache")
    invoke("--no-cache")
    assert checked == ["train.py", "train.py"] and not (project / ".lrlint_cache").exists()


def test_cache_dir_from_option_and_environment(project: Path) -> None:
    (project / "train.py").write_text(TRAIN)
    invoke("--cache-dir", "elsewhere")
    invoke(env={"LRLINT_CACHE_DIR": str(project / "env_cache")})
    assert (project / "elsewhere" / "CACHEDIR.TAG").is_file() and (project / "env_cache" / "CACHEDIR.TAG").is_file()
    assert not (project / ".lrlint_cache").exists()


def test_a_broken_or_foreign_cache_file_counts_as_empty(project: Path, checked: List[str]) -> None:
    (project / "train.py").write_text(TRAIN)
    invoke()
    (cache_file,) = (project / ".lrlint_cache").glob("*/results.marshal")
    for garbage in (b"", b"\x00\x01 not marshal", cache_file.read_bytes()[:40]):
        cache_file.write_bytes(garbage)
        result = invoke("--output-format", "json")
        assert codes(result) == ["LR001"] and result.exit_code == 1
    assert len(checked) == 4
    assert ResultCache(project / ".lrlint_cache").entries  # rewritten whole


def test_an_unwritable_cache_still_gives_findings(project: Path) -> None:
    (project / "train.py").write_text(TRAIN)
    (project / "blocked").write_text("a file where the cache folder would go")
    result = invoke("--cache-dir", "blocked/cache")
    assert result.exit_code == 1 and "LR001" in result.stdout


def test_concurrent_runs_share_one_cache_safely(project: Path) -> None:
    for index in range(12):
        (project / f"train_{index}.py").write_text(TRAIN if index % 2 else FIXED)
    command = [sys.executable, "-m", "lrlint", "--output-format", "json", "."]
    runs = [subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 1 for run in runs)
    assert len({output for output in outputs}) == 1 and len(json.loads(outputs[0])) == 6
    assert len(ResultCache(project / ".lrlint_cache").entries) == 12
    again = subprocess.run(command, cwd=project, stdout=subprocess.PIPE, text=True)
    assert again.stdout == outputs[0]


def _jobs(paths: List[Path]) -> List[Job]:
    return [Job(str(path), path.name, frozenset({"LR001", "LR003"}), {}, size=path.stat().st_size) for path in paths]


def test_the_pool_returns_results_in_the_order_given(tmp_path: Path) -> None:
    paths = []
    for index in range(3 * batch.MIN_FILES_FOR_POOL):
        path = tmp_path / f"f{index:03d}.py"
        path.write_text(TRAIN if index % 3 == 0 else FIXED if index % 3 == 1 else "x = 1\n")
        paths.append(path)
    paths.reverse()  # not the order the file system lists them in
    serial = list(check_files(_jobs(paths), workers=1))
    parallel = list(check_files(_jobs(paths), workers=2))
    assert parallel == serial
    assert [result.path for result in parallel] == [path.name for path in paths]
    assert sum(len(result.diagnostics) for result in parallel) == batch.MIN_FILES_FOR_POOL


class _InlinePool:
    """A ProcessPoolExecutor that runs each submission at once, in this process, and records it."""

    submitted: List[List[str]] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        _InlinePool.submitted = []

    def __enter__(self) -> "_InlinePool":
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def submit(self, function, run):  # type: ignore[no-untyped-def]
        _InlinePool.submitted.append([job.display for job in run])
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_result(function(run))
        return future


def test_the_runs_with_the_most_bytes_start_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One run of small files, then one with a large file: the large one must not be left for last.
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", _InlinePool)
    paths = []
    for index in range(2 * batch.MIN_FILES_FOR_POOL):
        path = tmp_path / f"f{index:03d}.py"
        path.write_text(TRAIN + ("\n# padding" * 2000 if index == batch.MIN_FILES_FOR_POOL + 3 else ""))
        paths.append(path)
    results = list(check_files(_jobs(paths), workers=2))
    assert [result.path for result in results] == [path.name for path in paths]
    first_run = _InlinePool.submitted[0]
    assert paths[batch.MIN_FILES_FOR_POOL + 3].name in first_run and paths[0].name not in first_run
    assert sorted(name for run in _InlinePool.submitted for name in run) == [path.name for path in paths]


def test_runs_not_started_are_dropped_when_the_reader_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C, or a caller that stops reading: the pool must not go on through every queued run.
    pending: List[concurrent.futures.Future] = []

    class QueuingPool(_InlinePool):
        def submit(self, function, run):  # type: ignore[no-untyped-def]
            future: concurrent.futures.Future = concurrent.futures.Future()
            if run[0].display == "f000.py":
                future.set_result(function(run))
            else:
                pending.append(future)  # queued, never started
            return future

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", QueuingPool)
    paths = []
    for index in range(2 * batch.MIN_FILES_FOR_POOL):
        (tmp_path / f"f{index:03d}.py").write_text("x = 1\n")
        paths.append(tmp_path / f"f{index:03d}.py")
    results = check_files(_jobs(paths), workers=2)
    assert next(results).path == "f000.py"
    results.close()  # type: ignore[attr-defined]
    assert pending and all(future.cancelled() for future in pending)


def test_without_processes_the_files_are_checked_in_this_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise PermissionError("no semaphores in this sandbox")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    paths = []
    for index in range(batch.MIN_FILES_FOR_POOL + 1):
        (tmp_path / f"f{index}.py").write_text(TRAIN)
        paths.append(tmp_path / f"f{index}.py")
    results = list(check_files(_jobs(paths), workers=2))
    assert [len(result.diagnostics) for result in results] == [1] * len(paths)


# --- the file: raw entries, the dependency table, stamps taken by discovery ----------------

HELPERS = """\
import torch


def train_epoch(model, loader, optimizer, scheduler):
    for x, y in loader:
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
"""
MAIN = """\
import torch
from helpers import train_epoch

model = torch.nn.Linear(2, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
for epoch in range(90):
    train_epoch(model, loader, optimizer, scheduler)
"""


def _module_project(project: Path) -> None:
    (project / "pyproject.toml").write_text("")
    (project / "helpers.py").write_text(HELPERS)
    (project / "main.py").write_text(MAIN)
    (project / "train.py").write_text(TRAIN)


def test_a_checked_module_that_changed_invalidates_its_importer(project: Path) -> None:
    """Both files are found by discovery, whose stamps the cache then uses for the module too."""
    _module_project(project)
    helpers = project / "helpers.py"
    for text in (HELPERS, HELPERS.replace("        scheduler.step()\n", ""), HELPERS):
        helpers.write_text(text)
        cached = invoke("--output-format", "json")
        assert cached.stdout == invoke("--output-format", "json", "--no-cache").stdout
        assert cached.stdout == invoke("--output-format", "json").stdout  # and again, all from the cache


def test_untouched_entries_are_written_back_as_they_were(project: Path, checked: List[str]) -> None:
    _module_project(project)
    invoke()
    folder = project / ".lrlint_cache"
    before = dict(ResultCache(folder).entries)
    main = str(project / "main.py")
    assert {dependency[0] for dependency in before[main].dependencies} == {str(project / "helpers.py")}

    cache = ResultCache(folder)  # one entry replaced: main.py no longer follows helpers.py
    replaced = cache.entries[main]._replace(dependencies=())
    cache.store(main, replaced)
    cache.save()

    after = ResultCache(folder)
    assert dict(after.entries) == {**before, main: replaced}
    # the module only main.py named is gone from the table, not kept for ever
    assert all(path != str(project / "helpers.py") for path, _, _ in after._dependencies)
    checked.clear()
    invoke()
    assert checked == []  # the rewritten cache answers every file


def test_a_touch_refreshes_the_stamp_without_converting_the_rest(project: Path, checked: List[str]) -> None:
    _module_project(project)
    invoke()
    folder = project / ".lrlint_cache"
    before = dict(ResultCache(folder).entries)
    os.utime(project / "train.py", ns=(1, 1))  # same bytes, another stamp
    invoke()
    after = ResultCache(folder).entries
    assert checked == ["helpers.py", "main.py", "train.py"]  # the first run only
    train = str(project / "train.py")
    assert after[train].stamp == cache.stamp(train) != before[train].stamp
    assert {path: entry for path, entry in after.items() if path != train} == {
        path: entry for path, entry in before.items() if path != train
    }


def _filled(tmp_path: Path) -> Job:
    (tmp_path / "train.py").write_text(TRAIN)
    (job,) = _jobs([tmp_path / "train.py"])
    results = ResultCache(tmp_path / "cache")
    assert len(list(check_files([job], results))) == 1
    results.save()
    return job


def test_a_stamp_from_before_an_edit_vouches_for_nothing_after_it(tmp_path: Path) -> None:
    job = _filled(tmp_path)
    path = tmp_path / "train.py"
    os.utime(path, ns=(1, 1))
    discovered = cache.stamp(str(path))  # as discovery saw it: touched, same bytes
    path.write_text(FIXED)  # then edited before the lookup
    results = ResultCache(tmp_path / "cache")
    results.remember_stamps({str(path): discovered})
    assert results.lookup(str(path), job.settings) is None and not results.changed

    path.write_text(TRAIN)  # the bytes as recorded, under another stamp: a hit that keeps the stamp
    now = cache.stamp(str(path))
    results = ResultCache(tmp_path / "cache")
    results.remember_stamps({str(path): now})
    assert results.lookup(str(path), job.settings) is not None and results.changed
    assert results.entries[str(path)].stamp == now


def test_an_entry_of_another_shape_is_a_miss_and_is_dropped(tmp_path: Path) -> None:
    """Entries are converted when looked up, not when loaded: a damaged one must still be a miss."""
    job = _filled(tmp_path)
    (cache_file,) = (tmp_path / "cache").glob("*/results.marshal")
    version, dependencies, entries = marshal.loads(cache_file.read_bytes())
    path, other, new = (str(tmp_path / name) for name in ("train.py", "other.py", "new.py"))
    good = entries[path]
    out_of_range = (*good[:3], (len(dependencies),), *good[4:])
    for damaged in (("garbage",), 7, (*good[:3], (-1,), *good[4:]), out_of_range, (*good[:4], "no result")):
        cache_file.write_bytes(marshal.dumps((version, dependencies, {path: damaged})))
        assert ResultCache(tmp_path / "cache").lookup(path, job.settings) is None

    damaged = {other + str(index): entry for index, entry in enumerate([out_of_range, (*good[:3], (-1,), *good[4:])])}
    cache_file.write_bytes(marshal.dumps((version, dependencies, {path: good, **damaged, other: good[:4]})))
    results = ResultCache(tmp_path / "cache")
    assert results.lookup(path, job.settings) is not None
    results.store(new, results.entries[path])  # a store rewrites the table: what it cannot renumber goes
    results.save()
    assert set(ResultCache(tmp_path / "cache").entries) == {path, new}


def test_a_damaged_dependency_table_starts_the_cache_afresh(tmp_path: Path) -> None:
    job = _filled(tmp_path)
    (cache_file,) = (tmp_path / "cache").glob("*/results.marshal")
    version, dependencies, entries = marshal.loads(cache_file.read_bytes())
    unhashable = ("x.py", [1, 2, 3, 4], b"")
    cache_file.write_bytes(marshal.dumps((version, [*dependencies, unhashable], entries)))
    results = ResultCache(tmp_path / "cache")
    path = str(tmp_path / "train.py")
    assert results.lookup(path, job.settings) is not None  # the damaged item is named by no entry
    following = results.entries[path]._replace(dependencies=((str(tmp_path / "helpers.py"), (1, 2, 3, 4), b"digest"),))
    results.store(str(tmp_path / "new.py"), following)  # finding its module in the table hashes the table
    results.save()
    (new,) = ResultCache(tmp_path / "cache").entries.values()
    assert new == following
