"""JUnit XML, in ruff's shape: one test suite per file, one failing test case per finding, and a
single passing case when there is nothing to report (CI systems show an empty report as broken).
GitLab, Jenkins and Azure Pipelines read it as a test report."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Dict, List, Sequence

from ..diagnostics import Diagnostic
from ._source import location


def render(diagnostics: Sequence[Diagnostic]) -> str:
    total = str(len(diagnostics))
    root = ElementTree.Element("testsuites", name="lrlint", tests=total or "1", failures=total, errors="0")
    if not diagnostics:
        suite = ElementTree.SubElement(root, "testsuite", name="lrlint", tests="1", failures="0", errors="0")
        ElementTree.SubElement(suite, "testcase", name="No errors found", classname="lrlint")
        root.set("tests", "1")
    for path, found in _by_path(diagnostics).items():
        count = str(len(found))
        suite = ElementTree.SubElement(
            root, "testsuite", name=path, tests=count, disabled="0", errors="0", failures=count, package="lrlint"
        )
        for diagnostic in found:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                name=f"lrlint.{diagnostic.code}",
                classname=_classname(path),
                file=path,
                line=str(diagnostic.line),
                column=str(diagnostic.column),
            )
            failure = ElementTree.SubElement(case, "failure", message=diagnostic.message, type=diagnostic.code)
            failure.text = f"{location(diagnostic)}: {diagnostic.code} {diagnostic.message}"
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _by_path(diagnostics: Sequence[Diagnostic]) -> Dict[str, List[Diagnostic]]:
    grouped: Dict[str, List[Diagnostic]] = {}
    for diagnostic in diagnostics:
        grouped.setdefault(diagnostic.path, []).append(diagnostic)
    return grouped


def _classname(path: str) -> str:
    """`src/train.py` -> `src/train`, as ruff names the class of a test case."""
    for suffix in (".py", ".ipynb"):
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path
