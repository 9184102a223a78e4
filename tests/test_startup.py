"""Importing the analysis with its dataclasses' methods compiled once (lrlint.startup): the same
methods as a plain import, compiled only when their text is new, and nothing left patched."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from typing import Dict

import pytest

from lrlint import startup
from lrlint.startup import _MOST_KEPT, _CompiledMethods, _kept, _read, _write

REPO = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter: the methods of every dataclass of libcst and of lrlint's model, each
# reduced to what defines its behaviour, and how many methods this process compiled from source.
PROBE = r"""
import builtins, dataclasses, json, sys, types

compiled = 0

def count_compiles(frame, event, function):
    # A profile hook, not a wrapper: compile() inherits the __future__ flags of its caller.
    global compiled
    if event == "c_call" and function is builtins.compile:
        compiled += frame.f_globals.get("__name__") == "lrlint.startup"  # not typing's

sys.setprofile(count_compiles)

def shape(value):
    if isinstance(value, types.CodeType):
        return [value.co_name, value.co_filename, value.co_firstlineno, value.co_flags,
                value.co_code.hex(), [shape(c) for c in value.co_consts], list(value.co_names),
                list(value.co_varnames), list(value.co_freevars), list(value.co_cellvars),
                value.co_argcount, value.co_kwonlyargcount]
    if isinstance(value, frozenset):  # its order follows string hashes, which differ by process
        return sorted(repr(item) for item in value)
    return repr(value)

if sys.argv[1] == "command line":  # the console script, its output out of the way
    import contextlib, io
    from lrlint.startup import command_line
    with contextlib.redirect_stdout(io.StringIO()):
        assert command_line(["--version"]) == 0
elif sys.argv[1] == "command line plain":
    import lrlint.cli
elif sys.argv[1] in ("cached", "engine first", "libcst first"):
    if sys.argv[1] == "engine first":  # as the command line does: the pre-filter comes earlier
        import lrlint.engine
    if sys.argv[1] == "libcst first":  # as a program that uses libcst and lrlint's API does
        import libcst
    from lrlint.startup import import_analysis
    import_analysis()
else:
    import libcst
    from lrlint import locate, rules, slicing
    from lrlint.model import extract
sys.setprofile(None)

methods = {}
for name, module in sorted(sys.modules.items()):
    if not (name.startswith("libcst") or name.startswith("lrlint")):
        continue
    for cls_name, cls in sorted(vars(module).items()):
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == name):
            continue
        for attr, function in sorted(vars(cls).items()):
            code = getattr(function, "__code__", None)
            if code is not None and code.co_filename == "<string>":
                methods[f"{name}.{cls_name}.{attr}"] = [
                    shape(code), function.__globals__.get("__name__"), repr(function.__defaults__),
                    repr(function.__kwdefaults__), repr(getattr(function, "__annotations__", None)),
                    function.__qualname__,
                ]
print(json.dumps({"compiled": compiled, "patched": "exec" in vars(dataclasses), "methods": methods}))
"""


def _probe(mode: str, prefix: Path, **env: str) -> Dict:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # The user's cache directory, wherever the platform looks for it, and the bytecode too: in ``prefix``.
    places = {name: str(prefix) for name in ("XDG_CACHE_HOME", "HOME", "LOCALAPPDATA", "PYTHONPYCACHEPREFIX")}
    environment.update(places, PYTHONPATH=str(REPO), **env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=environment, check=True
    )
    return json.loads(done.stdout)


def _cache_files(prefix: Path, name: str = "dataclass_methods"):
    return sorted(prefix.rglob(f"{name}.*.marshal"))


def test_cached_methods_are_the_ones_a_plain_import_compiles(tmp_path):
    plain = _probe("plain", tmp_path / "plain")
    first = _probe("cached", tmp_path / "cache")
    again = _probe("cached", tmp_path / "cache")

    assert len(plain["methods"]) > 500  # libcst's node classes and lrlint's model are all there
    assert first["methods"] == plain["methods"]
    assert again["methods"] == plain["methods"]
    assert len(_cache_files(tmp_path / "cache")) == 1
    assert first["compiled"] > 200  # the first process compiles them (a class at a time from Python 3.13)...
    assert again["compiled"] == 0  # ...the next one compiles none
    assert not first["patched"] and not again["patched"]  # dataclasses is as it was


def test_the_command_lines_methods_are_cached_apart_from_the_analysis(tmp_path):
    plain = _probe("command line plain", tmp_path / "plain")
    first = _probe("command line", tmp_path / "cache")
    again = _probe("command line", tmp_path / "cache")

    assert len(plain["methods"]) > 40  # diagnostics, settings, cache entries...
    assert first["methods"] == plain["methods"] == again["methods"]
    assert first["compiled"] > 10 and again["compiled"] == 0
    assert len(_cache_files(tmp_path / "cache", "cli_methods")) == 1
    assert _cache_files(tmp_path / "cache") == []  # --version imports no analysis


def test_processes_that_import_in_another_order_share_the_cache(tmp_path):
    # Each compiles methods the other does not: libcst's, and those of the engine's modules.
    rounds = [_probe(mode, tmp_path)["compiled"] for mode in ["engine first", "libcst first"] * 2]

    assert rounds[0] > 200 and rounds[1] > 0
    assert rounds[2:] == [0, 0]  # neither order makes the other compile again


def test_no_cache_is_written_where_bytecode_is_not(tmp_path):
    result = _probe("cached", tmp_path, PYTHONDONTWRITEBYTECODE="1")

    assert result["compiled"] > 200
    assert _cache_files(tmp_path) == []


@pytest.mark.parametrize("content", [b"", b"garbage", b"\x00" * 64, None])
def test_a_damaged_or_foreign_cache_is_compiled_anew_and_replaced(tmp_path, content):
    _probe("cached", tmp_path)
    (cache,) = _cache_files(tmp_path)
    whole = cache.read_bytes()
    # None: the right header with a truncated body, as a crash mid-write would leave without
    # the atomic replace.
    cache.write_bytes(content if content is not None else whole[: len(whole) // 2])

    damaged = _probe("cached", tmp_path)
    repaired = _probe("cached", tmp_path)

    assert damaged["compiled"] > 200
    assert repaired["compiled"] == 0
    assert _read(str(cache)) == marshal.loads(whole[len(MAGIC_NUMBER) :])


def test_a_known_text_runs_its_cached_code(tmp_path):
    text = "def __create_fn__():\n def f(self):\n  return 1\n return f"
    other = compile("def __create_fn__():\n def f(self):\n  return 2\n return f", "<string>", "exec")
    methods = _CompiledMethods({text: other})
    namespace: dict = {}

    methods.exec(text, {}, namespace)

    assert namespace["__create_fn__"]()(None) == 2
    assert methods.compiled_anew is False


def test_exec_without_globals_uses_the_callers_namespace_as_exec_does():
    methods = _CompiledMethods({})
    namespace: dict = {}
    marker = "seen by the caller"  # noqa: F841  (read by the executed text through locals)

    methods.exec("found = __name__", None, namespace)
    methods.exec("local = marker")

    assert namespace["found"] == __name__
    assert methods.compiled_anew is True
    assert set(methods.used) == {"found = __name__", "local = marker"}


def test_the_cache_file_round_trips_and_ignores_what_is_not_code(tmp_path):
    path = str(tmp_path / "sub" / "methods.marshal")
    code = compile("x = 1", "<string>", "exec")

    _write(path, {"x = 1": code})

    assert _read(path) == {"x = 1": code}
    assert _read(str(tmp_path / "absent.marshal")) == {}
    assert os.listdir(tmp_path / "sub") == ["methods.marshal"]  # no temporary file left behind


def test_stale_methods_are_dropped_past_the_bound():
    code = compile("x = 1", "<string>", "exec")
    used = {"used": code}

    assert _kept({"other": code}, used) == {"other": code, "used": code}
    stale = {str(number): code for number in range(_MOST_KEPT)}
    assert _kept(stale, used) == used


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG layout")
def test_the_cache_is_in_the_users_cache_directory(tmp_path, monkeypatch):
    tag = sys.implementation.cache_tag
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert startup.cache_path("m") == str(tmp_path / "xdg" / "lrlint" / f"m.{tag}.marshal")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec wants an absolute path
    assert startup.cache_path("m") == str(tmp_path / ".cache" / "lrlint" / f"m.{tag}.marshal")
    monkeypatch.setattr(startup.os.path, "expanduser", lambda path: path)  # no home at all
    assert startup.cache_path("m") is None
