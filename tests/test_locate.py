"""Positions of nodes: what lrlint computes must be what libcst's documented API gives."""

from __future__ import annotations

from pathlib import Path
from typing import List

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
    for node in _all_nodes(module):
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


def test_if_the_private_method_changes_the_documented_api_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # A libcst release whose PositionProvider._gen takes other arguments: lrlint's own call fails,
    # and MetadataWrapper.resolve (which that release would call as it needs) is used instead.
    original = PositionProvider._gen
    calls: List[object] = []

    def changed(self: PositionProvider, wrapper: MetadataWrapper, *args: object) -> object:
        calls.append(wrapper)
        if len(calls) == 1:
            raise TypeError("_gen() missing 1 required positional argument")
        return original(self, wrapper)

    monkeypatch.setattr(PositionProvider, "_gen", changed)
    module = cst.parse_module("import torch\nscheduler.step()\n")
    call = module.body[1].body[0].value  # type: ignore[attr-defined]
    assert locate.locate(module, [call]) == {id(call): (2, 1, 2, 17)}
    assert len(calls) == 2
