"""The catalogue is the one source of rule facts: every rule's docs are executable and consistent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lrlint.catalogue import RULES, all_rules, lookup
from lrlint.engine import lint_source
from lrlint.rules import REGISTRY

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "rules.md"
IMPLEMENTED = sorted(REGISTRY) + ["LR000"]


@pytest.mark.parametrize("code", IMPLEMENTED)
def test_example_fires_and_use_instead_does_not(code):
    rule = RULES[code]
    assert rule.example and rule.use_instead, f"{code} docs need an Example and a Use instead: block"
    fired = [d.code for d in lint_source(rule.example, f"{code}_example.py")]
    assert fired == [code], f"{code} Example gave {fired}"
    assert lint_source(rule.use_instead, f"{code}_use_instead.py") == []


@pytest.mark.parametrize("rule", list(all_rules()), ids=lambda rule: rule.code)
def test_docs_have_ruff_headings(rule):
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead:"):
        assert heading in rule.doc, f"{rule.code} docs lack {heading!r}"
    assert rule.severity in ("error", "warning")
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", rule.name)
    assert lookup(rule.code) is rule and lookup(rule.name) is rule and lookup(rule.code.lower()) is rule


@pytest.mark.skipif(not SPEC.exists(), reason="shared/spec/rules.md is not beside the checkout")
def test_catalogue_matches_the_spec():
    """Codes, names, sides and severities are the contract of spec/rules.md."""
    text = SPEC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (LR\d{3}) \| ([a-z-]+) \| (\w+) \|", text, re.M)
    assert {code for code, _, _ in rows} == set(RULES)
    for code, name, side in rows:
        assert RULES[code].name == name and RULES[code].side == side, code
    errors = re.search(r"Severity: (.*?) are errors", text).group(1)
    for code in RULES:
        number = int(code[2:])
        is_error = any(
            int(a[2:]) <= number <= int((b or a)[2:]) for a, b in re.findall(r"(LR\d{3})(?:-(LR\d{3}))?", errors)
        )
        assert RULES[code].severity == ("error" if is_error else "warning"), code
