"""The pipeline for one file: read -> parse -> model -> rules -> locate -> suppress.

The CLI and the output formats only see ``Diagnostic``/``FileResult``; nothing here prints.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from functools import lru_cache
from pathlib import Path
from typing import Callable, Collection, Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Tuple

from .catalogue import RULES
from .diagnostics import Diagnostic, FileResult
from .fixes import Fix, split_lines
from .prefilter import Definitions, has_optimizer_activity, may_have_findings, names_concerning_schedulers
from .project import ImportedNames, ProjectModules
from .suppress import file_exemptions, filter_suppressed, is_exempt

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class UnreadableSource(Exception):
    """The bytes of a file cannot be turned into Python source text."""

    def __init__(self, reason: str, line: int = 1, column: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


def decode_source(data: bytes) -> str:
    """Decode as Python does (BOM, PEP 263 cookie, else UTF-8), or raise ``UnreadableSource``."""
    if b"\x00" in data:
        line, column = _line_and_column(data, data.index(b"\x00"))
        raise UnreadableSource("binary file (contains a NUL byte)", line, column)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # detect_encoding also fails on undecodable bytes in the first two lines; then the
        # offending byte is more useful than its generic message.
        encoding = "utf-8"
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            pass
        else:
            raise UnreadableSource(f"bad encoding declaration: {error}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line, column = _line_and_column(data, error.start)
        raise UnreadableSource(
            f"byte 0x{data[error.start]:02x} is not valid {encoding}; "
            "declare the file's encoding with a `# -*- coding: ... -*-` line",
            line,
            column,
        ) from None
    except LookupError:
        raise UnreadableSource(f"unknown encoding {encoding!r}") from None


def _line_and_column(data: bytes, offset: int) -> Tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def lint_source(
    source: str,
    path: str = "<string>",
    codes: Optional[Collection[str]] = None,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]] = None,
    source_file: Optional[Path] = None,
) -> List[Diagnostic]:
    """Check Python source text; ``codes`` limits the rules (default: every rule); ``schedulers``
    declares the project's own schedulers by cadence, as ``[tool.lrlint.schedulers]`` does;
    ``source_file``, the file on disk, lets the analysis follow imports into the project's other files."""
    enabled = frozenset(RULES) if codes is None else frozenset(codes)
    exempt_file = file_exemptions(source)
    enabled = frozenset(code for code in enabled if not is_exempt(code, exempt_file))
    if not enabled:
        return []
    lines = _LINE_BREAK.split(source)
    diagnostics = [d for d in _analyse(source, path, enabled, schedulers, source_file) if d.code in enabled]
    here = [d for d in diagnostics if d.path == path]
    elsewhere = [d for d in diagnostics if d.path != path]  # in an imported module: its own noqa applied
    return sorted(filter_suppressed(here, lines) + elsewhere, key=Diagnostic.sort_key)


def _analyse(
    source: str,
    path: str,
    enabled: frozenset,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]],
    source_file: Optional[Path],
) -> List[Diagnostic]:
    modules = ProjectModules(source_file) if source_file is not None else None
    if not _may_have_findings(source, schedulers, modules):
        return []  # nothing a rule needs: the file is not even parsed (see lrlint.prefilter)
    import libcst as cst

    from .locate import Positions
    from .model import build_model, known
    from .rules import run_rules

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        # CPython's message and position read better than the parser's; keep libcst's own only
        # for syntax that CPython accepts and this libcst does not.
        reason = f"syntax error: {error.message.splitlines()[0]}"
        try:
            ast.parse(source, filename=path)
        except SyntaxError as cpython_error:
            reason, line, column = f"syntax error: {cpython_error.msg}", cpython_error.lineno, cpython_error.offset
            return [_unanalyzable(path, reason, line or 1, column or 1)]
        except (ValueError, RecursionError, MemoryError):
            pass
        return [_unanalyzable(path, reason, error.raw_line, error.raw_column + 1)]
    except RecursionError:
        return [_unanalyzable(path, "too deeply nested to parse", 1, 1)]
    try:
        model = build_model(module, path, known.project_specs(schedulers), modules)
        findings = list(run_rules(model, enabled))
        if not findings:
            return []
        positions = Positions(module)
        ranges = {id(f.node): r for f in findings for r in [positions.range(f.node)] if r is not None}
        lines = split_lines(source) if any(finding.fix for finding in findings) else []
        diagnostics = [
            Diagnostic(
                finding.code,
                RULES[finding.code].format(**finding.fields),
                path,
                *ranges[id(finding.node)],
                fix=_fix_for(finding, module, positions, lines),
            )
            for finding in findings
            if id(finding.node) in ranges
        ]
    except RecursionError:  # libcst's visitors and code generation recurse on very deep trees
        return [_unanalyzable(path, "expressions nested too deeply to analyze", 1, 1)]
    elsewhere = [finding for finding in findings if id(finding.node) not in ranges]
    if elsewhere:
        diagnostics += _in_followed_modules(model.followed, elsewhere, enabled)
    return diagnostics


def _fix_for(finding, module, positions, lines: List[str]) -> Optional[Fix]:
    """The finding's proposal as text edits; fixes apply to the file being checked only."""
    if finding.fix is None:
        return None
    from .rules.proposals import resolve

    return resolve(finding.fix, module, positions, lines)


def _in_followed_modules(followed: list, findings: list, enabled: frozenset) -> List[Diagnostic]:
    """A finding on code of an imported project module (seen only with this file's objects: the
    scheduler it steps was built here) is reported where the misuse is, in that module, with that
    module's `# noqa` and `# lrlint: noqa` applied."""
    from .locate import locate

    diagnostics: List[Diagnostic] = []
    for other_path, other_module in followed:
        ranges = locate(other_module, [finding.node for finding in findings])
        if not ranges:
            continue
        text = ProjectModules.text(Path(other_path))
        exempt = file_exemptions(text)
        shown = _display(other_path)
        found = [
            Diagnostic(finding.code, RULES[finding.code].format(**finding.fields), shown, *ranges[id(finding.node)])
            for finding in findings
            if id(finding.node) in ranges and finding.code in enabled and not is_exempt(finding.code, exempt)
        ]
        diagnostics += filter_suppressed(found, _LINE_BREAK.split(text))
    return diagnostics


def _display(path: str) -> str:
    """A followed module's path as lrlint shows paths: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def _may_have_findings(
    source: str, schedulers: Optional[Mapping[str, Tuple[str, ...]]], modules: Optional["ProjectModules"]
) -> bool:
    """The pre-filter, with what this file imports from the project (read only when needed)."""
    declared = frozenset(name.rsplit(".", 1)[-1] for names in (schedulers or {}).values() for name in names)
    imported: List[Dict[Path, ImportedNames]] = []  # resolved on first use, at most once

    def followed() -> Dict[Path, ImportedNames]:
        if not imported:
            imported.append(modules.imported_names(source) if modules is not None and "import" in source else {})
        return imported[0]

    return may_have_findings(
        source,
        declared,
        imports_scheduler_code=lambda: any(
            _hands_out_scheduler_code(path, names, declared) for path, names in followed().items()
        ),
        imports_training_code=lambda: any(
            ProjectModules.satisfies(path, has_optimizer_activity) and ProjectModules.worth_following(path)
            for path in followed()
        ),
    )


def _hands_out_scheduler_code(path: Path, names: ImportedNames, declared: FrozenSet[str]) -> bool:
    """Whether what an importer takes from the module builds, steps or hands out schedulers. The
    module's own code must pass the pre-filter (a word in it is not enough: diffusers'
    pipeline_utils names noise schedulers, and every pipeline imports it), and so must the
    definitions of the names taken, with the module's code they use."""
    tests = _module_tests(declared)
    if not ProjectModules.satisfies(path, tests.whole) or not ProjectModules.worth_following(path):
        return False
    if names is None:
        return True
    definitions = ProjectModules.judge(path, tests.by_name, None)
    return definitions is None or any(name not in definitions.bound or name in definitions.concerning for name in names)


class _ModuleTests(NamedTuple):
    whole: Callable[[str], bool]
    by_name: Callable[[str], Optional[Definitions]]


@lru_cache(maxsize=16)  # one pair per set of declared schedulers, so their judgements are memoised
def _module_tests(declared: FrozenSet[str]) -> _ModuleTests:
    return _ModuleTests(
        whole=lambda text: may_have_findings(text, declared),
        by_name=lambda text: names_concerning_schedulers(text, declared),
    )


def _unanalyzable(path: str, reason: str, line: int, column: int) -> Diagnostic:
    message = RULES["LR000"].format(reason=reason)
    return Diagnostic("LR000", message, path, line, column, line, column + 1)


def lint_file(
    path: "str | Path",
    codes: Optional[Collection[str]] = None,
    display_path: Optional[str] = None,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]] = None,
) -> FileResult:
    """Check one file. Unreadable input is an LR000 finding; an internal crash sets ``error``."""
    shown = display_path if display_path is not None else str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = f"cannot read: {error.strerror or error}"
        return FileResult(shown, tuple(_selected([_unanalyzable(shown, reason, 1, 1)], codes)))
    return lint_bytes(data, path, codes, shown, schedulers)


def lint_bytes(
    data: bytes,
    path: "str | Path",
    codes: Optional[Collection[str]] = None,
    display_path: Optional[str] = None,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]] = None,
) -> FileResult:
    """Check the bytes read from the file at ``path`` (which locates the project's other modules)."""
    shown = display_path if display_path is not None else str(path)
    notebook = str(path).endswith(".ipynb")
    try:
        source = decode_notebook(data) if notebook else decode_source(data)
    except UnreadableSource as error:
        found = _unanalyzable(shown, error.reason, error.line, error.column)
        return FileResult(shown, tuple(_selected([found], codes)))
    try:
        if notebook:
            return FileResult(shown, tuple(lint_notebook(source, shown, codes, schedulers, Path(path))))
        return FileResult(shown, tuple(lint_source(source, shown, codes, schedulers, Path(path))))
    except Exception as error:  # an lrlint bug: name the file, keep going with the others
        return FileResult(shown, (), f"internal error while checking {shown}: {type(error).__name__}: {error}")


def decode_notebook(data: bytes) -> str:
    """A notebook is JSON, hence UTF-8 (a BOM tolerated)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = _line_and_column(data, error.start)
        raise UnreadableSource(
            f"byte 0x{data[error.start]:02x} is not valid UTF-8 (a notebook is JSON)", line, column
        ) from None


def lint_notebook(
    text: str,
    path: str = "<notebook>",
    codes: Optional[Collection[str]] = None,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]] = None,
    source_file: Optional[Path] = None,
) -> List[Diagnostic]:
    """Check a notebook's code cells as one program; findings carry their cell and in-cell line."""
    from .notebook import NotebookError, read_notebook

    try:
        notebook = read_notebook(text)
    except NotebookError as error:
        return _selected([_unanalyzable(path, str(error), 1, 1)], codes)
    return notebook.to_cells(lint_source(notebook.program, path, codes, schedulers, source_file), path)


def _selected(diagnostics: List[Diagnostic], codes: Optional[Collection[str]]) -> List[Diagnostic]:
    return [d for d in diagnostics if codes is None or d.code in codes]
