"""The pipeline for one file: read -> parse -> model -> rules -> locate -> suppress.

The CLI and the output formats only see ``Diagnostic``/``FileResult``; nothing here prints.
"""

from __future__ import annotations

import ast
import codecs
import io
import os
import re
import tokenize
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Collection, Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Tuple

from .catalogue import RULES
from .diagnostics import Diagnostic, FileResult
from .files import read_regular_file
from .fixes import Fix, split_lines
from .parsing import parse_module
from .prefilter import (
    Definitions,
    Verdict,
    has_optimizer_activity,
    may_have_findings,
    names_concerning_schedulers,
    text_verdict,
)
from .project import ImportedNames, ProjectModules, names_used_outside_imports, tree_parsed_from
from .startup import import_analysis

if TYPE_CHECKING:
    import libcst as cst

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class UnreadableSource(Exception):
    """The bytes of a file cannot be turned into Python source text."""

    def __init__(self, reason: str, line: int = 1, column: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


# Python reads source as bytes in an ASCII-compatible encoding; these byte order marks say the
# file is not (UTF-32 first: its little-endian mark starts with UTF-16's).
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_source(data: bytes) -> str:
    """Decode as Python does (BOM, PEP 263 cookie, else UTF-8), or raise ``UnreadableSource``."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            raise UnreadableSource(
                f"the file is {name} text (it starts with a {name} byte order mark); save it as UTF-8"
            )
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
        line, column = _line_and_column(data, error.start, encoding)
        raise UnreadableSource(
            f"byte 0x{data[error.start]:02x} is not valid {encoding}; "
            "declare the file's encoding with a `# -*- coding: ... -*-` line",
            line,
            column,
        ) from None
    except LookupError:
        raise UnreadableSource(f"unknown encoding {encoding!r}") from None


_BYTE_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def _line_and_column(data: bytes, offset: int, encoding: str = "utf-8") -> Tuple[int, int]:
    """The 1-based line and character column of a byte offset; a lone CR ends a line, as in Python."""
    breaks = _BYTE_LINE_BREAK.findall(data, 0, offset)
    start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    try:
        column = len(data[start:offset].decode(encoding, errors="replace")) + 1
    except LookupError:
        column = offset - start + 1
    return len(breaks) + 1, column


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
    selected = frozenset(RULES) if codes is None else frozenset(codes)
    if not selected:
        return []
    diagnostics, enabled = _analyse(source, path, selected, schedulers, source_file)
    diagnostics = [d for d in diagnostics if d.code in enabled]
    here = [d for d in diagnostics if d.path == path]
    elsewhere = [d for d in diagnostics if d.path != path]  # in an imported module: its own noqa applied
    if here:  # the lines are split only to read their noqa comments (most files have no finding)
        from .suppress import filter_suppressed  # here: a file with no finding needs no noqa patterns

        here = filter_suppressed(here, _LINE_BREAK.split(source))
    return sorted(here + elsewhere, key=Diagnostic.sort_key)


def _analyse(
    source: str,
    path: str,
    selected: frozenset,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]],
    source_file: Optional[Path],
) -> Tuple[List[Diagnostic], frozenset]:
    """The file's diagnostics, and the codes its `# lrlint: noqa` comments leave enabled."""
    modules = ProjectModules(source_file) if source_file is not None else None
    imports = _ProjectImports(source, modules)
    if not _may_have_findings(source, schedulers, modules, imports):
        return [], selected  # nothing a rule needs: the file is not even parsed (see lrlint.prefilter)
    # Read only now: lower-casing every file to look for `noqa` cost more than this whole check
    # of a file the pre-filter skips (which does not even import the patterns).
    from .suppress import file_exemptions, is_exempt

    exempt_file = file_exemptions(source)
    enabled = frozenset(code for code in selected if not is_exempt(code, exempt_file))
    if not enabled:
        return [], enabled
    return _findings(source, path, enabled, schedulers, modules, imports), enabled


def _findings(
    source: str,
    path: str,
    enabled: frozenset,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]],
    modules: Optional[ProjectModules],
    imports: _ProjectImports,
) -> List[Diagnostic]:
    """The diagnostics of a file the pre-filter keeps, for the ``enabled`` rules."""
    import_analysis()  # before the imports below, which it makes cheaper
    from .locate import Positions
    from .model import build_model, known
    from .rules import run_rules

    module = tree_parsed_from(modules.file, source) if modules is not None else None
    if module is None:
        slicer = _slicer(source, schedulers, imports) if len(source) >= MIN_SLICED_SIZE else None
        module = _parse(source, path, slicer)
    if isinstance(module, Diagnostic):
        return [module]
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


# A smaller candidate is handed to libcst whole: slicing it (CPython's tree, then the judgement
# of each statement) cost about a third of what libcst's parse does, and blanked 3% of the
# training scripts' lines, against a third of the lines of library files over 40,000 characters.
MIN_SLICED_SIZE = 20_000


# libcst's native parser has no guard on its stack: a few thousand nested brackets or a chain of
# thousands of `and` crash the process (SIGSEGV), and deep nesting makes it slow and hungry. So
# CPython's parser, which has such guards and caps brackets at 200 and other nesting near 3000,
# sees the text first; where CPython keeps a construct flat and libcst nests it (`and`/`or`
# chains), or CPython's verdict may be about syntax newer than this Python, lrlint bounds it.
MAX_BOOLEAN_CHAIN = 1000  # libcst crashed from about 7,000 on an 8 MiB stack
MAX_LOGICAL_LINE_TOKENS = 1000  # fewer tokens than any nesting that crashed libcst (about 1,200)
_NESTING_LIMIT = re.compile(r"too many (nested parentheses|levels of indentation)|too complex|too deeply nested")
_BOOLEAN_WORD = re.compile(r"\b(?:and|or)\b")


def _parse(
    source: str, path: str, slicer: "Optional[Callable[[ast.Module], Optional[str]]]" = None
) -> "cst.Module | Diagnostic":
    """The libcst tree, or the LR000 that says why the file was not handed to libcst or failed
    there. With a ``slicer``, the tree of only the part of the source it keeps (see lrlint.slicing)."""
    import libcst as cst

    refusal, python_error, tree = _python_verdict(source, path, want_tree=slicer is not None)
    if refusal is not None:
        return refusal
    needed = slicer(tree) if slicer is not None and tree is not None else None
    if needed is not None:
        try:
            return parse_module(needed)
        except (cst.ParserSyntaxError, RecursionError):
            pass  # judged on the whole file below, which is what its findings must say
    try:
        return parse_module(source)
    except cst.ParserSyntaxError as error:
        if python_error is not None:  # CPython's message and position read better than libcst's
            return _syntax_error(path, python_error)
        reason = f"libcst, the parser lrlint uses, rejects code that Python accepts: {error.message.splitlines()[0]}"
        return _unanalyzable(path, reason, error.raw_line, error.raw_column + 1)
    except RecursionError:
        return _unanalyzable(path, "too deeply nested to parse", 1, 1)


def _python_verdict(
    source: str, path: str, want_tree: bool = False
) -> Tuple[Optional[Diagnostic], Optional[SyntaxError], Optional[ast.Module]]:
    """An LR000 when the file must not reach libcst, CPython's syntax error if it has one, and
    CPython's tree when ``want_tree`` (else it is dropped: a big file's libcst tree needs the memory)."""
    if not want_tree and len(_BOOLEAN_WORD.findall(source)) <= MAX_BOOLEAN_CHAIN and _compiles(source, path):
        return None, None, None  # the common case, decided without building Python's tree
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the file's code are not lrlint's to print
            tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        if _NESTING_LIMIT.search(error.msg or "") or _has_long_logical_line(source):
            return _syntax_error(path, error), error, None
        return None, error, None  # maybe syntax newer than this Python, which libcst knows
    except (RecursionError, MemoryError):  # CPython's parser stack overflowed
        reason = "too deeply nested to parse (Python's own parser gives up on it)"
        return _unanalyzable(path, reason, 1, 1), None, None
    except ValueError as error:  # a NUL character in text given to lint_source
        return _unanalyzable(path, str(error), 1, 1), None, None
    if _longest_boolean_chain(source, tree) > MAX_BOOLEAN_CHAIN:
        reason = f"too deeply nested to parse (more than {MAX_BOOLEAN_CHAIN} operands of `and`/`or` in a row)"
        return _unanalyzable(path, reason, 1, 1), None, None
    return None, None, tree if want_tree else None


def python_tree_or_refusal(source: str) -> Tuple[Optional[ast.Module], bool]:
    """CPython's tree of a followed module's source, and whether it must not reach libcst (as
    ``_python_verdict`` refuses); no tree and no refusal where CPython rejects the syntax, which
    may be newer than this Python: ``parse_module_safely`` then judges the module whole."""
    refusal, _, tree = _python_verdict(source, "<module>", want_tree=True)
    return tree, refusal is not None


def _compiles(source: str, path: str) -> bool:
    """Whether CPython compiles the source (never runs it). Compiling keeps the syntax tree inside
    CPython and is about three times cheaper than ``ast.parse``, which builds a Python object per
    node; whatever compiles also parses, so ``_python_verdict`` has nothing to refuse then."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the file's code are not lrlint's to print
            compile(source, path, "exec", dont_inherit=True)
    except Exception:  # SyntaxError, nesting limits, a NUL: ast.parse says which
        return False
    return True


def parse_module_safely(data: bytes) -> "Optional[cst.Module]":
    """A project module's libcst tree (from its bytes, as libcst reads them), or None when it does
    not parse or must not reach libcst: the guard of ``_parse`` for the modules a file imports."""
    import_analysis()
    import libcst as cst

    try:
        refusal, _, _ = _python_verdict(decode_source(data), "<module>")
    except UnreadableSource:
        return None
    if refusal is not None:
        return None
    try:
        return parse_module(data)
    except (cst.ParserSyntaxError, RecursionError, UnicodeDecodeError, ValueError):
        return None


def _syntax_error(path: str, error: SyntaxError) -> Diagnostic:
    return _unanalyzable(path, f"syntax error: {error.msg}", error.lineno or 1, error.offset or 1)


def _has_long_logical_line(source: str) -> bool:
    """Whether a statement has so many tokens that libcst could nest it deep enough to crash; asked
    only of code CPython rejects, which may be newer syntax (a `match` under Python 3.9) that
    libcst parses. Code that cannot even be tokenized counts as such: libcst would reject it too."""
    count = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                count = 0
            elif token.type not in (tokenize.NL, tokenize.COMMENT):
                count += 1
                if count > MAX_LOGICAL_LINE_TOKENS:
                    return True
    except (tokenize.TokenError, SyntaxError):
        return True
    return False


def _longest_boolean_chain(source: str, tree: ast.Module) -> int:
    """The most `and`/`or` operands nested into one another, as libcst nests them (CPython keeps
    a chain flat). The tree is walked only when the text has that many `and`/`or` words at all."""
    if len(_BOOLEAN_WORD.findall(source)) <= MAX_BOOLEAN_CHAIN:
        return 0
    longest = 0
    pending: List[Tuple[ast.AST, int]] = [(tree, 0)]
    while pending:  # iterative: the tree itself may be deep
        node, depth = pending.pop()
        if isinstance(node, ast.BoolOp):
            depth += len(node.values) - 1
            longest = max(longest, depth)
        pending.extend((child, depth) for child in ast.iter_child_nodes(node))
    return longest


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
    from .suppress import file_exemptions, filter_suppressed, is_exempt

    diagnostics: List[Diagnostic] = []
    nodes = [finding.node for finding in findings]
    for other_path, other_module in followed:
        ranges = {  # a split module's trees start below the top: each is shifted by the lines above it
            key: (line + above, column, end_line + above, end_column)
            for above, tree in other_module.parsed()
            for key, (line, column, end_line, end_column) in locate(tree, nodes).items()
        }
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


class _ProjectImports:
    """The project files a checked file imports, with the names it takes from each (see
    ``ProjectModules.imported_names``): resolved on first use, at most once per check, for the
    pre-filter and the slicing alike."""

    def __init__(self, source: str, modules: Optional["ProjectModules"]) -> None:
        self._source = source
        self._modules = modules
        self._found: Optional[Dict[str, ImportedNames]] = None

    def __call__(self) -> Dict[str, ImportedNames]:
        if self._found is None:
            modules, source = self._modules, self._source
            self._found = modules.imported_names(source) if modules is not None and "import" in source else {}
        return self._found

    def train(self) -> bool:
        """Whether one of them trains at all (the pre-filter's ``imports_training_code``)."""
        return any(_trains(path) for path in self())


def _slicer(
    source: str, schedulers: Optional[Mapping[str, Tuple[str, ...]]], imports: _ProjectImports
) -> "Callable[[ast.Module], Optional[str]]":
    """What ``_parse`` hands libcst of a candidate: the statements the analysis may need."""
    from .slicing import needed_source

    declared = _declared(schedulers)

    def scheduler_imports() -> FrozenSet[str]:
        """The words naming what the file takes from project code that builds, steps or hands out
        schedulers: each name taken, and a module taken whole by its own name (`from .. import
        modelcard`)."""
        words = set()
        for path, names in imports().items():
            if names is None:
                if _hands_out_scheduler_code(path, None, declared):
                    words.add(_module_name(path))
            else:
                words.update(name for name in names if _hands_out_scheduler_code(path, frozenset([name]), declared))
        return frozenset(words)

    return lambda tree: needed_source(source, tree, declared, scheduler_imports, imports.train)


def _module_name(path: str) -> str:
    """The name a module file is imported by: `utils` for …/utils.py and …/utils/__init__.py."""
    folder, name = os.path.split(path)
    return os.path.basename(folder) if name == "__init__.py" else name[: -len(".py")]


def _declared(schedulers: Optional[Mapping[str, Tuple[str, ...]]]) -> FrozenSet[str]:
    """The last component of each declared scheduler's name: what code that uses it mentions."""
    return frozenset(name.rsplit(".", 1)[-1] for names in (schedulers or {}).values() for name in names)


def _trains(path: str) -> bool:
    return ProjectModules.satisfies(path, has_optimizer_activity) and ProjectModules.worth_following(path)


def _may_have_findings(
    source: str,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]],
    modules: Optional["ProjectModules"],
    imports: Optional[_ProjectImports] = None,
) -> bool:
    """The pre-filter, with what this file imports from the project (read only when needed)."""
    declared = _declared(schedulers)
    followed = imports if imports is not None else _ProjectImports(source, modules)
    # The verdict on the text alone is the one an importer of this file asked for, if one did.
    whole = _module_tests(declared).whole
    verdict = ProjectModules.earlier_judgement(modules.file, source, whole) if modules is not None else None

    def imports_scheduler_code() -> bool:
        for path, names in followed().items():
            if not _hands_out_scheduler_code(path, None, declared):  # the module's code as a whole
                continue
            if names is None:  # the module itself
                return True
            # Names only imported (a package's __init__ re-exports them) do not count; the others
            # count through their definitions, judged by name (see _hands_out_scheduler_code).
            used = names_used_outside_imports(source, names)
            if used and _hands_out_scheduler_code(path, used, declared):
                return True
        return False

    return may_have_findings(
        source,
        declared,
        imports_scheduler_code=imports_scheduler_code,
        imports_training_code=followed.train,
        verdict=verdict if verdict is not None else whole(source),
    )


def _hands_out_scheduler_code(path: str, names: ImportedNames, declared: FrozenSet[str]) -> bool:
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
    whole: Callable[[str], Verdict]  # the text alone (see prefilter.text_verdict)
    by_name: Callable[[str], Optional[Definitions]]


@lru_cache(maxsize=16)  # one pair per set of declared schedulers, so their judgements are memoised
def _module_tests(declared: FrozenSet[str]) -> _ModuleTests:
    return _ModuleTests(
        # with nothing declared, the very function ``ProjectModules.followed`` asks: one judgement
        whole=(lambda text: text_verdict(text, declared)) if declared else text_verdict,
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
        data = read_regular_file(path)
    except OSError as error:
        return unanalyzable_result(shown, f"cannot read: {error.strerror or error}", codes)
    return lint_bytes(data, path, codes, shown, schedulers)


def unanalyzable_result(path: str, reason: str, codes: Optional[Collection[str]] = None) -> FileResult:
    """The result of a file that was not checked: one LR000 (none when LR000 is not selected)."""
    return FileResult(path, tuple(_selected([_unanalyzable(path, reason, 1, 1)], codes)))


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
