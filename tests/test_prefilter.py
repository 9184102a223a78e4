"""The pre-filter: which files are parsed at all. It may keep too much, never too little."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrlint import engine, prefilter
from lrlint.catalogue import RULES
from lrlint.engine import lint_source
from lrlint.model.known import looks_like_optimizer
from lrlint.prefilter import (
    Traits,
    _names_optim,
    code_of,
    concerns_schedulers,
    may_have_findings,
    names_concerning_schedulers,
)
from lrlint.project import ProjectModules, names_used_outside_imports

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "fixtures").glob("*/*.py"))

DIFFUSION_PIPELINE = '''
import torch
from diffusers import DDIMScheduler


class Pipeline:
    """Denoise latents.

    Args:
        scheduler: the noise scheduler; unlike an optimizer's schedule it is stepped per timestep.
    """

    def __init__(self, unet, scheduler: DDIMScheduler):
        self.unet, self.scheduler = unet, scheduler

    @torch.no_grad()
    def __call__(self, latents, steps=50):
        self.scheduler.set_timesteps(steps)
        for t in self.scheduler.timesteps:
            noise = self.unet(latents, t)
            latents = self.scheduler.step(noise, t, latents).prev_sample
        return latents
'''

# A pipeline that unwraps a torch.compile'd UNet (`OptimizedModule`) before stepping its noise
# scheduler, as diffusers' ControlNet pipelines do.
COMPILED_PIPELINE = """
import torch


class Pipeline:
    def __call__(self, latents, timesteps):
        unet = self.unet._orig_mod if isinstance(self.unet, torch._dynamo.eval_frame.OptimizedModule) else self.unet
        for t in timesteps:
            latents = self.scheduler.step(unet(latents, t), t, latents).prev_sample
        return latents
"""


def test_code_that_names_no_scheduler_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    import libcst

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(libcst, "parse_module", no_parsing)
    assert lint_source("import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.train()\n") == []
    assert lint_source("def f(:\n") == []  # its syntax error is Python's business, not a scheduler linter's


@pytest.mark.parametrize(
    "source, kept",
    [
        ("sched = StepLR(opt, 10)\n", True),
        ("from torch.optim import lr_scheduler\n", True),
        ("s = get_linear_schedule_with_warmup(o, 1, 2)\n", True),
        ("class M(LightningModule):\n    def configure_optimizers(self):\n        pass\n", True),
        ("def f(scheduler, optimizer):\n    scheduler.step()\n", True),
        ("def f(sched):\n    sched.step()\n    train_one_epoch(model)\n", True),
        ("def f(lr_sched):\n    print(lr_sched.get_lr())\n", True),
        # a scheduler named but nothing it could be judged against
        ("def f(scheduler):\n    scheduler.step()\n", False),
        # the words only in a docstring or a comment
        ('"""Uses StepLR with the optimizer."""\nx = 1  # scheduler.step()\n', False),
        (DIFFUSION_PIPELINE, False),
        # a syntax error is judged by its code like any other file
        ("def f(:  # scheduler.step() and optimizer\n", False),
        ("def f(scheduler, optimizer:\n    scheduler.step()\n", True),
        # a backslash at a line's end inside a docstring does not end the docstring early
        ('def f(optimizer):\n    """a \\\n    scheduler.step() here"""\n    scheduler = 1\n', False),
        ("x = 'scheduler.step()'; opt = 1; sched = 2\n", False),
        ('x = f"{scheduler.step()}"; opt = 1\n', False),  # an f-string's fields are text here
        ("def f(optimizer, sched):\n    sched.step ()\n", True),
        # named like one but never stepped, or only a function's name
        ("schedulefree_version = version(optimizer)\n", False),
        ("def f(optimizer):\n    build_scheduler(optimizer).step()\n", False),
        # torch.compile's wrapper, which diffusers' pipelines test for, is no optimizer ...
        (COMPILED_PIPELINE, False),
        # ... but an optimizer named next to it still counts
        (COMPILED_PIPELINE + "optimizers = []\n", True),
        (COMPILED_PIPELINE + "from torch import optim\n", True),
    ],
)
def test_decisions(source: str, kept: bool) -> None:
    assert may_have_findings(source) is kept


@given(
    prefix=st.sampled_from(["", "a", "my_", "g_", "base_", "torch.", "self.", "Fused"]),
    stem=st.sampled_from(["optim", "Optim", "OPTIM", "optimi", "optimis", "optimiz"]),
    suffix=st.text(alphabet="abdeginrsz_0123", max_size=5),
)
def test_every_optimizer_name_counts_as_optimizer_activity(prefix: str, stem: str, suffix: str) -> None:
    """The pre-filter's words for an optimizer cover every name the model takes for one."""
    name = prefix + stem + suffix
    if looks_like_optimizer(name):
        assert _names_optim(name.lower()), name


# The pre-filter's patterns as first written: one regular expression each, tried at every position.
# Its faster forms must decide every text the same way.
_REFERENCE = {
    "stepped": re.compile(r"\b(?:step|get_lr)\s*\("),
    "optimizer_call": re.compile(r"\b(?:backward|zero_grad)\s*\("),
    "optimizer_name": re.compile(r"\bopt(?:_?[a-z0-9]{1,3})?\b|\b[a-z0-9]{1,3}_?opt\b"),
    "training_call": re.compile(r"(?:\b|_)(?:train|fit)\w*\s*\(|epoch\w*\s*\("),
}
_PIECES = [
    "step",
    "get_lr",
    "backward",
    "zero_grad",
    "opt",
    "train",
    "fit",
    "epoch",
    "(",
    " ",
    "_",
    ".",
    "x",
    "g",
    "1",
    "é",
    "\n",
    "ab",
    "zz9",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_the_fast_patterns_decide_as_the_regular_expressions_did(text: str) -> None:
    assert prefilter._any_search(prefilter._STEPPED, text) == bool(_REFERENCE["stepped"].search(text))
    assert prefilter._any_search(prefilter._OPTIMIZER_CALLS, text) == bool(_REFERENCE["optimizer_call"].search(text))
    assert prefilter._names_opt(text) == bool(_REFERENCE["optimizer_name"].search(text))
    assert prefilter._any_search(prefilter._TRAINING_CALLS, text) == bool(_REFERENCE["training_call"].search(text))


def test_declared_schedulers_and_imported_modules_keep_a_file() -> None:
    source = "from warmup import Warm\nw = Warm(opt)\n"
    assert may_have_findings(source) is False
    assert may_have_findings(source, declared_names=["Warm"]) is True
    assert may_have_findings(source, imports_scheduler_code=lambda: True) is True
    named = "def f(scheduler):\n    scheduler.step()\n    helpers.run()\n"
    assert may_have_findings(named, imports_training_code=lambda: True) is True


def test_the_text_alone_says_when_only_imported_training_code_decides() -> None:
    named = "def f(scheduler):\n    scheduler.step()\n    helpers.run()\n"
    assert prefilter.text_verdict(named) is prefilter.NEEDS_TRAINING
    assert not prefilter.text_verdict(named)  # a module that imports nothing: no candidate
    assert may_have_findings(named, verdict=prefilter.NEEDS_TRAINING, imports_training_code=lambda: True) is True
    assert may_have_findings(named, imports_training_code=lambda: False) is False
    assert prefilter.text_verdict("import os\n") is False
    assert prefilter.text_verdict("s = StepLR(opt, 1)\n") is True
    assert prefilter.text_verdict("w = Warm(opt)\n", ["Warm"]) is True


def test_a_file_judged_when_imported_is_not_judged_again_by_its_own_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = tmp_path / "helpers.py"
    helper.write_text(HELPERS)
    assert ProjectModules.earlier_judgement(helper, HELPERS, prefilter.text_verdict) is None  # never asked
    assert engine._may_have_findings(
        "from helpers import build_scheduler\nbuild_scheduler(o, 1)\n",
        None,
        engine.ProjectModules(tmp_path / "train.py"),
    )
    assert ProjectModules.earlier_judgement(helper, HELPERS, prefilter.text_verdict) is True
    assert ProjectModules.earlier_judgement(helper, HELPERS + "x = 1\n", prefilter.text_verdict) is None  # other text
    judged = []
    monkeypatch.setattr(prefilter, "_code_verdict", lambda *args: judged.append(args) or False)
    assert engine._may_have_findings(HELPERS, None, engine.ProjectModules(helper))  # the verdict made before
    assert judged == []
    # an edited file is judged anew: its text is not the text judged before
    assert not engine._may_have_findings("import os\n", None, engine.ProjectModules(helper))


def _analysed_anyway(monkeypatch: pytest.MonkeyPatch, source: str, path: Path) -> List[str]:
    monkeypatch.setattr(engine, "_may_have_findings", lambda *args: True)
    return [d.code for d in lint_source(source, str(path), source_file=path)]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_fixture_the_filter_skips_has_no_finding(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Soundness, file by file: whatever the pre-filter skips, the full analysis finds nothing in."""
    try:
        source = engine.decode_source(path.read_bytes())
    except engine.UnreadableSource:
        return  # LR000 before any filtering
    if engine._may_have_findings(source, None, engine.ProjectModules(path)):
        return
    assert _analysed_anyway(monkeypatch, source, path) == []


@pytest.mark.parametrize("code", sorted(code for code in RULES if RULES[code].side != "runtime"))
def test_every_rule_example_passes_the_filter(code: str) -> None:
    example = RULES[code].example
    assert example and may_have_findings(example), f"{code}'s example would be skipped"


HELPERS = """
import torch
from transformers import get_linear_schedule_with_warmup


def is_zero3_enabled():
    return False


def _warmup(optimizer, steps):
    return get_linear_schedule_with_warmup(optimizer, 0, steps)


def build_scheduler(optimizer, steps):
    return _warmup(optimizer, steps)


class Runner(Base):
    def fit(self):
        self.scheduler = build_scheduler(self.optimizer, 10)


class Base:
    pass


if torch.cuda.is_available():
    from transformers import get_scheduler as pick
else:
    pick = None
"""


@pytest.mark.parametrize(
    "name, concerning",
    [
        ("is_zero3_enabled", False),
        ("_warmup", True),
        ("build_scheduler", True),  # through the helper it calls
        ("Runner", True),  # through the function one of its methods calls
        ("Base", False),
        ("pick", True),  # bound inside an `if`, both ways
        ("torch", False),
    ],
)
def test_a_module_is_judged_name_by_name(name: str, concerning: bool) -> None:
    definitions = names_concerning_schedulers(HELPERS)
    assert definitions is not None and name in definitions.bound
    assert (name in definitions.concerning) is concerning


SPLIT_ACROSS_DEFINITIONS = """
def advance(scheduler):
    scheduler.step()


def train(model, optimizer, scheduler):
    optimizer.zero_grad()
    advance(scheduler)


def only_steps(scheduler):
    advance(scheduler)
"""


def test_a_name_is_judged_with_what_its_definitions_use_together() -> None:
    # The step is in one definition, the optimizer activity in another: only a name whose
    # definitions reach both concerns schedulers, as the two pieces of code together would.
    definitions = names_concerning_schedulers(SPLIT_ACROSS_DEFINITIONS)
    assert definitions is not None
    assert definitions.concerning == {"train"}


TERM_SNIPPETS = (
    "scheduler.step()\n",  # stepped and named, no optimizer activity
    "scheduler.step()\noptimizer.zero_grad()\n",
    "lrs.step()\nopt.step()\n",  # named and stepped, but no word the first test looks for
    "x = StepLR(opt)\n",  # builds
    "sched = 1\nopt.step()\n",  # named, never stepped
    "WarmupCosine(optimizer)\n",  # a declared scheduler, when declared
    "",
)


@pytest.mark.parametrize("declared", [(), ("WarmupCosine",)])
def test_traits_decide_as_concerns_schedulers_does(declared: tuple) -> None:
    # The per-definition traits restate concerns_schedulers' decision (which stays lazy, for the
    # hot path): the two must agree on whole files, or a module's names would be misjudged.
    # the fixtures nearly all concern schedulers; lrlint's own code and tests mostly do not; the
    # snippets each turn on one term of the decision
    files = FIXTURES + sorted((ROOT / "lrlint").rglob("*.py")) + sorted((ROOT / "tests").glob("*.py"))
    sources = [path.read_text(encoding="utf-8", errors="replace") for path in files] + list(TERM_SNIPPETS)
    for source in sources:
        code = code_of(source)
        assert Traits.of(code, declared).concern_schedulers() == concerns_schedulers(code, declared), source[:80]


def test_a_module_that_cannot_be_judged_by_name_counts_whole() -> None:
    assert names_concerning_schedulers("from helpers import *\n") is None
    assert names_concerning_schedulers("def f(:\n") is None


def test_an_importer_is_a_candidate_only_through_the_names_it_takes(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text(HELPERS)
    checked = tmp_path / "model.py"

    def candidate(source: str) -> bool:
        return engine._may_have_findings(source, None, engine.ProjectModules(checked))

    assert not candidate("from helpers import is_zero3_enabled\nis_zero3_enabled()\n")
    assert candidate("from helpers import is_zero3_enabled, build_scheduler\nbuild_scheduler(o, 1)\n")
    parenthesized = "from helpers import (\n    is_zero3_enabled,  # zero\n    build_scheduler,\n)\n"
    assert candidate(parenthesized + "build_scheduler(o, 1)\n")
    assert candidate("import helpers\nhelpers.is_zero3_enabled()\n")  # the module itself: any name
    assert candidate("from helpers import *\n")
    assert candidate("from helpers import is_zero3_enabled, \\\n    build_scheduler\n")  # not split: whole
    assert not candidate("from helpers import Base\n")
    # a name only imported, as a package's __init__ re-exports it, is never looked up
    assert not candidate(parenthesized)
    assert not candidate("from helpers import build_scheduler as build_scheduler\n__all__ = ['build_scheduler']\n")
    assert not candidate("from helpers import build_scheduler\nconfig.build_scheduler(o)\n")  # another's attribute
    # ... but under an alias it is
    assert candidate("from helpers import is_zero3_enabled, build_scheduler as make\nmake(o, 1)\n")
    assert candidate("from helpers import build_scheduler; build_scheduler(o, 1)\n")


def test_a_module_is_judged_by_name_only_for_names_its_importer_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Judging a module's names means parsing it: a package's __init__ that only re-exports
    # them must not cost that.
    (tmp_path / "helpers_reexported.py").write_text(HELPERS)
    judged: List[str] = []
    original = engine.names_concerning_schedulers
    monkeypatch.setattr(engine, "names_concerning_schedulers", lambda *args: judged.append("x") or original(*args))
    checked = engine.ProjectModules(tmp_path / "__init__.py")
    assert not engine._may_have_findings("from helpers_reexported import build_scheduler\n", None, checked)
    assert judged == []
    assert engine._may_have_findings(
        "from helpers_reexported import build_scheduler\nbuild_scheduler(o)\n", None, checked
    )
    assert judged == ["x"]


@pytest.mark.parametrize(
    "source, used",
    [
        ("from m import a\na()\n", {"a"}),
        ("from m import a\n", set()),
        ("from m import (a as b,  # b\n    c)\nb(c)\n", {"a", "b", "c"}),  # `b` may be the module's too
        ("from m import a as b\na()\n", {"a"}),  # `a` may be bound elsewhere: when unsure, used
        ("from m import a\nx.a\n", set()),
        ("from m import a\n__all__ = ['a']  # a\n", set()),  # names in strings and comments are not looked up
        ("from m import a, \\\n    b\n", {"b"}),  # a continuation line is not read as an import
    ],
)
def test_names_used_outside_imports(source: str, used: set) -> None:
    assert names_used_outside_imports(source, ["a", "b", "c"]) == used


# The pattern code_of used before its string bodies were matched a run of characters at a time.
_ONE_CHARACTER_AT_A_TIME = re.compile(
    r"(?s)#[^\n]*"
    r'|"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
)


@given(st.lists(st.sampled_from(["'", '"', "\\", "\n", "#", "a", " ", "x = f(", ")"]), max_size=60).map("".join))
def test_strings_and_comments_are_blanked_as_by_the_one_character_pattern(text: str) -> None:
    assert prefilter._STRING_OR_COMMENT.sub(" ", text) == _ONE_CHARACTER_AT_A_TIME.sub(" ", text)


def test_strings_and_comments_are_blanked_as_before_on_the_fixtures() -> None:
    for path in FIXTURES:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert prefilter._STRING_OR_COMMENT.sub(" ", text) == _ONE_CHARACTER_AT_A_TIME.sub(" ", text), path
