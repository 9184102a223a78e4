"""Jupyter notebooks: their code cells read as one program, findings mapped back to cells.

IPython syntax (`%matplotlib inline`, `!pip install`, `x = !ls`, `model?`, `%%time`) is masked
without moving anything: the magic's first two characters become `0#`, a harmless statement
followed by a comment, so every other character keeps its line and column. ``--fix`` writes only
the `source` of the cells it changed; outputs, metadata and formatting stay as they were.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .diagnostics import Diagnostic
from .fixes import Edit, Fix, split_lines

# Cell magics whose body is Python: only the `%%` line is masked.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "pypy", "python", "python3"})
_LINE_MAGIC = re.compile(r"^[ \t]*[%!?]")
_ASSIGNED_MAGIC = re.compile(r"^([ \t]*[\w.]+[ \t]*=[ \t]*)[%!]")
_HELP = re.compile(r"^[ \t]*\??[\w.]+\?{0,2}[ \t]*$")  # `model?`, `?model`, `torch.optim??`


class NotebookError(ValueError):
    """The file is not a notebook lrlint can read; the message says why."""


@dataclass
class CodeCell:
    number: int  # 1-based position among all the notebook's cells, as Jupyter shows them
    source: str  # the cell's text as stored
    masked: str  # the same, with IPython syntax masked
    first_line: int  # where it starts in the program, 1-based
    masked_lines: Tuple[int, ...] = ()  # program lines that were masked

    @property
    def line_count(self) -> int:
        return len(split_lines(self.masked))

    @property
    def last_line(self) -> int:
        return self.first_line + self.line_count - 1


@dataclass
class Notebook:
    data: Dict[str, Any]
    text: str
    cells: List[CodeCell] = field(default_factory=list)

    @property
    def program(self) -> str:
        return "".join(_terminated(cell.masked) for cell in self.cells)

    # -- positions ----------------------------------------------------------------------

    def cell_at(self, line: int) -> Optional[CodeCell]:
        for cell in self.cells:
            if cell.first_line <= line <= cell.last_line:
                return cell
        return None

    def to_cells(self, diagnostics: Sequence[Diagnostic], path: str) -> List[Diagnostic]:
        """Program positions -> cell positions, for the findings in this notebook."""
        return [self._to_cell(d) if d.path == path else d for d in diagnostics]

    def _to_cell(self, diagnostic: Diagnostic) -> Diagnostic:
        cell = self.cell_at(diagnostic.line)
        if cell is None:
            return diagnostic
        offset = cell.first_line - 1
        end_line, end_column = diagnostic.end_line - offset, diagnostic.end_column
        if end_line > cell.line_count:  # a range running into the next cell ends with this one
            end_line, end_column = cell.line_count + 1, 1
        fix = diagnostic.fix
        if fix is not None:
            edits = tuple(replace(edit, line=edit.line - offset, end_line=edit.end_line - offset) for edit in fix.edits)
            fix = Fix(fix.message, edits, fix.applicability)
        return replace(
            diagnostic,
            line=diagnostic.line - offset,
            end_line=end_line,
            end_column=end_column,
            cell=cell.number,
            fix=fix,
        )

    def fix_stays_in_one_cell(self, fix: Fix) -> bool:
        """A fix may not cross a cell boundary or touch a masked line (it is written back as it was)."""
        cell = self.cell_at(fix.first_line)
        last = max(_last_line_touched(edit) for edit in fix.edits)
        if cell is None or last > cell.last_line:
            return False
        return not any(fix.first_line <= line <= last for line in cell.masked_lines)

    # -- writing back -------------------------------------------------------------------

    def with_program(self, program: str) -> Tuple[bytes, List[Tuple[int, str, str]]]:
        """The notebook file with the fixed program's cells written back, and the cells changed
        as (number, before, after). A fix never changes a cell's number of lines."""
        lines = split_lines(program)
        changed: List[Tuple[int, str, str]] = []
        raw_cells = self.data["cells"]
        for cell in self.cells:
            new_lines = lines[cell.first_line - 1 : cell.last_line]
            original = split_lines(cell.source)
            for line in cell.masked_lines:  # the masked IPython lines go back as they were
                index = line - cell.first_line
                new_lines[index] = original[index]
            text = "".join(new_lines)
            if not cell.source.endswith(("\n", "\r")) and text.endswith("\n"):
                text = text[: -len(_newline_of(text))]
            if text != cell.source:
                raw = raw_cells[cell.number - 1]
                raw["source"] = split_lines(text) if isinstance(raw["source"], list) else text
                changed.append((cell.number, cell.source, text))
        return _dump_like(self.data, self.text).encode("utf-8"), changed


def _last_line_touched(edit: Edit) -> int:
    """Whole lines deleted or inserted (an edit ending at column 1) end with the line before."""
    whole_lines = edit.end_line > edit.line or edit.content.endswith(("\n", "\r"))
    return edit.end_line - 1 if edit.end_column == 1 and whole_lines else edit.end_line


def read_notebook(text: str) -> Notebook:
    """Parse a notebook's JSON; raises ``NotebookError`` when it is not a v4 notebook."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a valid notebook: {error.msg} at line {error.lineno} column {error.colno}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        if isinstance(data, dict) and "worksheets" in data:
            raise NotebookError("notebook format 3 is not supported; convert it with `jupyter nbconvert --to notebook`")
        raise NotebookError("not a valid notebook: no list of cells")
    notebook = Notebook(data, text)
    if not _is_python(data):
        return notebook
    line = 1
    for index, raw in enumerate(data["cells"]):
        if not isinstance(raw, dict) or raw.get("cell_type") != "code":
            continue
        source = raw.get("source", "")
        if isinstance(source, list):
            source = "".join(part for part in source if isinstance(part, str))
        if not isinstance(source, str):
            raise NotebookError(f"cell {index + 1}: its source is not text")
        masked, masked_lines = mask_ipython(source)
        cell = CodeCell(index + 1, source, masked, line, tuple(line + offset for offset in masked_lines))
        notebook.cells.append(cell)
        line += len(split_lines(_terminated(masked)))
    return notebook


def _is_python(data: Dict[str, Any]) -> bool:
    metadata = data.get("metadata") or {}
    language = (metadata.get("language_info") or {}).get("name") or (metadata.get("kernelspec") or {}).get("language")
    return language is None or str(language).lower() == "python"


def mask_ipython(source: str) -> Tuple[str, List[int]]:
    """The cell with its IPython syntax masked, and the (0-based) indexes of the masked lines.
    A cell that is already valid Python is left alone."""
    try:
        ast.parse(source)
        return source, []
    except (SyntaxError, ValueError):
        pass
    lines = split_lines(source)
    masked: List[int] = []
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        whole_cell = first[2:].split()[0] if first[2:].split() else ""
        indexes = [0] if whole_cell in PYTHON_CELL_MAGICS else range(len(lines))
        for index in indexes:  # at column 0: a shell script's indentation must not count
            lines[index] = _mask(lines[index], 0)
            masked.append(index)
        return "".join(lines), masked
    for index, line in enumerate(lines):
        assigned = _ASSIGNED_MAGIC.match(line)
        if assigned:
            lines[index] = _mask(line, len(assigned.group(1)))
        elif _LINE_MAGIC.match(line) or ("?" in line and _HELP.match(line.rstrip("\r\n"))):
            lines[index] = _mask(line, _first_character(line))
        else:
            continue
        masked.append(index)
    return "".join(lines), masked


def _first_character(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _mask(line: str, at: int) -> str:
    """`0#` over the two characters at ``at``: a statement `0` and a comment, nothing moves."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    if at >= len(body):
        return line
    return body[:at] + ("0#" + body[at + 2 :] if len(body) - at >= 2 else "0") + ending


def _terminated(text: str) -> str:
    return text if text.endswith(("\n", "\r")) or not text else text + "\n"


def _newline_of(text: str) -> str:
    return "\r\n" if text.endswith("\r\n") else text[-1]


def _dump_like(data: Dict[str, Any], original: str) -> str:
    """JSON in the original's layout: nbformat's (indent 1, UTF-8 kept) unless the file says otherwise."""
    indent = _indent_of(original)
    trailing = "\n" if original.endswith("\n") else ""
    try:
        parsed = json.loads(original)
    except ValueError:
        parsed = None
    for ensure_ascii in (False, True):
        if parsed is not None and json.dumps(parsed, indent=indent, ensure_ascii=ensure_ascii) + trailing == original:
            return json.dumps(data, indent=indent, ensure_ascii=ensure_ascii) + trailing
    return json.dumps(data, indent=indent, ensure_ascii=False) + trailing


def _indent_of(text: str) -> Optional[int]:
    match = re.search(r"\n( +)\"", text)
    return len(match.group(1)) if match else None


def cell_diff(display: str, changed: Sequence[Tuple[int, str, str]]) -> str:
    from .fixer import unified_diff

    return "".join(unified_diff(before, after, display, f":cell {number}") for number, before, after in changed)
