"""The preview's renderers: the text plot, the CSV (written, read back, refused when malformed) and
the PNG and SVG images. The curves are made by hand; no torch needed."""

from __future__ import annotations

import io
import math
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import List, Optional, Sequence

import pytest

from lrlint.preview.errors import PreviewError
from lrlint.preview.plan import CSV_COLUMNS, Curve
from lrlint.preview.render import read_csv, text_plot, write_csv, write_image


def curve(
    rates: Sequence[float],
    steps_per_epoch: Optional[int] = 10,
    kind: str = "actual",
    groups: int = 1,
    stopped: Optional[str] = None,
    reason: str = "",
    title: str = "OneCycleLR (scheduler, line 42)",
) -> Curve:
    epochs = [None if steps_per_epoch is None else step // steps_per_epoch for step in range(len(rates))]
    lrs = tuple(tuple(rate / 10**group for group in range(groups)) for rate in rates)
    return Curve(kind, "scheduler", lrs, tuple(epochs), stopped=stopped, title=title, reason=reason)


def one_cycle(steps: int = 100) -> List[float]:
    """A warm-up to 0.1 over the first 30% and a cosine back down, like OneCycleLR."""
    peak = int(steps * 0.3)
    return [
        0.1 * step / peak if step < peak else 0.05 * (1 + math.cos(math.pi * (step - peak) / (steps - peak)))
        for step in range(steps)
    ]


def plot_rows(text: str, height: int = 16) -> List[str]:
    return text.splitlines()[:height]


# --- the text plot -------------------------------------------------------------------------


def test_a_single_curve() -> None:
    text = text_plot([curve(one_cycle())], width=72, height=16)
    lines = text.splitlines()
    assert all(len(line) <= 72 for line in lines)
    # 16 rows, the axis, the epoch labels, the step range, one legend line
    assert len(lines) == 16 + 3 + 1
    assert lines[0].lstrip().startswith("0.1 |")
    assert lines[15].lstrip().startswith("0 |")
    assert all("|" in line for line in lines[:16])
    assert lines[16].lstrip().startswith("+")
    assert lines[17].split()[:3] == ["e0", "e1", "e2"]
    assert lines[18].split() == ["0", "optimizer", "step", "99"]
    assert lines[19] == "  * actual: OneCycleLR (scheduler, line 42)"
    marked_columns = {column for row in plot_rows(text) for column, char in enumerate(row) if char == "*"}
    assert len(marked_columns) == 72 - len("  0.1 |")  # every column of the plot shows the curve


def test_epoch_ticks_sit_at_each_epochs_first_step() -> None:
    text = text_plot([curve([0.1] * 40, steps_per_epoch=10)], width=50, height=4)
    axis, labels = text.splitlines()[4:6]
    ticks = [column for column, char in enumerate(axis) if char == "+"]
    assert len(ticks) == 5  # the corner and the four epochs
    assert [labels[column : column + 2] for column in ticks[1:]] == ["e0", "e1", "e2", "e3"]


def test_many_epochs_are_thinned() -> None:
    text = text_plot([curve([0.1] * 500, steps_per_epoch=1)], width=72, height=4)
    labels = text.splitlines()[5].split()
    assert labels == [f"e{epoch}" for epoch in range(0, 500, 50)]  # every 50th: e20 would touch e0


def test_a_flat_curve_is_one_row() -> None:
    text = text_plot([curve([0.01] * 30)], width=60, height=9)
    rows = [row for row in plot_rows(text, 9) if "*" in row]
    assert len(rows) == 1 and rows[0].lstrip().startswith("0.01 |")


def test_a_crashed_curve_beside_a_whole_one() -> None:
    crashed = curve([0.1] * 3, stopped="TypeError: step() missing 1 required positional argument: 'metrics'")
    whole = curve([0.1 * 0.5 ** (step // 10) for step in range(30)], kind="intended", reason="pass the metric")
    text = text_plot([crashed, whole], width=72, height=8)
    lines = text.splitlines()
    assert all(len(line) <= 72 for line in lines)
    legend = " ".join(" ".join(lines[11:]).split())  # the legend wraps at the width
    assert "* actual: OneCycleLR (scheduler, line 42); stopped after 3 optimizer steps: TypeError" in legend
    assert "o intended:" in legend and "pass the metric" in legend
    start = lines[0].index("|") + 1
    crashed_columns = {column - start for row in lines[:8] for column, char in enumerate(row) if char in "*#"}
    assert max(crashed_columns) < 66 * 3 // 30 + 1  # only where its three steps are


def test_overlapping_curves_are_marked() -> None:
    rates = one_cycle(50)
    text = text_plot([curve(rates), curve(rates, kind="intended")], width=60, height=10)
    assert "#" in text and "  # where curves overlap" in text
    assert "*" not in "\n".join(plot_rows(text, 10))


def test_a_second_curve_of_a_kind_gets_its_own_marker() -> None:
    text = text_plot([curve([0.1] * 5), curve([0.2] * 5, title="StepLR (other)")], width=40, height=4)
    assert "\n  * actual: OneCycleLR" in text and "\n  x actual: StepLR (other)" in text


def test_an_empty_curve() -> None:
    text = text_plot([curve([])])
    assert text.splitlines() == [
        "(no optimizer steps to plot)",
        "  * actual: OneCycleLR (scheduler, line 42); no optimizer steps",
    ]
    assert text_plot([]) == "(no curves to plot)"


def test_a_recorded_trace_without_epochs() -> None:
    text = text_plot([curve(one_cycle(40), steps_per_epoch=None, kind="recorded", title="")], width=60, height=6)
    lines = text.splitlines()
    assert len(lines) == 6 + 2 + 1  # no epoch labels
    assert "e0" not in text and "+" in "".join(plot_rows(text, 6))
    assert lines[-1] == "  + recorded: scheduler"


def test_a_huge_curve_is_drawn_by_column() -> None:
    cyclic = [0.001 + 0.099 * abs((step % 1000) - 500) / 500 for step in range(200_000)]
    text = text_plot([curve(cyclic, steps_per_epoch=1000)], width=72, height=10)
    lines = text.splitlines()
    assert all(len(line) <= 72 for line in lines)
    # each column covers several cycles: the band fills every row
    assert all(row.count("*") == 72 - len("0.001 |") for row in plot_rows(text, 10))
    assert lines[12].split()[-1] == "199999"


def test_several_groups_are_said_in_the_legend() -> None:
    text = text_plot([curve([0.1, 0.05], groups=3)], width=60, height=4)
    assert "(group 0 of 3 shown)" in " ".join(text.split())


def test_the_y_labels_are_readable() -> None:
    text = text_plot([curve([1e-4, 5e-4, 1e-3])], width=50, height=5)
    labels = [row.split("|")[0].strip() for row in plot_rows(text, 5)]
    assert labels[0] == "0.001" and labels[-1] == "1e-04" and labels[2] == "5.5e-04"
    assert text_plot([curve([0.1, 0.10001])], width=50, height=3).splitlines()[0].lstrip().startswith("0.10001 |")


def test_a_too_small_plot_is_refused() -> None:
    with pytest.raises(ValueError):
        text_plot([curve([0.1])], width=10)


# --- the CSV -------------------------------------------------------------------------------


def test_the_csv_round_trips() -> None:
    awkward = [0.1 + 0.2, 1e-300, 5e-324, 1 / 3, 0.0]
    curves = [
        curve(awkward, steps_per_epoch=2, groups=2),
        curve(one_cycle(20), kind="intended"),
        curve(awkward, steps_per_epoch=None, kind="recorded"),
        curve([0.1, 0.2], kind="actual"),  # a second curve of the same scheduler, back to back
    ]
    stream = io.StringIO()
    write_csv(curves, stream)
    text = stream.getvalue()
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert text.splitlines()[1] == "actual,scheduler,0,0,0,0.30000000000000004"
    assert len(text.splitlines()) == 1 + 5 * 2 + 20 + 5 + 2
    assert ",recorded,scheduler,0,,0," in "," + ",".join(text.splitlines())
    again = read_csv(io.StringIO(text))
    assert [(c.kind, c.scheduler, c.lrs, c.epochs) for c in again] == [
        (c.kind, c.scheduler, c.lrs, c.epochs) for c in curves
    ]


def test_the_csv_tolerates_a_byte_order_mark_and_blank_lines() -> None:
    text = "\ufeff" + ",".join(CSV_COLUMNS) + "\n\nrecorded,sched,0,,0,0.1\nrecorded,sched,1,,0,0.2\n\n"
    (only,) = read_csv(io.StringIO(text))
    assert only.lrs == ((0.1,), (0.2,)) and only.epochs == (None, None) and only.kind == "recorded"


def test_the_csv_reads_interleaved_traces() -> None:
    """A trace of two optimizers (a GAN's) interleaves their rows."""
    rows = ["recorded,StepLR,0,,0,0.1", "recorded,StepLR#2,0,,0,0.2", "recorded,StepLR,1,,0,0.05"]
    rows += ["recorded,StepLR#2,1,,0,0.1", "recorded,StepLR,0,,0,0.3"]  # the last: a second run of StepLR
    first, second, third = read_csv(io.StringIO(",".join(CSV_COLUMNS) + "\n" + "\n".join(rows) + "\n"))
    assert (first.scheduler, first.lrs) == ("StepLR", ((0.1,), (0.05,)))
    assert (second.scheduler, second.lrs) == ("StepLR#2", ((0.2,), (0.1,)))
    assert (third.scheduler, third.lrs) == ("StepLR", ((0.3,),))


HEADER = ",".join(CSV_COLUMNS) + "\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "line 1: the file is empty"),
        ("update,lr\n", "line 1: expected the header curve,scheduler,update,epoch,group,lr"),
        (HEADER + "actual,s,0,0,0\n", "line 2: expected 6 fields"),
        (HEADER + "planned,s,0,0,0,0.1\n", "line 2: the curve is 'planned'"),
        (HEADER + "actual,s,0,0,0,fast\n", "line 2: the lr 'fast' is not a number"),
        (HEADER + "actual,s,x,0,0,0.1\n", "line 2: the update 'x' is not a whole number"),
        (HEADER + "actual,s,-1,0,0,0.1\n", "line 2: the update '-1'"),
        (HEADER + "actual,s,0,one,0,0.1\n", "line 2: the epoch 'one'"),
        (HEADER + "actual,s,1,0,0,0.1\n", "line 2: expected update 0 group 0"),
        (HEADER + "actual,s,0,0,0,0.1\nactual,s,2,0,0,0.1\n", "line 3: expected update 0 group 1"),
        (HEADER + "actual,s,0,0,0,0.1\nactual,s,0,0,2,0.1\n", "line 3: expected update 0 group 1"),
        (HEADER + "actual,s,0,0,0,0.1\nactual,s,0,1,1,0.1\n", "line 3: update 0 has epoch 1 here and 0 before"),
        (
            HEADER + "actual,s,0,0,0,0.1\nactual,s,0,0,1,0.1\nactual,s,1,0,0,0.1\nactual,s,2,0,0,0.1\n",
            "line 5: update 1 has 1 groups, update 0 has 2",
        ),
        (HEADER + "actual,s,0,0,0,0.1\nactual,s,0,0,1,0.1\nactual,s,1,0,0,0.1\n", "line 5: update 1 has 1 groups"),
        (HEADER + 'actual,"s,0,0,0,0.1\n', "line"),
    ],
)
def test_a_malformed_csv_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        read_csv(io.StringIO(text))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


# --- images --------------------------------------------------------------------------------


def example_curves() -> List[Curve]:
    return [
        curve([0.1 * 0.9**step for step in range(15)], stopped="TypeError: step() missing 1 required argument"),
        curve(one_cycle(50), kind="intended", groups=2, reason="OneCycleLR counts optimizer steps"),
        curve(one_cycle(50), steps_per_epoch=None, kind="recorded", title=""),
    ]


def test_a_png_is_written(tmp_path: Path) -> None:
    image = pytest.importorskip("matplotlib.image")
    path = tmp_path / "lr.png"
    path.write_bytes(b"old")  # replaced whole
    write_image(example_curves(), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(str(path))
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr.png"]  # no temporary file left behind


def test_an_svg_is_written_with_its_labels(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "lr.SVG"
    write_image(example_curves(), str(path), title="train.py")
    root = ElementTree.parse(path).getroot()
    texts = {"".join(element.itertext()).strip() for element in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"optimizer step", "learning rate", "epoch", "train.py"} <= texts
    assert any(text.startswith("actual: OneCycleLR (scheduler, line 42) stopped after 15") for text in texts)
    assert any("intended: OneCycleLR (scheduler, line 42) (group 1)" == text for text in texts)
    assert "recorded: scheduler" in texts


def test_images_of_empty_and_huge_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    write_image([curve([])], str(tmp_path / "empty.svg"))
    assert "no optimizer steps" in (tmp_path / "empty.svg").read_text()
    write_image([curve([0.1 * (step % 7) for step in range(100_000)], steps_per_epoch=100)], str(tmp_path / "big.svg"))
    assert (tmp_path / "big.svg").stat().st_size < 2_000_000


def test_an_image_needs_a_known_suffix(tmp_path: Path) -> None:
    with pytest.raises(PreviewError, match=r"\.png or an \.svg"):
        write_image([curve([0.1])], str(tmp_path / "lr.jpg"))


def test_an_image_without_matplotlib_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(PreviewError, match=r"PNG and SVG need matplotlib: pip install 'lrlint\[preview\]'"):
        write_image([curve([0.1])], str(tmp_path / "lr.png"))
    assert not (tmp_path / "lr.png").exists()
