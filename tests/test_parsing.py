"""lrlint's libcst parse: the same trees and errors as libcst's, without libcst validating each node
its parser built, and with validation intact everywhere else."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import List

import libcst as cst
import pytest

from lrlint import parsing
from lrlint.parsing import parse_module

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_the_same_tree_as_libcst_gives() -> None:
    for path in sorted(FIXTURES.rglob("*.py"))[::10]:  # a tenth of them: deep_equals is slow
        source = path.read_bytes()
        try:
            expected = cst.parse_module(source)
        except Exception as error:  # a syntax error, or bytes libcst cannot decode
            with pytest.raises(type(error)):
                parse_module(source)
            continue
        tree = parse_module(source)
        assert tree.deep_equals(expected), path
        assert tree.code == expected.code


def test_the_same_syntax_error_as_libcst_gives() -> None:
    with pytest.raises(cst.ParserSyntaxError) as ours:
        parse_module("def f(:\n    pass\n")
    with pytest.raises(cst.ParserSyntaxError) as theirs:
        cst.parse_module("def f(:\n    pass\n")
    assert (ours.value.raw_line, ours.value.raw_column, ours.value.message) == (
        theirs.value.raw_line,
        theirs.value.raw_column,
        theirs.value.message,
    )


def test_parsed_nodes_are_not_validated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: List[str] = []
    monkeypatch.setattr(cst.Name, "_validate", lambda self: checked.append(self.value))
    parse_module("learning_rate = 0.1\n")
    assert checked == []
    cst.Name("built_by_hand")
    assert checked == ["built_by_hand"]


def test_nodes_built_by_hand_are_still_validated() -> None:
    parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")  # an empty name is invalid


def test_other_threads_still_validate_while_one_parses() -> None:
    parse_module("x = 1\n")  # installs the switch
    parsing._parsing.active = True  # as inside parse_module, in this thread only
    errors: List[BaseException] = []

    def build() -> None:
        try:
            cst.Name("")
        except cst.CSTValidationError as error:
            errors.append(error)

    try:
        worker = threading.Thread(target=build)
        worker.start()
        worker.join()
    finally:
        parsing._parsing.active = False
    assert len(errors) == 1


def test_validation_resumes_after_a_failed_parse() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("x = (\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")
