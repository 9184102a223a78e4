"""SARIF 2.1.0 for GitHub code scanning: one run, the whole catalogue as ``rules[]``."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

from .. import __version__
from ..catalogue import Rule, all_rules
from ..diagnostics import Diagnostic
from ._source import source_line

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/lrlint/lrlint"
_LEVELS = {"error": "error", "warning": "warning"}


def render(diagnostics: Sequence[Diagnostic], cwd: Optional[str] = None) -> str:
    return json.dumps(document(diagnostics, cwd), indent=2) + "\n"


def document(diagnostics: Sequence[Diagnostic], cwd: Optional[str] = None) -> Dict[str, Any]:
    rules = list(all_rules())
    index = {rule.code: position for position, rule in enumerate(rules)}
    base = os.path.abspath(cwd if cwd is not None else os.getcwd())
    fingerprints = _fingerprints(diagnostics)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lrlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [
                    _result(diagnostic, index[diagnostic.code], base, fingerprint)
                    for diagnostic, fingerprint in zip(diagnostics, fingerprints)
                ],
            }
        ],
    }


def _rule(rule: Rule) -> Dict[str, Any]:
    level = _LEVELS.get(rule.severity, "warning")
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _what_it_does(rule)},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "helpUri": rule.url,
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": list(rule.tags),
            "problem.severity": level,
        },
    }


def _what_it_does(rule: Rule) -> str:
    """The paragraph under "## What it does", joined onto one line; the summary if none."""
    match = re.search(r"## What it does\n(.*?)(?:\n\n|\n##|\Z)", rule.doc, re.S)
    return " ".join(match.group(1).split()) if match else rule.summary


def _result(diagnostic: Diagnostic, rule_index: int, base: str, fingerprint: str) -> Dict[str, Any]:
    return {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": _LEVELS.get(diagnostic.severity, "warning"),
        "message": {"text": diagnostic.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(diagnostic.path, base), "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": diagnostic.line,
                        "startColumn": diagnostic.column,
                        "endLine": diagnostic.end_line,
                        "endColumn": diagnostic.end_column,
                    },
                }
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint},
        **({"fixes": [_fix(diagnostic, base)]} if diagnostic.fix is not None else {}),
    }


def _fix(diagnostic: Diagnostic, base: str) -> Dict[str, Any]:
    """SARIF's fix object: the edits as replacements of regions (an empty region inserts)."""
    fix = diagnostic.fix
    assert fix is not None
    replacements = [
        {
            "deletedRegion": {
                "startLine": edit.line,
                "startColumn": edit.column,
                "endLine": edit.end_line,
                "endColumn": edit.end_column,
            },
            "insertedContent": {"text": edit.content},
        }
        for edit in fix.edits
    ]
    return {
        "description": {"text": fix.message},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": artifact_uri(diagnostic.path, base), "uriBaseId": "%SRCROOT%"},
                "replacements": replacements,
            }
        ],
        "properties": {"applicability": fix.applicability},
    }


def artifact_uri(path: str, base: str) -> str:
    """A percent-encoded posix path relative to ``base``; a file URI if it is on another drive."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:
        return Path(absolute).as_uri()
    return quote(Path(relative).as_posix(), safe="/")


def _fingerprints(diagnostics: Sequence[Diagnostic]) -> List[str]:
    """Stable across runs and unaffected by lines moving: a hash of the code and the line's
    text with whitespace normalised, plus ``:n`` for the n-th such line in the file."""
    seen: Dict[Tuple[str, str], int] = {}
    result = []
    for diagnostic in diagnostics:
        text = source_line(diagnostic.path, diagnostic.line) if diagnostic.cell is None else None
        normalised = " ".join((text or "").split())
        digest = hashlib.sha256(f"{diagnostic.code}\0{normalised}".encode("utf-8")).hexdigest()[:16]
        occurrence = seen.get((diagnostic.path, digest), 0) + 1
        seen[(diagnostic.path, digest)] = occurrence
        result.append(f"{digest}:{occurrence}")
    return result
