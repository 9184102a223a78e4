"""Fuzzing the checker and the fixer: no exception escapes, every result is valid, fixes parse.

Inputs, each built so that the pre-filter lets it through to the analysis:
- mutated training scripts: a fixture with lines dropped, duplicated, swapped, broken inside
  brackets, re-indented, borrowed from another fixture, its line endings changed, or cut at a line
  or at a byte (half of them drawn from the fixtures of rules that have a fix);
- training loops assembled from scheduler and optimizer statements in random nesting;
- hypothesmith programs (from the grammar and from libcst nodes) behind a scheduler prelude, with
  `scheduler.step()` and `optimizer.step()` lines inserted among their own;
- mutated scripts cut into notebook cells, some opening with IPython syntax.

Invariants: ``lint_source`` raises nothing; every diagnostic has a catalogue code, a position inside
the file (end not before start) and a one-line message; LR000 only when CPython cannot compile the
source, libcst cannot parse it (syntax newer than its grammar) or it nests too deeply; the
fixer's output is the input or parses (with CPython and libcst, and compiles if the input did),
its remaining findings are what re-linting it reports, and fixing it again changes nothing.
The end-to-end test runs the command line over a folder of mutated scripts, as JSON and with
``--fix`` twice: exit 0 or 1, a JSON document, no traceback, every fixed file parses, the second
``--fix`` changes nothing.

Bounded for CI (about 30 s on two cores): a few dozen examples per test, derandomized (the same
inputs on every run), no deadline, no example database. The big campaign, by hand:

    LRLINT_FUZZ_EXAMPLES=1500 pytest tests/test_fuzz.py --hypothesis-show-statistics

runs 1,500 mutated scripts and writes 1,500 for the command-line test, and a fifth of that
(300) of each kind of generated program and of notebooks; the statistics show which findings
and fixes the inputs reached. Add LRLINT_FUZZ_RANDOM=1 for new inputs on every run (Hypothesis
prints the failing example, which can then be pinned with ``@example``).
"""

from __future__ import annotations

import ast
import json
import os
import random
import shutil
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, NamedTuple, Sequence, Tuple, Union

import hypothesmith
import libcst
from conftest import invoke
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from lrlint.catalogue import RULES
from lrlint.diagnostics import Diagnostic
from lrlint.engine import UnreadableSource, decode_source, lint_bytes, lint_notebook, lint_source
from lrlint.fixer import fix_file, fix_source, write_fix
from lrlint.fixes import SAFE, UNSAFE, apply_edits, split_lines
from lrlint.notebook import Notebook, read_notebook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCRIPTS = tuple(path.relative_to(FIXTURES).as_posix() for path in sorted(FIXTURES.glob("*/*.py")))
# Half the scripts are drawn from the findings that have a fix, so that the fixer has work.
FIXABLE = tuple(
    name for name in SCRIPTS if name.split("/")[0] in {c for c, r in RULES.items() if r.fix} and "/bad_" in name
)
PATH = "fuzz.py"
CAMPAIGN = int(os.environ.get("LRLINT_FUZZ_EXAMPLES", "0"))


def examples(default: int, share: float = 1.0) -> int:
    """``default`` in CI; the campaign's count (times ``share``) when LRLINT_FUZZ_EXAMPLES is set."""
    return max(default, int(CAMPAIGN * share)) if CAMPAIGN else default


def fuzz_settings(default: int, share: float = 1.0) -> settings:
    return settings(
        max_examples=examples(default, share),
        deadline=None,  # one example lints and fixes a whole script: seconds on a loaded machine
        derandomize=not os.environ.get("LRLINT_FUZZ_RANDOM"),
        database=None,  # nothing written into the checkout ...
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # ... nor a patch (explain phase)
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


@lru_cache(maxsize=None)
def script(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- mutations of training scripts ---------------------------------------------------------


class Mutation(NamedTuple):
    """One edit of a script's lines; ``at``/``other`` are taken modulo what they index."""

    kind: str
    at: int
    other: int = 0
    donor: str = ""  # the fixture a borrowed line comes from


KINDS = ("drop", "duplicate", "swap", "wrap", "reindent", "borrow", "endings", "cut_line", "cut_byte")
# Edits that keep more scripts parsable come up more often: a syntax error stops the analysis.
WEIGHTED_KINDS = KINDS[:4] * 3 + KINDS[4:6] * 2 + KINDS[6:]
INDENTS = (b"", b" ", b"  ", b"    ", b"        ", b"\t", b"    \t", b"            ")
ENDINGS = (b"\n", b"\r\n", b"\r")


def mutate(data: bytes, mutation: Mutation) -> bytes:
    lines = data.splitlines(keepends=True)  # bytes split only at \n, \r\n and \r, as Python does
    count = len(lines)
    kind, at, other = mutation.kind, mutation.at, mutation.other
    if kind == "cut_byte":
        return data[: at % (len(data) + 1)]
    if kind == "cut_line":
        return b"".join(lines[: at % (count + 1)])
    if kind == "endings":
        ending = ENDINGS[other % len(ENDINGS)]
        return b"".join(line.rstrip(b"\r\n") + ending for line in lines)
    if kind == "borrow":
        donor = script(mutation.donor).splitlines(keepends=True) or [b"\n"]
        lines.insert(at % (count + 1), donor[other % len(donor)])
        return b"".join(lines)
    if not lines:
        return data
    index = at % count
    if kind == "drop":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "swap":
        lines[index], lines[other % count] = lines[other % count], lines[index]
    elif kind == "wrap":  # a line break inside brackets: code spread over lines, still valid
        opened = [at for at, byte in enumerate(lines[index]) if byte in b"(["]
        if opened:
            cut = opened[other % len(opened)] + 1
            lines[index] = lines[index][:cut] + b"\n" + lines[index][cut:]
    elif kind == "reindent":
        lines[index] = INDENTS[other % len(INDENTS)] + lines[index].lstrip(b" \t")
    return b"".join(lines)


def mutated(name: str, mutations: Sequence[Mutation]) -> bytes:
    data = script(name)
    for mutation in mutations:
        data = mutate(data, mutation)
    return data


mutations = st.builds(
    Mutation,
    kind=st.sampled_from(WEIGHTED_KINDS),
    at=st.integers(0, 10**6),
    other=st.integers(0, 10**6),
    donor=st.sampled_from(SCRIPTS),
)


def random_mutations(rng: random.Random) -> List[Mutation]:
    """The same mutations, drawn without Hypothesis (for the command-line test's folder)."""
    return [
        Mutation(rng.choice(WEIGHTED_KINDS), rng.randrange(10**6), rng.randrange(10**6), rng.choice(SCRIPTS))
        for _ in range(rng.randint(1, 3))
    ]


# --- generated training loops --------------------------------------------------------------

PRELUDE = (
    "import torch\n"
    "from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau, StepLR\n"
    "model = torch.nn.Linear(2, 2)\n"
    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)\n"
)
STATEMENTS = (
    "optimizer.step()",
    "optimizer.zero_grad()",
    "loss.backward()",
    "scaler.step(optimizer)",
    "scaler.update()",
    "scheduler.step()",
    "scheduler.step()  # noqa: LR001",
    "scheduler.step(epoch)",
    "scheduler.step(epoch=epoch)",
    "scheduler.step(val_loss)",
    "scheduler.step(loss.item())",
    "lr = scheduler.get_lr()[0]",
    "print(scheduler.get_last_lr())",
    "scheduler = StepLR(optimizer, step_size=30)",
    "scheduler = OneCycleLR(optimizer, max_lr=0.1, total_steps=100)",
    "scheduler = ReduceLROnPlateau(optimizer, 'min')",
    "warmup = torch.optim.lr_scheduler.LinearLR(optimizer, 0.1, total_iters=500)",
    "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)",
    "train_one_epoch(model, loader, optimizer)",
    "val_loss = evaluate(model)",
    "optimizer.param_groups[0]['lr'] = 0.01",
    "loss = model(x).sum()",
    "return {'optimizer': optimizer, 'lr_scheduler': scheduler}",
    "return [optimizer], [scheduler]",
    "return [optimizer], [{'scheduler': scheduler, 'interval': 'epoch'}]",
    "break",
    "continue",
    "return",
    "pass",
    "# a comment",
    # code spread over lines, as formatters leave it: quoted in messages, it must stay one line
    "(scheduler  # per batch\n).step()",
    "scheduler.step(\n    epoch\n)",
    "lr = (scheduler\n).get_lr()",
    "schedulers = {'main': scheduler}",
    "schedulers[\n    'main'].step(epoch)",
)
# Compound statements as their clauses' headers: each clause gets a body of its own.
COMPOUNDS = (
    ("for epoch in range(90):",),
    ("for x, y in loader:",),
    ("for step, batch in enumerate(loader):",),
    ("for sched in [scheduler, warmup]:",),
    ("if epoch > 5:",),
    ("if (step + 1) % 4 == 0:", "else:"),
    ("if ((step + 1) % accum == 0 and\n        not skip):",),
    ("if step == len(loader) - 1:", "elif epoch == 0:", "else:"),
    ("while True:",),
    ("with torch.no_grad():",),
    ("try:", "except Exception:"),
    ("try:", "finally:"),
    ("def train(model, optimizer, scheduler):",),
    ("def configure_optimizers(self):",),
    ("class Model(LightningModule):",),
)

Block = List[Union[str, Tuple[Tuple[str, list], ...]]]


def render(block: Block, depth: int = 0) -> str:
    pad = "    " * depth
    if not block:
        return pad + "pass\n"
    out = []
    for item in block:
        if isinstance(item, str):
            out.append(pad + item + "\n")
        else:
            out.extend(pad + header + "\n" + render(body, depth + 1) for header, body in item)
    return "".join(out)


def compound(bodies: st.SearchStrategy[Block]) -> st.SearchStrategy[tuple]:
    return st.sampled_from(COMPOUNDS).flatmap(
        lambda headers: st.tuples(*(st.tuples(st.just(h), bodies) for h in headers))
    )


blocks = st.recursive(
    st.lists(st.sampled_from(STATEMENTS), max_size=4),
    lambda inner: st.lists(st.one_of(st.sampled_from(STATEMENTS), compound(inner)), max_size=5),
    max_leaves=25,
)
training_loops = st.builds(lambda prelude, block: prelude + render(block), st.sampled_from([PRELUDE, ""]), blocks)


# --- generated programs behind a scheduler prelude ------------------------------------------


def with_scheduler_lines(program: str, positions: Sequence[int], lines: Sequence[str]) -> str:
    """The prelude, then ``program`` with each line inserted after the line at a position, at its
    indentation (inside a bracket or a string this may break the code: also worth checking)."""
    body = split_lines(program)
    for position, line in sorted(zip(positions, lines), reverse=True):
        at = position % (len(body) + 1)
        before = body[at - 1] if at else ""
        indent = before[: len(before) - len(before.lstrip(" \t"))]
        if before and not before.endswith(("\n", "\r")):
            body[at - 1] = before + "\n"
        body.insert(at, indent + line + "\n")
    return PRELUDE + "".join(body) + "for epoch in range(3):\n    optimizer.step()\n    scheduler.step()\n"


def prelude_and(programs: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    step_lines = st.sampled_from(
        ["scheduler.step()", "optimizer.step()", "scheduler.step(epoch)", "lr = scheduler.get_lr()"]
    )
    return st.builds(
        with_scheduler_lines,
        programs,
        st.lists(st.integers(0, 10**6), max_size=3),
        st.lists(step_lines, min_size=3, max_size=3),
    )


# --- the invariants --------------------------------------------------------------------------


def lint(source: str) -> List[Diagnostic]:
    return lint_source(source, PATH)


def cpython_compiles(source: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning/DeprecationWarning on odd literals
        try:
            compile(source, "x", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def cpython_parses(source: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def libcst_parses(source: str) -> bool:
    try:
        libcst.parse_module(source)
    except (libcst.ParserSyntaxError, RecursionError):
        return False
    return True


def one_line(text: str) -> bool:
    return bool(text.strip()) and not any(ending in text for ending in ("\n", "\r"))


def assert_valid(diagnostic: Diagnostic, source: str) -> None:
    lines = split_lines(source)
    last = len(lines) + 1  # a finding at the end of the file may sit on the line after the last
    where = (diagnostic.line, diagnostic.column, diagnostic.end_line, diagnostic.end_column)
    assert diagnostic.code in RULES, diagnostic
    assert diagnostic.path == PATH and diagnostic.cell is None, diagnostic
    assert 1 <= diagnostic.line <= last and 1 <= diagnostic.end_line <= last, (where, len(lines))
    assert diagnostic.column >= 1 and diagnostic.end_column >= 1, where
    assert (diagnostic.end_line, diagnostic.end_column) >= (diagnostic.line, diagnostic.column), where
    assert one_line(diagnostic.message), diagnostic.message
    if diagnostic.code == "LR000":
        reason = diagnostic.message
        # documented: CPython rejects it, libcst's grammar does, or it nests too deeply to analyze
        assert not cpython_compiles(source) or not libcst_parses(source) or "too deeply" in reason, reason
        if cpython_compiles(source):
            event(f"LR000 on code CPython compiles: {reason}")
    else:
        line = lines[diagnostic.line - 1] if diagnostic.line <= len(lines) else ""
        assert diagnostic.column <= len(line.rstrip("\r\n")) + 1, (where, line)
    if diagnostic.fix is not None:
        assert diagnostic.fix.applicability in (SAFE, UNSAFE) and one_line(diagnostic.fix.message)
        assert diagnostic.fix.edits, diagnostic
        for edit in diagnostic.fix.edits:
            assert 1 <= edit.line <= last and 1 <= edit.end_line <= last and edit.column >= 1, edit
            assert (edit.end_line, edit.end_column) >= (edit.line, edit.column), edit
        apply_edits(source, diagnostic.fix.edits)  # one fix's own edits never overlap


def check_source(source: str) -> None:
    """Every invariant for one source text."""
    diagnostics = lint(source)
    for diagnostic in diagnostics:
        assert_valid(diagnostic, source)
    if not libcst_parses(source):
        assert {d.code for d in diagnostics} <= {"LR000"}, diagnostics  # no analysis without a tree
    fixed = fix_source(source, lint)
    for code in sorted({d.code for d in diagnostics}) or ["none"]:
        event(f"found {code}")  # what the inputs reach: --hypothesis-show-statistics
    if fixed.source != source:
        event("fixed")
        assert cpython_parses(fixed.source) and libcst_parses(fixed.source), fixed.source
        assert cpython_compiles(fixed.source) or not cpython_compiles(source), fixed.source
        assert fixed.counts and all(code in RULES for code in fixed.counts), fixed.counts
    after = lint(fixed.source)
    assert after == fixed.remaining  # what the fixer says is left is what a new check finds
    for diagnostic in after:
        assert_valid(diagnostic, fixed.source)
    assert fix_source(fixed.source, lint).source == fixed.source, "a second fix changed more"


def check_bytes(data: bytes) -> None:
    """Decode as a file is decoded; undecodable bytes are one LR000 finding."""
    try:
        source = decode_source(data)
    except UnreadableSource:
        result = lint_bytes(data, PATH)  # decoding fails before the path is ever looked at
        assert result.error is None and [d.code for d in result.diagnostics] == ["LR000"], result
        assert one_line(result.diagnostics[0].message) and result.diagnostics[0].line >= 1
        return
    check_source(source)


# --- the property tests ----------------------------------------------------------------------


@fuzz_settings(40)
@given(st.sampled_from(SCRIPTS) | st.sampled_from(FIXABLE), st.lists(mutations, min_size=1, max_size=4))
def test_mutated_training_scripts(name: str, edits: List[Mutation]) -> None:
    check_bytes(mutated(name, edits))


@fuzz_settings(40, share=0.2)
@given(training_loops)
# found by this suite: LR015 reused the name of the list it loops over (AttributeError on the
# second scheduler) ...
@example(
    PRELUDE + "if (step + 1) % 4 == 0:\n"
    "    for epoch in range(90):\n"
    "        optimizer.step()\n"
    "        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
    "    scheduler = StepLR(optimizer, step_size=30)\n"
    "else:\n"
    "    scheduler = StepLR(optimizer, step_size=30)\n"
    "scheduler.step()\n"
)
# ... and messages quoted code as written, line breaks included
@example(PRELUDE + "for epoch in range(3):\n    lr = (scheduler  # per batch\n    ).get_lr()\n")
def test_generated_training_loops(source: str) -> None:
    check_source(source)


def test_messages_do_not_depend_on_memory_layout() -> None:
    """Found by this suite: a set of schedulers stepped in a loop was ordered by id(), so the
    optimizer a LR002 message named changed from one run to the next."""
    source = script("LR002/bad_list_of_per_batch_schedulers.py").decode("utf-8")
    runs = set()
    for _ in range(12):
        garbage = [object() for _ in range(random.randrange(1000))]  # shifts where new objects land
        runs.add(tuple((d.code, d.line, d.message) for d in lint(source)))
        del garbage
    assert len(runs) == 1, runs


@fuzz_settings(6, share=0.2)
@given(prelude_and(hypothesmith.from_grammar()))
def test_grammar_programs_behind_a_scheduler_prelude(source: str) -> None:
    check_source(source)


@fuzz_settings(6, share=0.2)
@given(prelude_and(hypothesmith.from_node()))
def test_libcst_programs_behind_a_scheduler_prelude(source: str) -> None:
    check_source(source)


# --- the same scripts as notebooks -----------------------------------------------------------

MAGICS = ("%matplotlib inline", "!pip install torch", "x = !ls", "torch.optim?", "%%time", "%%bash")


def as_notebook(source: str, cuts: Sequence[int], magics: Sequence[int]) -> str:
    """The script's lines as code cells cut at ``cuts``, some starting with IPython syntax."""
    lines = split_lines(source)
    bounds = sorted({cut % (len(lines) + 1) for cut in cuts} | {0, len(lines)})
    cells = []
    for number, (start, end) in enumerate(zip(bounds, bounds[1:])):
        body = lines[start:end]
        if number < len(magics):
            body = [MAGICS[magics[number] % len(MAGICS)] + "\n"] + body
        cells.append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": body})
    cells.insert(1, {"cell_type": "markdown", "metadata": {}, "source": ["# notes"]})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def assert_valid_in_cells(diagnostic: Diagnostic, notebook: Notebook) -> None:
    assert diagnostic.code in RULES and one_line(diagnostic.message), diagnostic
    if diagnostic.cell is None:  # a finding outside any cell: only the notebook's own LR000
        assert diagnostic.code == "LR000", diagnostic
        return
    cell = next((cell for cell in notebook.cells if cell.number == diagnostic.cell), None)
    assert cell is not None, diagnostic  # a code cell of this notebook
    assert 1 <= diagnostic.line <= cell.line_count + 1 and diagnostic.column >= 1, diagnostic
    assert (diagnostic.end_line, diagnostic.end_column) >= (diagnostic.line, diagnostic.column), diagnostic


@fuzz_settings(10, share=0.2)
@given(
    st.sampled_from(SCRIPTS) | st.sampled_from(FIXABLE),
    st.lists(mutations, max_size=3),
    st.lists(st.integers(0, 10**6), max_size=4),
    st.lists(st.integers(0, 10**6), max_size=3),
)
def test_mutated_scripts_as_notebooks(name: str, edits: List[Mutation], cuts: List[int], magics: List[int]) -> None:
    text = as_notebook(mutated(name, edits).decode("utf-8", "replace"), cuts, magics)
    notebook = read_notebook(text)
    found = lint_notebook(text, PATH)
    for diagnostic in found:
        assert_valid_in_cells(diagnostic, notebook)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.ipynb"
        path.write_text(text, encoding="utf-8")
        fixed = fix_file(path, PATH)
        for diagnostic in fixed.remaining:
            assert_valid_in_cells(diagnostic, notebook)
        if fixed.encoded is None:
            assert fixed.remaining == found
            return
        event("fixed")
        after = read_notebook(fixed.encoded.decode("utf-8"))
        assert cpython_parses(after.program) and libcst_parses(after.program), after.program
        assert [cell["cell_type"] for cell in after.data["cells"]] == [
            cell["cell_type"] for cell in notebook.data["cells"]
        ]
        assert [cell.line_count for cell in after.cells] == [cell.line_count for cell in notebook.cells]
        write_fix(path, fixed)
        assert fix_file(path, PATH).encoded is None, "a second fix changed more"


# --- the command line over a folder of mutated scripts ---------------------------------------


def write_mutated_scripts(folder: Path, count: int, seed: int = 7) -> List[Path]:
    rng = random.Random(seed)
    folder.mkdir()
    paths = []
    for number in range(count):
        path = folder / f"s{number:04d}.py"
        path.write_bytes(mutated(rng.choice(FIXABLE if rng.random() < 0.5 else SCRIPTS), random_mutations(rng)))
        paths.append(path)
    return paths


def contents(folder: Path) -> Dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.py"))}


def assert_clean_run(args: Sequence[str]) -> List[dict]:
    result = invoke(*args, "--output-format", "json", "--no-cache", "--isolated")
    output = result.stdout + result.stderr
    assert result.exit_code in (0, 1), output[-3000:]
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    found = json.loads(result.stdout)
    assert isinstance(found, list) and all(item["code"] in RULES and one_line(item["message"]) for item in found)
    return found


def test_command_line_over_mutated_scripts(project: Path) -> None:
    paths = write_mutated_scripts(project / "scripts", examples(60))
    found = assert_clean_run(["scripts"])
    assert {Path(item["path"]).name for item in found} <= {path.name for path in paths}

    shutil.copytree(project / "scripts", project / "fixed")
    assert_clean_run(["fixed", "--fix"])
    after_one_fix = contents(project / "fixed")
    for path in paths:
        if after_one_fix[path.name] != path.read_bytes():
            text = decode_source(after_one_fix[path.name])
            assert cpython_parses(text) and libcst_parses(text), path.name
    assert_clean_run(["fixed", "--fix"])
    assert contents(project / "fixed") == after_one_fix, "a second --fix changed more"
