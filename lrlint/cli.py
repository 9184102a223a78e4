"""The ``lrlint`` command: parse options, run the checks, print, choose the exit status.

Exit status, as ruff: 0 no findings; 1 findings; 2 usage error, bad config, missing path or an
internal error on some file. ``--exit-zero`` turns 1 into 0, never 2.
Findings go to stdout (or ``-o FILE``); everything else (summary, warnings, errors) to stderr.
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    ContextManager,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    TextIO,
    Tuple,
)

import click

from . import __version__
from .atomic import ChangedOnDisk, write_atomically
from .batch import DEFAULT_TIMEOUT, Job, available_cores, check_files, fewer_collections
from .cache import CACHE_DIR_NAME, ResultCache, stamp_of
from .catalogue import RULES, lookup
from .config import OUTPUT_FORMATS, ConfigError, ConfigResolver, Settings, load_settings
from .diagnostics import Diagnostic, FileResult
from .files import SourceFile, discover
from .fixes import SAFE
from .output import render
from .selection import Layer, UnknownSelector, resolve, split_selectors, validate

if TYPE_CHECKING:
    from .fixer import FileFix

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class Options:
    paths: Tuple[str, ...] = ()
    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    output_format: Optional[str] = None
    output_file: Optional[str] = None
    statistics: bool = False
    explain: Optional[str] = None
    exit_zero: bool = False
    config_file: Optional[str] = None
    isolated: bool = False
    force_exclude: bool = False
    quiet: bool = False
    fix: bool = False
    diff: bool = False
    no_cache: bool = False
    cache_dir: Optional[str] = None
    timeout: Optional[float] = None


def _selectors(ctx: click.Context, param: click.Parameter, values: Tuple[str, ...]) -> Optional[Tuple[str, ...]]:
    """Comma-separated, repeatable; validated here so that a typo is a usage error (exit 2)."""
    if not values:
        return None
    items = split_selectors(values)
    try:
        validate(items)
    except UnknownSelector as error:
        raise click.BadParameter(str(error)) from None
    return items


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--select",
    multiple=True,
    callback=_selectors,
    metavar="CODES",
    help="Rules to enable: codes, prefixes (LR00), names or ALL. Replaces the config's.",
)
@click.option(
    "--extend-select",
    multiple=True,
    callback=_selectors,
    metavar="CODES",
    help="Rules to enable in addition to those selected.",
)
@click.option(
    "--ignore",
    multiple=True,
    callback=_selectors,
    metavar="CODES",
    help="Rules to disable, on top of the config's ignore list.",
)
@click.option(
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    envvar="LRLINT_OUTPUT_FORMAT",
    show_envvar=True,
    help="How to print findings (default: concise).",
)
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write findings to FILE, not stdout.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule instead of the findings.")
@click.option("--explain", metavar="CODE", help="Explain a rule (code or name) and exit.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings (errors still exit 2).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="A pyproject.toml or lrlint.toml to read instead of searching for one.",
)
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option("--force-exclude", is_flag=True, help="Apply exclusions to paths named on the command line too.")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only: no summary, no warnings.")
@click.option("--fix", is_flag=True, help="Apply the safe fixes (LR001, LR006, LR010, LR011) to the files.")
@click.option("--diff", is_flag=True, help="Print the safe fixes as a unified diff instead of applying them.")
@click.option("--no-cache", is_flag=True, help="Check every file anew, without reading or writing the cache.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    envvar="LRLINT_CACHE_DIR",
    help=f"Where to keep the cache [default: {CACHE_DIR_NAME} in the project root].",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help=f"Stop checking a file after SECONDS of CPU time and report it as LR000; 0 for no limit "
    f"[default: {DEFAULT_TIMEOUT:g}].",
)
@click.version_option(__version__, "--version", prog_name="lrlint", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, **options: object) -> None:
    """Catch misuse of PyTorch learning-rate schedulers. PATHS default to the current folder.

    `lrlint preview SCRIPT` shows the learning rate SCRIPT will train with (`lrlint preview --help`)."""
    if options["isolated"] and options["config_file"]:
        raise click.UsageError("--config cannot be used with --isolated")
    for name in ("extend_select", "ignore"):  # None (not given) means nothing to add
        options[name] = options[name] or ()
    try:
        status = run(Options(**options))  # type: ignore[arg-type]
    except click.ClickException:
        raise
    except Exception as error:  # an lrlint bug: one line, exit 2, never a traceback
        _error(f"internal error: {type(error).__name__}: {error}")
        status = EXIT_ERROR
    ctx.exit(status)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The console script: returns the exit status (``sys.exit(main())``). ``lrlint preview ...``
    is the preview's command line; a folder named ``preview`` is checked as ``lrlint ./preview``."""
    arguments = list(argv) if argv is not None else sys.argv[1:]
    if arguments[:1] == ["preview"]:
        from .preview.command import main as preview

        return preview(arguments[1:])
    try:
        with fewer_collections():
            status = cli.main(args=list(argv) if argv is not None else None, prog_name="lrlint", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 130
    return status if isinstance(status, int) else EXIT_CLEAN


def run(options: Options) -> int:
    if options.explain is not None:
        return explain(options.explain, options.output_format, options.output_file)
    try:
        settings = load_settings(options.config_file, options.isolated)
    except ConfigError as error:
        _error(str(error))
        return EXIT_ERROR
    output_format = options.output_format or settings.output_format or "concise"
    resolver = ConfigResolver(settings, hierarchical=not (options.config_file or options.isolated))
    per_file = PerFileSettings(resolver, Layer(options.select, options.extend_select, options.ignore), options.timeout)

    found = discover(options.paths, settings, options.force_exclude, resolver)
    for message in found.errors:
        _error(message)
    if not options.quiet:
        for message in found.skipped:
            _warning(message)
    # Under --force-exclude (pre-commit) an all-excluded batch is normal, not worth a warning.
    if not found.files and not found.errors and not options.quiet and not options.force_exclude:
        click.echo("lrlint: warning: No Python files found under the given path(s)", err=True)
    cache = None if options.no_cache else ResultCache(Path(options.cache_dir or settings.root / CACHE_DIR_NAME))
    with _progress(_check(found.files, per_file, cache), len(found.files), options.quiet) as checking:
        results = list(checking)
    if cache is not None:
        cache.save()
    for result in results:
        if result.error:
            _error(result.error)
    fixes: List[FileFix] = []
    fix_failed = False
    if options.fix or options.diff:
        sources = {source.display: source for source in found.files}
        results, fixes, fix_failed = _fix(results, sources, per_file, write=not options.diff)
    # A finding in an imported module can come from several importers (and from the module itself).
    unique = {diagnostic.sort_key(): diagnostic for result in results for diagnostic in result.diagnostics}
    diagnostics = [unique[key] for key in sorted(unique)]

    if options.diff:
        text = "".join(fix.diff for fix in fixes)
    elif options.statistics:
        text = statistics(diagnostics, output_format)
    else:
        text = render(output_format, diagnostics)
    if not _write(text, options.output_file):
        return EXIT_ERROR
    if not options.quiet and found.files:
        _summary(diagnostics, results, fixes, options)
    if options.diff:
        failed = fix_failed or bool(found.errors) or any(result.error for result in results)
        return EXIT_ERROR if failed else (EXIT_FINDINGS if text and not options.exit_zero else EXIT_CLEAN)
    status = _status(diagnostics, results, found.errors, options.exit_zero)
    return EXIT_ERROR if fix_failed else status


PROGRESS_MIN_FILES = 50


def wants_progress(count: int, quiet: bool, stream: TextIO, environ: Mapping[str, str]) -> bool:
    """A progress bar for a long run in a terminal; never when piped, quiet or in CI."""
    interactive = hasattr(stream, "isatty") and stream.isatty()
    return (
        interactive
        and not quiet
        and count >= PROGRESS_MIN_FILES
        and not environ.get("CI")
        and environ.get("TERM") != "dumb"
    )


def _progress(results: Iterator[FileResult], count: int, quiet: bool) -> ContextManager[Iterable[FileResult]]:
    stream = sys.stderr
    if not wants_progress(count, quiet, stream, os.environ):
        return nullcontext(results)
    return click.progressbar(results, length=count, label="Checking", file=stream, show_pos=True, width=30)


class PerFileSettings:
    """The rules, declared schedulers and time limit for each file, from the config that governs it."""

    def __init__(self, resolver: ConfigResolver, command_line: Layer, timeout: Optional[float] = None) -> None:
        self.resolver = resolver
        self.command_line = command_line
        self.command_line_timeout = timeout
        self._codes: Dict[int, frozenset] = {}
        # Settings are per folder and files come a folder at a time: one resolve per folder.
        self._by_folder: Dict[str, Tuple[Settings, frozenset, float]] = {}

    def for_file(self, path: str) -> Tuple[frozenset, Mapping[str, Tuple[str, ...]], float]:
        """The codes, declared schedulers and timeout of a file (not a folder): ``ConfigError``
        when its config is broken."""
        settings, codes, timeout = self._folder_of(path)
        if settings.per_file_ignores:
            codes = codes - settings.ignored_codes_for(path)
        return codes, settings.custom_schedulers, timeout

    def codes(self, path: str) -> frozenset:
        return self.for_file(path)[0]

    def schedulers(self, path: str) -> Mapping[str, Tuple[str, ...]]:
        return self._folder_of(path)[0].custom_schedulers

    def timeout(self, path: str) -> float:
        """Seconds of CPU time for the file: the command line's, else its config's, else the default."""
        if self.command_line_timeout is not None:
            return self.command_line_timeout
        return self._folder_of(path)[2]

    def _folder_of(self, path: str) -> Tuple[Settings, frozenset, float]:
        folder = os.path.dirname(path)  # discovery's paths are absolute and normalized, as the resolver wants
        known = self._by_folder.get(folder)
        if known is None:  # a broken config is not kept: the resolver raises its error again, cheaply
            settings = self.resolver.for_folder(folder)
            known = self._by_folder[folder] = (settings, self._codes_of(settings), self._timeout_of(settings))
        return known

    def _codes_of(self, settings: Settings) -> frozenset:
        if id(settings) not in self._codes:
            self._codes[id(settings)] = resolve([settings.layer, self.command_line])
        return self._codes[id(settings)]

    def _timeout_of(self, settings: Settings) -> float:
        if self.command_line_timeout is not None:
            return self.command_line_timeout
        return DEFAULT_TIMEOUT if settings.timeout is None else settings.timeout


def _check(files: List[SourceFile], per_file: PerFileSettings, cache: Optional[ResultCache]) -> Iterator[FileResult]:
    """Every file's result in order; a file under a broken nested config is that config's error."""
    jobs: List[Job] = []
    broken: Dict[int, FileResult] = {}
    for index, source in enumerate(files):
        try:
            codes, schedulers, timeout = per_file.for_file(source.path)
        except ConfigError as error:  # a broken config file below the working directory
            broken[index] = FileResult(source.display, (), str(error))
            continue
        size = source.status.st_size if source.status is not None else 0
        jobs.append(Job(source.path, source.display, codes, schedulers, timeout, size))
    if cache is not None:  # discovery stat'ed every file: the cache need not stat them again
        cache.remember_stamps({source.path: stamp_of(source.status) for source in files if source.status is not None})
    checked = check_files(jobs, cache, workers=available_cores())
    for index in range(len(files)):
        yield broken[index] if index in broken else next(checked)


def _fix(
    results: List[FileResult], sources: Dict[str, SourceFile], per_file: PerFileSettings, write: bool
) -> Tuple[List[FileResult], List[FileFix], bool]:
    """Fix the files with safe fixes; their findings become what is left after fixing."""
    from .engine import UnreadableSource  # here: a run without --fix needs neither the fixer nor the engine
    from .fixer import fix_file, write_fix
    from .notebook import NotebookError

    fixed_results: List[FileResult] = []
    fixes: List[FileFix] = []
    failed = False
    for result in results:
        source = sources.get(result.path)
        if source is None or not any(_safely_fixable(d) and d.path == result.path for d in result.diagnostics):
            fixed_results.append(result)
            continue
        try:
            fix = fix_file(
                Path(source.path), source.display, per_file.codes(source.path), per_file.schedulers(source.path)
            )
            if write:
                write_fix(Path(source.path), fix)
        except (OSError, UnreadableSource, ChangedOnDisk, NotebookError) as error:
            _error(f"cannot fix {source.display}: {_reason(error)}")
            failed = True
            fixed_results.append(result)
            continue
        fixes.append(fix)
        elsewhere = tuple(d for d in result.diagnostics if d.path != result.path)
        fixed_results.append(
            FileResult(result.path, tuple(fix.remaining) + elsewhere, result.error) if write else result
        )
    return fixed_results, fixes, failed


def _safely_fixable(diagnostic: Diagnostic) -> bool:
    return diagnostic.fix is not None and diagnostic.fix.applicability == SAFE


def _reason(error: Exception) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    from .engine import UnreadableSource

    if isinstance(error, UnreadableSource):
        return error.reason
    return str(error)


def _status(diagnostics: List[Diagnostic], results: List[FileResult], path_errors: List[str], exit_zero: bool) -> int:
    if path_errors or any(result.error for result in results):
        return EXIT_ERROR
    if diagnostics and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _summary(diagnostics: List[Diagnostic], results: List[FileResult], fixes: List[FileFix], options: Options) -> None:
    fixed = sum(fix.total for fix in fixes)
    if options.diff:
        click.echo(f"Would fix {_plural(fixed, 'error')}." if fixed else "No errors would be fixed.", err=True)
        return
    if diagnostics:
        files = len({diagnostic.path for diagnostic in diagnostics})
        found = f"Found {_plural(len(diagnostics) + fixed, 'error')}"
        if options.fix and fixed:
            click.echo(f"{found} ({fixed} fixed, {len(diagnostics)} remaining).", err=True)
        else:
            click.echo(f"{found} in {_plural(files, 'file')}.", err=True)
        fixable = sum(1 for diagnostic in diagnostics if _safely_fixable(diagnostic))
        if fixable and not options.fix:
            click.echo(f"[*] {fixable} fixable with the `--fix` option.", err=True)
    elif fixed:
        click.echo(f"Found {_plural(fixed, 'error')} ({fixed} fixed, 0 remaining).", err=True)
    elif not any(result.error for result in results):
        click.echo("All checks passed!", err=True)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def statistics(diagnostics: Sequence[Diagnostic], output_format: str = "concise") -> str:
    """``count  code  name`` a rule, most frequent first (JSON in the machine formats)."""
    counts: Dict[str, int] = {}
    for diagnostic in diagnostics:
        counts[diagnostic.code] = counts.get(diagnostic.code, 0) + 1
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    objects = [{"code": code, "name": RULES[code].name, "count": count} for code, count in rows]
    import json  # here: most runs never print statistics, and a warm run then loads no JSON

    if output_format in ("json", "sarif", "junit"):  # a machine format gets a JSON document, not a table
        return json.dumps(objects, indent=2) + "\n"
    if output_format == "json-lines":
        return "".join(json.dumps(obj) + "\n" for obj in objects)
    width = max((len(str(count)) for _, count in rows), default=1)
    return "".join(f"{count:>{width}}  {code}  {RULES[code].name}\n" for code, count in rows)


def explain(code: str, output_format: Optional[str], output_file: Optional[str]) -> int:
    import json

    rule = lookup(code)
    if rule is None:
        raise click.BadParameter(f"unknown rule code or name '{code}'", param_hint="'--explain'")
    if output_format in ("json", "json-lines"):
        text = (
            json.dumps(
                {
                    "code": rule.code,
                    "name": rule.name,
                    "severity": rule.severity,
                    "summary": rule.summary,
                    "url": rule.url,
                    "explanation": rule.doc,
                    "fix": rule.fix,
                },
                indent=2,
            )
            + "\n"
        )
    else:
        text = f"# {rule.code} ({rule.name})\n\nSeverity: {rule.severity}\n\n{rule.doc.strip()}\n"
        if rule.fix:
            text += f"\n## Fix\nFix {rule.fix}\n"
    return EXIT_CLEAN if _write(text, output_file) else EXIT_ERROR


def _write(text: str, output_file: Optional[str]) -> bool:
    """To stdout, or atomically to ``output_file``: readers never see a half-written report."""
    if output_file is None:
        if text:
            click.echo(text, nl=False)
        return True
    try:
        write_atomically(output_file, text.encode("utf-8"))
    except OSError as error:
        _error(f"cannot write {output_file}: {error.strerror or error}")
        return False
    return True


def _error(message: str) -> None:
    click.echo(f"lrlint: error: {message}", err=True)


def _warning(message: str) -> None:
    click.echo(f"lrlint: warning: {message}", err=True)
