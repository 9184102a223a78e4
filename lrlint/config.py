"""``[tool.lrlint]`` settings: discovery, validation and the ``Settings`` object.

Every problem in a config file is a ``ConfigError`` whose message names the file and the key,
so that the CLI can print it on one line and exit 2.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, NoReturn, Optional, Sequence, Tuple

from .globs import PathGlob
from .selection import Layer, UnknownSelector, codes_of, validate

OUTPUT_FORMATS: Tuple[str, ...] = ("concise", "full", "json", "json-lines", "github", "sarif", "junit")
CADENCES: Tuple[str, ...] = ("per-batch", "per-epoch", "needs-metric")
# Files whose top level is the table; looked for before pyproject.toml in each folder, as ruff
# looks for ruff.toml and .ruff.toml.
DEDICATED_FILES: Tuple[str, ...] = ("lrlint.toml", ".lrlint.toml")

_LIST_KEYS = ("select", "extend-select", "ignore", "exclude", "extend-exclude")
_KNOWN_KEYS = _LIST_KEYS + ("per-file-ignores", "output-format", "respect-gitignore", "schedulers", "timeout")


# Whether a folder may have an entry of a name; False only when it surely has none.
MayHave = Callable[[str, str], bool]


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Settings:
    """What the config file says, validated. ``None`` means "not set: use the default"."""

    config_path: Optional[Path] = None
    root: Path = field(default_factory=Path.cwd)  # folder that relative globs start from
    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[PathGlob, FrozenSet[str]], ...] = ()
    exclude: Optional[Tuple[str, ...]] = None  # replaces the default excludes, as in ruff
    extend_exclude: Tuple[str, ...] = ()
    output_format: Optional[str] = None
    respect_gitignore: bool = True
    timeout: Optional[float] = None  # seconds of CPU time per file; 0: no limit
    custom_schedulers: Mapping[str, Tuple[str, ...]] = field(
        default_factory=lambda: {cadence: () for cadence in CADENCES}
    )

    @cached_property  # a frozen dataclass still has a __dict__ to keep it in
    def _root_prefix(self) -> str:
        """``root`` and a separator: what a path below the root starts with."""
        root = os.fspath(self.root)
        if not os.path.isabs(root):  # depends on the working directory: relpath decides
            return "\0"  # no path starts with it
        root = os.path.normpath(root)
        return root if root.endswith(os.sep) else root + os.sep

    @property
    def layer(self) -> Layer:
        return Layer(self.select, self.extend_select, self.ignore)

    def relpath(self, path: "str | os.PathLike[str]") -> str:
        """Posix path relative to ``root``, or the absolute posix path for a file outside it."""
        absolute = os.path.abspath(path)
        # Called per file (per-file-ignores, anchored excludes): a path below the root is a slice.
        prefix = self._root_prefix
        if absolute.startswith(prefix) and len(absolute) > len(prefix):
            relative = absolute[len(prefix) :]
            return relative if os.sep == "/" else relative.replace(os.sep, "/")
        try:
            relative = os.path.relpath(absolute, self.root)
        except ValueError:  # another drive on Windows
            return Path(absolute).as_posix()
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            return Path(absolute).as_posix()
        return Path(relative).as_posix()

    def ignored_codes_for(self, path: "str | os.PathLike[str]") -> FrozenSet[str]:
        """Codes that ``per-file-ignores`` turns off for this file."""
        relative = self.relpath(path)
        ignored: FrozenSet[str] = frozenset()
        for glob, codes in self.per_file_ignores:
            if glob.matches(relative):
                ignored |= codes
        return ignored


def load_settings(
    config: "Optional[str | os.PathLike[str]]" = None,
    isolated: bool = False,
    cwd: "Optional[str | os.PathLike[str]]" = None,
) -> Settings:
    """Settings from ``config``, else from the nearest config file upward from ``cwd``."""
    start = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    if isolated:
        return Settings(root=start)
    if config is not None:
        path = Path(config)
        data = _read_toml(path)
        # Any file named by --config may be pyproject-shaped ([tool.lrlint]) or bare (lrlint.toml).
        if path.name == "pyproject.toml" or isinstance(data.get("tool"), dict):
            return _from_pyproject(data, path)
        return parse_table(data, path, label="")
    found = find_config(start)
    if found is None:
        return Settings(root=start)
    path, data = found
    if path.name == "pyproject.toml":
        return _from_pyproject(data, path)
    return parse_table(data, path, label="")


class ConfigResolver:
    """Which settings govern a file: as ruff does, those of the nearest config file above it;
    above every config, the settings found from the working directory. With ``--config`` or
    ``--isolated`` there is one configuration for every file (``hierarchical=False``).

    A broken config below the working directory raises ``ConfigError`` for the files under it."""

    def __init__(self, base: Settings, hierarchical: bool = True) -> None:
        self.base = base
        self.hierarchical = hierarchical
        self._by_folder: Dict[str, Settings] = {}
        self._errors: Dict[str, ConfigError] = {}

    def for_path(self, path: "str | os.PathLike[str]") -> Settings:
        absolute = os.path.abspath(path)
        return self.for_folder(absolute if os.path.isdir(absolute) else os.path.dirname(absolute))

    def for_folder(self, folder: str, may_have: Optional[MayHave] = None) -> Settings:
        """The settings of the entries of ``folder`` (absolute, normalized). ``may_have(folder,
        name)`` False says, without a stat, that a folder has no file of that name."""
        if not self.hierarchical:
            return self.base
        visited: List[str] = []
        current = folder
        settings: Optional[Settings] = None
        error: Optional[ConfigError] = None
        while True:
            if current in self._by_folder:
                settings = self._by_folder[current]
                break
            if current in self._errors:
                error = self._errors[current]
                break
            visited.append(current)
            try:
                found = _config_in(current, may_have)
            except ConfigError as problem:
                error = problem
                break
            if found is not None:
                settings = self._settings_from(found)
                break
            parent = os.path.dirname(current)
            if parent == current:
                settings = self.base
                break
            current = parent
        for seen in visited:
            if error is not None:
                self._errors[seen] = error
            else:
                self._by_folder[seen] = settings  # type: ignore[assignment]
        if error is not None:
            raise error
        assert settings is not None
        return settings

    def _settings_from(self, found: Tuple[Path, Dict[str, Any]]) -> Settings:
        path, data = found
        if self.base.config_path is not None and path.resolve() == self.base.config_path.resolve():
            return self.base
        return _from_pyproject(data, path) if path.name == "pyproject.toml" else parse_table(data, path, label="")


def find_config(start: Path) -> Optional[Tuple[Path, Dict[str, Any]]]:
    """The nearest ``lrlint.toml``/``.lrlint.toml``, or ``pyproject.toml`` with ``[tool.lrlint]``."""
    for folder in (start, *start.parents):
        found = _config_in(str(folder))
        if found is not None:
            return found
    return None


def _config_in(folder: str, may_have: Optional[MayHave] = None) -> Optional[Tuple[Path, Dict[str, Any]]]:
    """The config file of this very folder, if it has one. Asked of every folder walked: string
    paths, and a ``Path`` only for a file that is there."""

    def is_file(name: str) -> bool:
        return (may_have is None or may_have(folder, name)) and os.path.isfile(os.path.join(folder, name))

    for name in DEDICATED_FILES:
        if is_file(name):
            candidate = Path(folder, name)
            return candidate, _read_toml(candidate)
    if not is_file("pyproject.toml"):
        return None
    pyproject = Path(folder, "pyproject.toml")
    if _may_have_table(pyproject):
        data = _read_toml(pyproject)
        if isinstance(data.get("tool"), dict) and "lrlint" in data["tool"]:
            return pyproject, data
    return None


def _may_have_table(path: Path) -> bool:
    # Parse only files that mention lrlint: someone else's broken pyproject.toml is not ours.
    try:
        return b"lrlint" in path.read_bytes()
    except OSError:
        return False


def _read_toml(path: Path) -> Dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 ({error.reason})") from None
    if sys.version_info >= (3, 11):  # imported here: a run without a config file never needs it
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def _from_pyproject(data: Dict[str, Any], path: Path) -> Settings:
    tool = data.get("tool", {})
    table = tool.get("lrlint", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool] 'lrlint' must be a table, not {_type_name(table)}")
    return parse_table(table, path, label="[tool.lrlint]")


def parse_table(table: Mapping[str, Any], path: Path, label: str = "[tool.lrlint]") -> Settings:
    """Validate one ``[tool.lrlint]`` table (``label`` names it in messages; "" for lrlint.toml)."""
    where = _Where(path, label)
    for key in table:
        if key not in _KNOWN_KEYS:
            where.fail(f"unknown key '{key}'{_suggest(key, _KNOWN_KEYS)}")
    lists = {key: _selectors_or_globs(table, key, where) for key in _LIST_KEYS if key in table}
    output_format = table.get("output-format")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        if not isinstance(output_format, str):
            where.fail(f"'output-format' must be a string, not {_type_name(output_format)}")
        where.fail(
            f"'output-format': unknown output format '{output_format}'"
            f"{_suggest(output_format, OUTPUT_FORMATS)} (expected one of: {', '.join(OUTPUT_FORMATS)})"
        )
    respect_gitignore = table.get("respect-gitignore", True)
    if not isinstance(respect_gitignore, bool):
        where.fail(f"'respect-gitignore' must be true or false, not {_type_name(respect_gitignore)}")
    return Settings(
        config_path=path,
        root=Path(os.path.abspath(path)).parent,
        select=lists.get("select"),
        extend_select=lists.get("extend-select", ()),
        ignore=lists.get("ignore", ()),
        per_file_ignores=_per_file_ignores(table.get("per-file-ignores", {}), where),
        exclude=lists.get("exclude"),
        extend_exclude=lists.get("extend-exclude", ()),
        output_format=output_format,
        respect_gitignore=respect_gitignore,
        timeout=_timeout(table.get("timeout"), where),
        custom_schedulers=_schedulers(table.get("schedulers", {}), where.sub("schedulers")),
    )


@dataclass(frozen=True)
class _Where:
    path: Path
    label: str

    def fail(self, message: str) -> NoReturn:
        prefix = f"{self.label} " if self.label else ""
        raise ConfigError(f"{self.path}: {prefix}{message}")

    def sub(self, key: str) -> "_Where":
        inner = self.label[1:-1] + "." if self.label else ""
        return _Where(self.path, f"[{inner}{key}]")


def _selectors_or_globs(table: Mapping[str, Any], key: str, where: _Where) -> Tuple[str, ...]:
    values = _string_list(table[key], f"'{key}'", where)
    if key in ("select", "extend-select", "ignore"):
        try:
            validate(values)
        except UnknownSelector as error:
            where.fail(f"'{key}': {error}")
    return values


def _string_list(value: Any, name: str, where: _Where) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        got = _type_name(value) if not isinstance(value, list) else "a list with non-strings"
        where.fail(f"{name} must be a list of strings, not {got}")
    return tuple(value)


def _per_file_ignores(value: Any, where: _Where) -> Tuple[Tuple[PathGlob, FrozenSet[str]], ...]:
    if not isinstance(value, dict):
        where.fail(f"'per-file-ignores' must be a table of glob = [codes], not {_type_name(value)}")
    inner = where.sub("per-file-ignores")
    result: List[Tuple[PathGlob, FrozenSet[str]]] = []
    for pattern, selectors in value.items():
        codes = _string_list(selectors, f"'{pattern}'", inner)
        try:
            result.append((PathGlob.compile(pattern), codes_of(codes)))
        except UnknownSelector as error:
            inner.fail(f"'{pattern}': {error}")
    return tuple(result)


def _schedulers(value: Any, where: _Where) -> Dict[str, Tuple[str, ...]]:
    if not isinstance(value, dict):
        where.fail(f"must be a table, not {_type_name(value)}")
    result: Dict[str, Tuple[str, ...]] = {cadence: () for cadence in CADENCES}
    for key, names in value.items():
        if key not in CADENCES:
            where.fail(f"unknown key '{key}'{_suggest(key, CADENCES)}")
        result[key] = _string_list(names, f"'{key}'", where)
        for name in result[key]:
            if not all(part.isidentifier() for part in name.split(".")):
                where.fail(f"'{key}': '{name}' is not a qualified name such as 'mypkg.sched.WarmupCosine'")
    both = sorted(set(result["per-batch"]) & set(result["per-epoch"]))
    if both:
        where.fail(f"'{both[0]}' is listed in both 'per-batch' and 'per-epoch'")
    return result


def _timeout(value: Any, where: _Where) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        where.fail(f"'timeout' must be a number of seconds (0 for no limit), not {_type_name(value)}")
    if not value >= 0:  # also NaN
        where.fail(f"'timeout' must be 0 or more seconds, not {value}")
    return float(value)


def _suggest(key: str, known: Sequence[str]) -> str:
    import difflib  # only to suggest a name for an unknown key

    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)
