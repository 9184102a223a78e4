"""The README's rule table is generated from the catalogue and must be current."""

from __future__ import annotations

from pathlib import Path

from lrlint.catalogue import RULES
from lrlint.docs import render_readme, rule_pages, rule_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_rule_table_is_current():
    text = README.read_text(encoding="utf-8")
    assert render_readme(text) == text, "run `python -m lrlint.docs` to regenerate the rule table"


def test_table_lists_every_rule_once():
    table = rule_table()
    for code in RULES:
        assert table.count(f"[{code}]") == 1


def test_rule_pages_are_current():
    """`Rule.url` (JSON, SARIF, the README table) points at these pages."""
    pages = README.parent / "docs" / "rules"
    for name, content in rule_pages().items():
        page = pages / name
        assert page.exists() and page.read_text(encoding="utf-8") == content, (
            f"run `python -m lrlint.docs` to regenerate {page}"
        )
    for code, rule in RULES.items():
        assert rule.url.endswith(f"docs/rules/{code}.md")
