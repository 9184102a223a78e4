"""Drawing ``Curve``s: a plain-text plot for the terminal, a CSV that round-trips, and PNG or SVG
images through matplotlib (imported only when an image is written)."""

from __future__ import annotations

import csv
import io
import math
import os
import textwrap
from typing import IO, Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..atomic import write_atomically
from .errors import PreviewError
from .plan import CSV_COLUMNS, Curve

__all__ = ["KINDS", "read_csv", "text_plot", "write_csv", "write_image"]

KINDS = ("actual", "intended", "recorded")
_MARKERS = {"actual": "*", "intended": "o", "recorded": "+"}
_SPARE_MARKERS = "x%@=~&$"  # for a second curve of the same kind
_OVERLAP = "#"
_LINESTYLES = {"actual": "-", "intended": "--", "recorded": ":"}
_NOTE_INCHES = 0.2
_IMAGE_POINTS = 4_000  # per line in an image; longer curves keep each stretch's lowest and highest value


# --- text --------------------------------------------------------------------------------


def text_plot(curves: Sequence[Curve], width: int = 72, height: int = 16) -> str:
    """A plot of group 0 of each curve in plain ASCII, no line wider than ``width``: ``height`` rows
    of plot, the x axis (optimizer steps) with each epoch's start marked, and a legend."""
    if width < 30 or height < 3:
        raise ValueError("a text plot needs a width of at least 30 and a height of at least 3")
    if not curves:
        return "(no curves to plot)"
    markers = _assign_markers(curves)
    series = [_group_zero(curve) for curve in curves]
    steps = max(len(values) for values in series)
    finite = [value for values in series for value in values if math.isfinite(value)]
    lines: List[str] = []
    overlap = False
    if steps == 0 or not finite:
        lines.append("(no optimizer steps to plot)")
    else:
        low, high = min(finite), max(finite)
        labels = _row_labels(low, high, height)
        margin = max(len(label) for label in labels.values())
        plot_width = width - margin - 2
        grid = _grid(series, steps, plot_width, height, low, high)
        for row in range(height - 1, -1, -1):
            cells = "".join(_cell(grid[row][column], markers) for column in range(plot_width))
            overlap = overlap or _OVERLAP in cells
            lines.append(f"{labels.get(row, ''):>{margin}} |{cells}".rstrip())
        lines.extend(_x_axis(curves, steps, plot_width, margin))
    for curve, marker in zip(curves, markers):
        lines.extend(_legend(curve, marker, width))
    if overlap:
        lines.append(f"  {_OVERLAP} where curves overlap")
    return "\n".join(lines)


def _assign_markers(curves: Sequence[Curve]) -> List[str]:
    used: Set[str] = set()
    markers = []
    for curve in curves:
        marker = _MARKERS.get(curve.kind, "")
        if not marker or marker in used:
            marker = next((m for m in _SPARE_MARKERS if m not in used), "?")
        used.add(marker)
        markers.append(marker)
    return markers


def _group_zero(curve: Curve) -> List[float]:
    return [float(lrs[0]) if lrs else math.nan for lrs in curve.lrs]


def _grid(
    series: Sequence[Sequence[float]], steps: int, width: int, height: int, low: float, high: float
) -> List[List[Set[int]]]:
    """Which curves mark each cell. A column covering several steps marks every row from the
    lowest to the highest of them, so a fast cycle shows as a band rather than as one sample."""
    grid: List[List[Set[int]]] = [[set() for _ in range(width)] for _ in range(height)]

    def row_of(value: float) -> int:
        if high == low:
            return height // 2
        return round((value - low) / (high - low) * (height - 1))

    for index, values in enumerate(series):
        for column in range(width):
            start, end = -(-column * steps // width), -(-(column + 1) * steps // width)
            # Fewer steps than columns: a column shows the step whose span covers it.
            covering = column * steps // width
            chosen = values[start:end] if end > start else values[covering : covering + 1]
            finite = [value for value in chosen if math.isfinite(value)]
            if not finite:
                continue
            for row in range(row_of(min(finite)), row_of(max(finite)) + 1):
                grid[row][column].add(index)
    return grid


def _cell(marks: Set[int], markers: Sequence[str]) -> str:
    if not marks:
        return " "
    return markers[next(iter(marks))] if len(marks) == 1 else _OVERLAP


def _row_labels(low: float, high: float, height: int) -> Dict[int, str]:
    """Labels for the top, middle and bottom rows, with just enough digits to tell them apart."""
    if high == low:
        return {height // 2: _format_number(low, 6)}
    rows = {height - 1: high, 0: low}
    if height >= 5:
        middle = (height - 1) // 2
        rows[middle] = low + (high - low) * middle / (height - 1)
    for digits in range(2, 12):
        labels = {row: _format_number(value, digits) for row, value in rows.items()}
        if len(set(labels.values())) == len(labels):
            return labels
    return labels


def _format_number(value: float, digits: int) -> str:
    """``0.05``, ``1e-04``, ``3.2e+05``: short, and readable as a learning rate."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.{digits}g}"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{exponent}"


def _x_axis(curves: Sequence[Curve], steps: int, width: int, margin: int) -> List[str]:
    """The axis line with a tick at each labelled epoch's first step, the epoch labels, and the
    optimizer-step range."""
    starts = _epoch_starts(curves)
    axis = ["-"] * width
    labels = [" "] * width
    for epoch, step in _thinned([(epoch, step * width // steps) for epoch, step in starts], width):
        axis[step] = "+"
        text = f"e{epoch}"
        labels[step : step + len(text)] = text
    pad = " " * (margin + 2)
    lines = [" " * margin + " +" + "".join(axis)]
    if starts:
        lines.append((pad + "".join(labels)).rstrip())
    lines.append((pad + _step_range(steps, width)).rstrip())
    return lines


def _epoch_starts(curves: Sequence[Curve]) -> List[Tuple[int, int]]:
    """(epoch, first optimizer step) for each epoch of the longest curve that knows its epochs."""
    known = [curve for curve in curves if any(epoch is not None for epoch in curve.epochs)]
    if not known:
        return []
    reference = max(known, key=lambda curve: len(curve.epochs))
    starts = []
    previous: Optional[int] = None
    for step, epoch in enumerate(reference.epochs):
        if epoch is not None and epoch != previous:
            starts.append((epoch, step))
        previous = epoch
    return starts


def _thinned(ticks: Sequence[Tuple[int, int]], width: int) -> List[Tuple[int, int]]:
    """Every epoch, or every 2nd, 5th, 10th, ... so that no two labels touch."""
    stride = 1
    while True:
        chosen = [(epoch, column) for epoch, column in ticks if epoch % stride == 0]
        fits = all(later[1] - earlier[1] > len(f"e{earlier[0]}") for earlier, later in zip(chosen, chosen[1:])) and all(
            column + len(f"e{epoch}") <= width for epoch, column in chosen[-1:]
        )
        if fits or not chosen:
            return chosen
        stride = _next_stride(stride)


def _next_stride(stride: int) -> int:
    digits = 10 ** (len(str(stride)) - 1)
    lead = stride // digits
    return {1: 2, 2: 5, 5: 10}.get(lead, 10) * digits


def _step_range(steps: int, width: int) -> str:
    last = str(steps - 1)
    middle = "optimizer step"
    if steps == 1 or width < len(last) + len(middle) + 4:
        return "0" if steps == 1 else f"0{last:>{width - 1}}"
    gap = width - 1 - len(last) - len(middle)
    return "0" + " " * (gap // 2) + middle + " " * (gap - gap // 2) + last


def _legend(curve: Curve, marker: str, width: int) -> List[str]:
    text = f"{marker} {curve.kind}: {curve.title or curve.scheduler}"
    groups = len(curve.lrs[0]) if curve.lrs else 0
    if groups > 1:
        text += f" (group 0 of {groups} shown)"
    if curve.stopped:
        text += f"; stopped after {len(curve.lrs)} optimizer steps: {curve.stopped}"
    elif not curve.lrs:
        text += "; no optimizer steps"
    if curve.reason:
        text += f"; {curve.reason}"
    return textwrap.wrap(text, width=width, initial_indent="  ", subsequent_indent="      ") or [""]


# --- CSV ---------------------------------------------------------------------------------


def write_csv(curves: Iterable[Curve], stream: IO[str]) -> None:
    """One row per optimizer step and param group, under the ``CSV_COLUMNS`` header; learning rates
    at full precision, so ``read_csv`` gives the same numbers back."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for curve in curves:
        for update, (lrs, epoch) in enumerate(zip(curve.lrs, curve.epochs)):
            for group, lr in enumerate(lrs):
                writer.writerow(
                    [curve.kind, curve.scheduler, update, "" if epoch is None else epoch, group, repr(float(lr))]
                )


def read_csv(stream: IO[str]) -> List[Curve]:
    """The curves of a CSV that ``write_csv`` or the runtime trace wrote. Rows of different curves
    may interleave (a trace of two optimizers); a curve's rows restarting at update 0 begin another
    curve. A file that is not such a CSV raises ``ValueError`` with a one-line message naming the line."""
    reader = csv.reader(stream)
    started: List[_CurveBuilder] = []  # in the order of their first rows
    current: Dict[Tuple[str, str], _CurveBuilder] = {}  # the curve each (curve, scheduler) row adds to
    try:
        _read_header(reader)
        for row in reader:
            if not row:
                continue  # a blank line
            line = reader.line_num
            kind, scheduler, update, epoch, group, lr = _parse_row(row, line)
            builder = current.get((kind, scheduler))
            if builder is None or builder.restarts(update, group):
                if builder is not None:
                    builder.check_groups(line)
                builder = current[(kind, scheduler)] = _CurveBuilder(kind, scheduler)
                started.append(builder)
            builder.add(update, epoch, group, lr, line)
    except csv.Error as error:
        raise ValueError(f"line {reader.line_num}: {error}") from None
    for builder in started:
        builder.check_groups(reader.line_num + 1)
    return [builder.curve() for builder in started]


def _read_header(reader: Any) -> None:
    expected = ",".join(CSV_COLUMNS)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"line 1: the file is empty; expected the header {expected}") from None
    found = [field.strip() for field in header]
    if found:
        found[0] = found[0].lstrip("\ufeff")  # a byte-order mark from a spreadsheet
    if tuple(found) != CSV_COLUMNS:
        raise ValueError(f"line {reader.line_num}: expected the header {expected}, found {','.join(header)[:80]}")


def _parse_row(row: Sequence[str], line: int) -> Tuple[str, str, int, Optional[int], int, float]:
    if len(row) != len(CSV_COLUMNS):
        raise ValueError(f"line {line}: expected {len(CSV_COLUMNS)} fields ({','.join(CSV_COLUMNS)}), found {len(row)}")
    kind, scheduler, update, epoch, group, lr = (field.strip() for field in row)
    if kind not in KINDS:
        raise ValueError(f"line {line}: the curve is {kind!r}; expected one of {', '.join(KINDS)}")
    try:
        rate = float(lr)
    except ValueError:
        raise ValueError(f"line {line}: the lr {lr!r} is not a number") from None
    return (
        kind,
        scheduler,
        _count(update, "update", line),
        None if epoch == "" else _count(epoch, "epoch", line),
        _count(group, "group", line),
        rate,
    )


def _count(text: str, column: str, line: int) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"line {line}: the {column} {text!r} is not a whole number of at least 0")
    return int(text)


class _CurveBuilder:
    """Collects one curve's rows: updates 0, 1, 2, ... in order, each with groups 0, 1, ... in order."""

    def __init__(self, kind: str, scheduler: str) -> None:
        self.kind, self.scheduler = kind, scheduler
        self.lrs: List[List[float]] = []
        self.epochs: List[Optional[int]] = []

    def restarts(self, update: int, group: int) -> bool:
        """Whether a row of this curve's kind and scheduler begins another curve: update 0 again."""
        return update == 0 and group == 0 and bool(self.lrs)

    def add(self, update: int, epoch: Optional[int], group: int, lr: float, line: int) -> None:
        if group == 0 and update == len(self.lrs):
            self.check_groups(line)
            self.lrs.append([lr])
            self.epochs.append(epoch)
            return
        if self.lrs and update == len(self.lrs) - 1 and group == len(self.lrs[-1]):
            if epoch != self.epochs[-1]:
                raise ValueError(f"line {line}: update {update} has epoch {epoch} here and {self.epochs[-1]} before")
            self.lrs[-1].append(lr)
            return
        expected_update, expected_group = (len(self.lrs), 0) if not self.lrs else (len(self.lrs) - 1, len(self.lrs[-1]))
        raise ValueError(
            f"line {line}: expected update {expected_update} group {expected_group} (or the next update's group 0)"
            f" of the {self.kind} curve of {self.scheduler!r}, found update {update} group {group}"
        )

    def check_groups(self, line: int) -> None:
        """Every update has as many groups as the first; checked when the last update is complete."""
        if len(self.lrs) >= 2 and len(self.lrs[-1]) != len(self.lrs[0]):
            raise ValueError(
                f"line {line}: update {len(self.lrs) - 1} has {len(self.lrs[-1])} groups, update 0 has {len(self.lrs[0])}"
            )

    def curve(self) -> Curve:
        return Curve(
            kind=self.kind,
            scheduler=self.scheduler,
            lrs=tuple(tuple(lrs) for lrs in self.lrs),
            epochs=tuple(self.epochs),
        )


# --- images ------------------------------------------------------------------------------


def write_image(curves: Sequence[Curve], path: str, *, title: Optional[str] = None) -> None:
    """A PNG or SVG (by ``path``'s suffix) of every curve and param group: the actual curve solid,
    the intended dashed, a recorded trace dotted, epoch starts as light vertical lines labelled on a
    top axis, and a note on curves that stopped. Written atomically; no window is ever opened."""
    image_format = os.path.splitext(path)[1].lower().lstrip(".")
    if image_format not in ("png", "svg"):
        raise PreviewError(f"an image is a .png or an .svg file, not {os.path.basename(path)!r}")
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PreviewError("PNG and SVG need matplotlib: pip install 'lrlint[preview]'") from None

    notes = _notes(curves)
    height = 5.0 + _NOTE_INCHES * len(notes)  # inches; each note gets a line below the plot
    # Text stays text in an SVG (searchable, smaller); the hash salt keeps the file reproducible.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "lrlint"}):
        figure = Figure(figsize=(9, height), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        _draw(axes, curves)
        figure.suptitle(title or _default_title(curves))
        for index, note in enumerate(notes):
            bottom = 0.1 + _NOTE_INCHES * (len(notes) - 1 - index)
            figure.text(0.01, bottom / height, note, fontsize=8)
        figure.subplots_adjust(top=1 - 0.95 / height, bottom=(0.65 + _NOTE_INCHES * len(notes)) / height)
        buffer = io.BytesIO()
        metadata = {"Date": None} if image_format == "svg" else {}
        figure.savefig(buffer, format=image_format, metadata=metadata)
    write_atomically(path, buffer.getvalue())


def _draw(axes: Any, curves: Sequence[Curve]) -> None:
    plotted = False
    for curve, colour in zip(curves, _colours(curves)):
        groups = len(curve.lrs[0]) if curve.lrs else 0
        for group in range(groups):
            values = [float(lrs[group]) if math.isfinite(lrs[group]) else math.nan for lrs in curve.lrs]
            xs, ys = _decimated(values)
            label = f"{curve.kind}: {curve.title or curve.scheduler}" + (f" (group {group})" if groups > 1 else "")
            axes.plot(
                xs,
                ys,
                linestyle=_LINESTYLES.get(curve.kind, "-."),
                color=colour,
                linewidth=1.8 if group == 0 else 1.0,
                alpha=1.0 if group == 0 else 0.6,
                marker="." if len(values) <= 60 else None,
                label=label,
            )
            plotted = True
            if curve.stopped and xs:
                axes.plot([xs[-1]], [ys[-1]], marker="x", markersize=9, color=colour)
    _epoch_axis(axes, curves)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("learning rate")
    axes.grid(True, axis="y", color="0.92")
    if plotted:
        axes.legend(fontsize="small", loc="best")
    else:
        axes.text(0.5, 0.5, "no optimizer steps", transform=axes.transAxes, ha="center", va="center")


def _colours(curves: Sequence[Curve]) -> List[str]:
    """A colour per kind when the curves are of one scheduler; else one colour per scheduler,
    shared by its actual and intended curves (same title) and by a recorded trace of it (same
    label; a trace has no title), the line style telling the kinds apart."""
    palette = [f"C{index}" for index in range(10)]
    if len({(curve.scheduler, curve.title) for curve in curves if curve.kind != "recorded"}) <= 1:
        # One scheduler: a colour per kind, so that actual and intended differ in more than the dashes.
        kinds = {"actual": "C0", "intended": "C1", "recorded": "C2"}
        return [kinds.get(curve.kind, "C3") for curve in curves]
    by_key: Dict[Tuple[str, str], str] = {}
    for curve in curves:
        if curve.kind != "recorded":
            by_key.setdefault((curve.scheduler, curve.title), palette[len(by_key) % len(palette)])
    colours = []
    for curve in curves:
        key = (curve.scheduler, curve.title)
        if key not in by_key:
            same_label = [colour for (label, _), colour in by_key.items() if label == curve.scheduler]
            by_key[key] = same_label[0] if same_label else palette[len(by_key) % len(palette)]
        colours.append(by_key[key])
    return colours


def _decimated(values: Sequence[float]) -> Tuple[List[float], List[float]]:
    """At most ``_IMAGE_POINTS`` points: each stretch of a long curve keeps its lowest and highest
    value, in order, so cycles and drops survive."""
    if len(values) <= _IMAGE_POINTS:
        return [float(index) for index in range(len(values))], list(values)
    stretch = -(-len(values) // (_IMAGE_POINTS // 2))
    xs: List[float] = []
    ys: List[float] = []
    for start in range(0, len(values), stretch):
        indices = [i for i in range(start, min(start + stretch, len(values))) if not math.isnan(values[i])]
        if not indices:
            continue
        lowest = min(indices, key=values.__getitem__)
        highest = max(indices, key=values.__getitem__)
        for index in sorted({lowest, highest}):
            xs.append(float(index))
            ys.append(values[index])
    return xs, ys


def _epoch_axis(axes: Any, curves: Sequence[Curve]) -> None:
    """Light vertical lines where epochs start (every one, unless there are hundreds), and the epochs
    on a top axis, thinned to about a dozen labels."""
    starts = _epoch_starts(curves)
    if not starts:
        return
    stride = 1
    while sum(1 for epoch, _ in starts if epoch % stride == 0) > 12:
        stride = _next_stride(stride)
    labelled = [(epoch, step) for epoch, step in starts if epoch % stride == 0]
    for _, step in (starts if len(starts) <= 200 else labelled)[1:]:
        axes.axvline(step - 0.5, color="0.85", linewidth=0.8, zorder=0)
    top = axes.secondary_xaxis("top")
    top.set_xticks([step - 0.5 for _, step in labelled], labels=[str(epoch) for epoch, _ in labelled])
    top.set_xlabel("epoch")


def _default_title(curves: Sequence[Curve]) -> str:
    titles = list(dict.fromkeys(curve.title or curve.scheduler for curve in curves))
    return titles[0] if len(titles) == 1 else "learning rate per optimizer step"


def _notes(curves: Sequence[Curve]) -> List[str]:
    notes = []
    for curve in curves:
        name = f"{curve.kind}: {curve.title or curve.scheduler}"
        if curve.stopped:
            notes.append(f"{name} stopped after {len(curve.lrs)} optimizer steps: {curve.stopped}")
        if curve.reason:
            notes.append(f"{name}: {curve.reason}")
    return [line for note in notes for line in textwrap.wrap(note, width=140, subsequent_indent="    ")]
