"""``--fix`` and ``--diff``: apply the safe fixes, prove each one, write the file back atomically.

A fix is kept only if the fixed code still parses, the finding it fixes is gone, and no other
finding appeared; otherwise it is dropped and the file stays as it was. Fixes are applied in
passes (a moved statement can make room for another fix) until nothing more applies, so running
``--fix`` twice changes nothing the second time.
"""

from __future__ import annotations

import ast
import codecs
import difflib
import io
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .atomic import write_atomically
from .diagnostics import Diagnostic
from .fixes import SAFE, Fix, OverlappingEdits, apply_edits

MAX_PASSES = 10

Lint = Callable[[str], List[Diagnostic]]
Allowed = Callable[[Fix], bool]


@dataclass
class Fixed:
    """What fixing one source text gave: the new text, what was fixed, what is left."""

    source: str
    counts: Dict[str, int] = field(default_factory=dict)  # code -> findings fixed
    remaining: List[Diagnostic] = field(default_factory=list)


def fix_source(source: str, lint: Lint, allowed: Allowed = lambda fix: True) -> Fixed:
    """Apply every safe fix that proves itself; ``lint`` checks a version of the source and
    ``allowed`` can veto a fix (a notebook's fixes must stay inside one cell)."""
    diagnostics = lint(source)
    counts: Counter = Counter()
    rejected: Set[Tuple] = set()
    for _ in range(MAX_PASSES):
        candidates = [d for d in diagnostics if _applicable(d, allowed) and _identity(d) not in rejected]
        if not candidates:
            break
        chosen = _non_overlapping(candidates)
        outcome = _proven(source, diagnostics, chosen, lint)
        if outcome is None:
            chosen, outcome = _one_that_works(source, diagnostics, chosen, lint, rejected)
        if outcome is None:
            break
        source, diagnostics = outcome
        counts.update(d.code for d in chosen)
    return Fixed(source, dict(counts), diagnostics)


def _applicable(diagnostic: Diagnostic, allowed: Allowed) -> bool:
    fix = diagnostic.fix
    return fix is not None and fix.applicability == SAFE and allowed(fix)


def _identity(diagnostic: Diagnostic) -> Tuple:
    assert diagnostic.fix is not None
    return (diagnostic.code, diagnostic.line, diagnostic.column, diagnostic.fix.edits)


def _non_overlapping(candidates: Sequence[Diagnostic]) -> List[Diagnostic]:
    """Fixes whose line spans do not touch, first come first served (as ruff applies them)."""
    chosen: List[Diagnostic] = []
    taken: List[Tuple[int, int]] = []
    for diagnostic in sorted(candidates, key=lambda d: (d.line, d.column, d.code)):
        fix = diagnostic.fix
        assert fix is not None
        span = (fix.first_line, fix.last_line)
        if all(span[1] < start or span[0] > end for start, end in taken):
            chosen.append(diagnostic)
            taken.append(span)
    return chosen


def _one_that_works(
    source: str, diagnostics: List[Diagnostic], chosen: List[Diagnostic], lint: Lint, rejected: Set[Tuple]
) -> Tuple[List[Diagnostic], Optional[Tuple[str, List[Diagnostic]]]]:
    """Together they failed: find the fixes that fail alone and set them aside."""
    for diagnostic in chosen:
        outcome = _proven(source, diagnostics, [diagnostic], lint)
        if outcome is not None:
            return [diagnostic], outcome
        rejected.add(_identity(diagnostic))
    return [], None


def _proven(
    source: str, before: List[Diagnostic], chosen: List[Diagnostic], lint: Lint
) -> Optional[Tuple[str, List[Diagnostic]]]:
    """The fixed source and its findings, if the fixes parse, remove what they fix and add nothing."""
    edits = [edit for diagnostic in chosen for edit in diagnostic.fix.edits]  # type: ignore[union-attr]
    try:
        fixed = apply_edits(source, edits)
    except OverlappingEdits:
        return None
    if fixed == source or not _parses(fixed):
        return None
    after = lint(fixed)
    expected = Counter(d.code for d in before)
    expected.subtract(d.code for d in chosen)
    found = Counter(d.code for d in after)
    if any(found[code] > max(expected[code], 0) for code in found):
        return None
    return fixed, after


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# --- files ---------------------------------------------------------------------------------


@dataclass
class FileFix:
    """``--fix``/``--diff`` on one file: the new content, what was fixed, what is left."""

    display: str
    counts: Dict[str, int]
    remaining: List[Diagnostic]  # the findings left, as they are reported
    diff: str  # unified diff of the change ("" when nothing changed)
    encoded: Optional[bytes] = None  # the new file content, encoded as the old one was
    original: bytes = b""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def encoding_of(data: bytes) -> str:
    """The codec that decodes ``data`` as Python does and encodes it back the same (BOM kept)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return encoding


def fix_file(
    path: Path,
    display: str,
    codes: Optional[Collection[str]] = None,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]] = None,
) -> FileFix:
    """Fix one file in memory (nothing is written here). Raises ``OSError``, ``UnreadableSource``
    or ``NotebookError`` when the file cannot be read as it was when it was checked."""
    from .engine import decode_notebook, decode_source, lint_source

    data = path.read_bytes()
    if path.suffix == ".ipynb":
        return _fix_notebook(path, display, data, decode_notebook(data), codes, schedulers)
    source = decode_source(data)

    def lint(text: str) -> List[Diagnostic]:
        return lint_source(text, display, codes, schedulers, path)

    fixed = fix_source(source, lint)
    encoded = fixed.source.encode(encoding_of(data)) if fixed.source != source else None
    remaining = [d for d in fixed.remaining if d.path == display]
    diff = unified_diff(source, fixed.source, display)
    return FileFix(display, fixed.counts, remaining, diff, encoded, data)


def _fix_notebook(
    path: Path,
    display: str,
    data: bytes,
    text: str,
    codes: Optional[Collection[str]],
    schedulers: Optional[Mapping[str, Tuple[str, ...]]],
) -> FileFix:
    """The cells as one program, fixed with fixes that stay inside one cell, written back."""
    from .engine import lint_source
    from .notebook import cell_diff, read_notebook

    notebook = read_notebook(text)
    program = notebook.program

    def lint(source: str) -> List[Diagnostic]:
        return lint_source(source, display, codes, schedulers, path)

    fixed = fix_source(program, lint, notebook.fix_stays_in_one_cell)
    remaining = notebook.to_cells([d for d in fixed.remaining if d.path == display], display)
    if fixed.source == program:
        return FileFix(display, fixed.counts, remaining, "", None, data)
    encoded, changed = notebook.with_program(fixed.source)
    if data.startswith(codecs.BOM_UTF8):
        encoded = codecs.BOM_UTF8 + encoded
    return FileFix(display, fixed.counts, remaining, cell_diff(display, changed), encoded, data)


def write_fix(path: Path, fix: FileFix) -> None:
    """Atomically, and only if the file is still what was read (``ChangedOnDisk`` otherwise)."""
    if fix.encoded is not None:
        write_atomically(str(path), fix.encoded, expected=fix.original)


def unified_diff(before: str, after: str, display: str, label: str = "") -> str:
    if before == after:
        return ""
    name = f"{display}{label}"
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=name, tofile=name
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)
