"""Positions of nodes: what lrlint computes must be what libcst's documented API gives."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from lrlint import locate
from lrlint.locate import Positions

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures").rglob("*.py"))
TRICKY = [
    "x = 1",  # no trailing newline
    "\ufeff# header comment\r\n\r\nimport torch\r\nif True:\r\n    y = (1,\r\n         2)\r\n",
    "def f():\n\tif x:\n\t\treturn [a\n\t\t\tfor a in b]  # tab indents\n",
    "",
    "import torch\rif x:\r    y = 1\r",  # old Mac line endings
    'a = 1 + \\\n    2\nb = """one\r\ntwo"""\n\x0cc = f(x,\n  y)  # a continuation, a form feed\n',
]


def _all_nodes(module: cst.Module) -> List[cst.CSTNode]:
    nodes: List[cst.CSTNode] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nodes.append(node)
            return True

    module.visit(Collect())
    return nodes


def _same_as_documented_api(module: cst.Module) -> None:
    documented = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    positions = Positions(module)
    nodes = _all_nodes(module)
    # statement by statement first, as findings are asked for; the module's own node last (it
    # needs the whole module generated)
    for node in nodes[1:] + nodes[:1]:
        where = documented.get(node)  # libcst places most nodes, not every piece of whitespace
        expected = (
            None if where is None else (where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)
        )
        assert positions.range(node) == expected, module.code_for_node(node)


@pytest.mark.parametrize("path", FIXTURES[::7], ids=lambda path: f"{path.parent.name}/{path.name}")
def test_positions_match_the_metadata_wrapper_on_fixtures(path: Path) -> None:
    try:
        module = cst.parse_module(path.read_bytes())
    except (cst.ParserSyntaxError, UnicodeDecodeError):
        pytest.skip("a fixture of code libcst rejects")
    _same_as_documented_api(module)


@pytest.mark.parametrize("source", TRICKY)
def test_positions_match_the_metadata_wrapper_on_odd_layouts(source: str) -> None:
    _same_as_documented_api(cst.parse_module(source))


def test_code_is_generated_only_as_far_as_the_node_asked_for() -> None:
    module = cst.parse_module("import torch\nscheduler.step()\ndef f():\n    return 1\nclass K:\n    pass\n")
    call = module.body[1].body[0].value  # type: ignore[attr-defined]
    positions = Positions(module)
    assert positions.range(call) == (2, 1, 2, 17)
    assert positions._generated == 2  # `def f` and `class K` were not generated
    assert positions.range(module.body[3]) == (5, 1, 6, 9)
    assert positions._generated == 4
    assert positions.range(call) == (2, 1, 2, 17)
    assert positions.range(module) == (1, 1, 7, 1) and positions._whole


def _located_call() -> Tuple[cst.Module, cst.CSTNode]:
    module = cst.parse_module("import torch\nscheduler.step()\n")
    return module, module.body[1].body[0].value  # type: ignore[attr-defined]


def test_if_libcst_moves_the_state_lrlint_builds_on_the_documented_api_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    class BuiltOnObject:  # as the import fallback leaves it: takes none of the state's fields
        pass

    monkeypatch.setattr(locate, "_PositionsState", BuiltOnObject)
    module, call = _located_call()
    assert locate.locate(module, [call]) == {id(call): (2, 1, 2, 17)}


def test_if_libcst_calls_a_hook_differently_the_documented_api_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # A release whose nodes pass record_syntactic_position an argument lrlint's state does not take.
    calls: List[object] = []

    def changed(self: object, node: cst.CSTNode, **positions: object) -> None:
        calls.append(node)
        raise TypeError("record_syntactic_position() got an unexpected keyword argument")

    monkeypatch.setattr(locate._PositionsState, "record_syntactic_position", changed)
    module, call = _located_call()
    assert locate.locate(module, [call]) == {id(call): (2, 1, 2, 17)}
    assert calls
