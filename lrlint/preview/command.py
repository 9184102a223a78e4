"""``lrlint preview SCRIPT``: the command line of the preview (options, output, exit status).

Dispatched from ``lrlint``'s main when its first argument is ``preview``; ``lrlint ./preview``
still checks a folder of that name.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import click

from .plan import Curve, Loop, Missing, Options, Preview, SchedulePlan

EXIT_OK, EXIT_ERROR = 0, 2
IMAGE_SUFFIXES = (".png", ".svg")


def _parse_metrics(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Tuple[float, ...]:
    if not value:
        return ()
    try:
        return tuple(float(item) for item in value.replace(" ", "").split(",") if item)
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {value!r}") from None


def _parse_settings(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> Tuple[Tuple[str, object], ...]:
    settings = []
    for item in values:
        text, equals, given = item.rpartition("=")
        if not equals or not text.strip():
            raise click.BadParameter(f"expected EXPRESSION=NUMBER, got {item!r}")
        try:
            numbers = tuple(_number(part) for part in given.split(","))
        except ValueError:
            raise click.BadParameter(f"{given!r} is not a number or a list of numbers (in {item!r})") from None
        settings.append((text.strip(), numbers if "," in given else numbers[0]))
    return tuple(settings)


def _number(text: str) -> object:
    """`30` is an int (torch wants ints for counts), `0.1` a float."""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


@click.command(name="preview", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("script", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs to replay (default: the script's own count).")
@click.option(
    "--steps-per-epoch",
    type=click.IntRange(min=1),
    help="Batches per epoch, where the script takes them from a loader.",
)
@click.option("--accumulation", type=click.IntRange(min=1), help="Batches per optimizer step (gradient accumulation).")
@click.option("--lr", type=float, help="The optimizer's learning rate, where the script reads it at run time.")
@click.option(
    "--metric",
    "metrics",
    callback=_parse_metrics,
    metavar="V1,V2,...",
    help="The values a ReduceLROnPlateau is stepped with, one per step (the last one repeats).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    callback=_parse_settings,
    metavar="EXPRESSION=NUMBER",
    help="The value of an expression the script computes at run time, as written: --set 'args.warmup=500'"
    " (a list: --set 'args.milestones=30,60').",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=str),
    help="Write lr.csv, lr.png or lr.svg (PNG and SVG need matplotlib) instead of the text plot.",
)
@click.option(
    "--trace",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also draw the learning rates recorded at run time (guard(..., trace=...) or python -m lrlint.run --trace).",
)
@click.option("--width", type=click.IntRange(min=20, max=500), default=72, show_default=True, help="Text plot columns.")
@click.option("--height", type=click.IntRange(min=4, max=200), default=16, show_default=True, help="Text plot rows.")
def preview(
    script: Optional[str],
    epochs: Optional[int],
    steps_per_epoch: Optional[int],
    accumulation: Optional[int],
    lr: Optional[float],
    metrics: Tuple[float, ...],
    settings: Tuple[Tuple[str, object], ...],
    output: Optional[str],
    trace: Optional[str],
    width: int,
    height: int,
) -> None:
    """Show the learning rate SCRIPT will train with: each scheduler it builds, stepped as the script
    steps it, replayed on PyTorch's own scheduler class. Where lrlint reports a finding about a
    scheduler, the curve the script most likely meant is drawn beside it."""
    ctx = click.get_current_context()
    if script is None and trace is None:
        raise click.UsageError("give a SCRIPT to preview, a --trace to draw, or both")
    options = Options(epochs, steps_per_epoch, accumulation, metrics, dict(settings))
    try:
        curves, notes = _curves(script, trace, options, lr)
        if output is not None:
            _write(curves, output)
            click.echo(f"lrlint: wrote {output}", err=True)
        else:
            from .render import text_plot

            click.echo(text_plot(curves, width=width, height=height))
    except _errors() as error:
        click.echo(f"lrlint preview: error: {error}", err=True)
        ctx.exit(EXIT_ERROR)
    except Exception as error:  # an lrlint bug: one line, exit 2, as `lrlint PATH` does
        click.echo(f"lrlint preview: internal error: {type(error).__name__}: {error}", err=True)
        ctx.exit(EXIT_ERROR)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    ctx.exit(EXIT_OK)


def _errors() -> Tuple[type, ...]:
    from .errors import PreviewError

    return (PreviewError, OSError, ValueError)


def _curves(
    script: Optional[str], trace: Optional[str], options: Options, lr: Optional[float]
) -> Tuple[List[Curve], List[str]]:
    curves: List[Curve] = []
    notes: List[str] = []
    if script is not None:
        preview = _read_script(script, options, lr)
        notes.extend(preview.notes)
        replayed, failures = _replayed(preview, options)
        curves.extend(replayed)
        notes.extend(failures)
    if trace is not None:
        curves.extend(_read_trace(trace))
    return curves, notes


def _read_trace(trace: str) -> List[Curve]:
    """The curves of a CSV trace; a problem is an error naming the file."""
    from ..files import read_regular_file
    from .errors import PreviewError
    from .render import read_csv

    try:
        text = read_regular_file(trace).decode("utf-8-sig")
    except OSError as error:
        raise PreviewError(f"{trace}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise PreviewError(f"{trace}: not a UTF-8 CSV file ({error.reason} at byte {error.start})") from None
    try:
        return read_csv(io.StringIO(text, newline=""))
    except ValueError as error:
        raise PreviewError(f"{trace}: {error}") from None


def _replayed(preview: Preview, options: Options) -> Tuple[List[Curve], List[str]]:
    """Each plan's curves; a plan that cannot be replayed becomes a note, unless none can (then its
    error is the answer). An intended curve that cannot be replayed (it needs --metric values for a
    ReduceLROnPlateau stepped without one) is a note beside the actual curve."""
    from .errors import PreviewError
    from .replay import replay

    curves: List[Curve] = []
    notes: List[str] = []
    first_error: Optional[PreviewError] = None
    for plan in preview.plans:
        call = plan.scheduler
        where = f"{call.qualname.rsplit('.', 1)[-1]} ({call.label}, line {call.line})"
        try:
            _check_complete(plan, preview.loop, options, where)
            curves.append(replay(plan, preview.loop, options))
        except PreviewError as error:
            first_error = first_error or error
            notes.append(f"{where}: {error}")
            continue
        if plan.intended is not None:
            try:
                curves.append(replay(plan, preview.loop, options, kind="intended"))
            except PreviewError as error:
                notes.append(f"{where}: no intended curve: {error}")
    if not curves and first_error is not None:
        raise first_error
    return curves, notes


def _check_complete(plan: SchedulePlan, loop: Loop, options: Options, where: str) -> None:
    """Every value the run would know and the script does not say, named at once with the option
    that supplies it, rather than one per attempt."""
    from .errors import PreviewError
    from .static import missing_in

    # a loop size is named as its Options field (as resolve_sizes reads it): given, it is not lacking
    lacking = [
        size for name, size in loop.sizes().items() if isinstance(size, Missing) and getattr(options, name) is None
    ]
    lacking += missing_in(plan)
    if lacking:
        wanted = "; ".join(f"{_shown(missing)}: {_supplied_by(missing)}" for missing in lacking)
        values = "a value" if len(lacking) == 1 else "values"
        raise PreviewError(f"{where}: needs {values} only the run knows: {wanted}")


def _shown(missing: Missing) -> str:
    return missing.text if missing.text.startswith("the ") else f"`{missing.text}`"


def _supplied_by(missing: Missing) -> str:
    if missing.option is not None:
        return f"pass {missing.option} {'VALUE' if missing.option == '--lr' else 'N'}"
    return f"pass --set '{missing.text}=VALUE'"


def _read_script(script: str, options: Options, lr: Optional[float]) -> Preview:
    from ..engine import UnreadableSource, decode_source
    from ..files import read_regular_file
    from .errors import PreviewError
    from .static import fill_in, read_preview

    try:
        source = decode_source(read_regular_file(script))
    except UnreadableSource as error:
        raise PreviewError(f"{script}: {error.reason}") from None
    except OSError as error:
        raise PreviewError(f"{script}: {error.strerror or error}") from None
    found = fill_in(read_preview(source, script, source_file=Path(script)), dict(options.extra), lr)
    if not found.plans:
        why = "; ".join(found.notes) if found.notes else "it builds no learning-rate scheduler lrlint can see"
        raise PreviewError(f"{script}: nothing to preview: {why}")
    return found


def _write(curves: List[Curve], output: str) -> None:
    suffix = Path(output).suffix.lower()
    if suffix == ".csv":
        from ..atomic import write_atomically
        from .render import write_csv

        buffer = io.StringIO(newline="")
        write_csv(curves, buffer)
        write_atomically(output, buffer.getvalue().encode("utf-8"))
    elif suffix in IMAGE_SUFFIXES:
        from .render import write_image

        write_image(curves, output)
    else:
        raise ValueError(f"{output}: unknown output format {suffix or '(none)'}; use .csv, .png or .svg")


def main(argv: Sequence[str]) -> int:
    """``lrlint preview ARGS``; returns the exit status."""
    try:
        status = preview.main(args=list(argv), prog_name="lrlint preview", standalone_mode=False)
    except click.ClickException as error:
        error.show(file=sys.stderr)
        return error.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 130
    return status if isinstance(status, int) else EXIT_OK
