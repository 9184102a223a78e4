"""Small questions about libcst nodes, with no interpreter state."""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import libcst as cst

from . import Role, known


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(child_nodes(current)))


def child_nodes(node: cst.CSTNode) -> List[cst.CSTNode]:
    """The node's children in field order. libcst's ``children`` visits the node with a
    collecting visitor, which costs several times more; the whole-module walks of the model
    (argparse defaults, names in conditions) are a good part of the analysis."""
    found: List[cst.CSTNode] = []
    for name in _node_fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is list or kind is tuple:
            found.extend(item for item in value if _is_node(type(item)))
        elif _is_node(kind):
            found.append(value)
    return found


@lru_cache(maxsize=None)
def _node_fields(kind: type) -> Tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))


@lru_cache(maxsize=None)
def _is_node(kind: type) -> bool:
    """``isinstance(value, cst.CSTNode)`` by the value's type: libcst's classes are ABCs, and an
    isinstance against one that fails is a Python-level call (most fields hold strings or None)."""
    return issubclass(kind, cst.CSTNode)


@lru_cache(maxsize=None)
def is_expression(kind: type) -> bool:
    """``isinstance(node, cst.BaseExpression)`` by the node's type (see ``_is_node``)."""
    return issubclass(kind, cst.BaseExpression)


def names_in(node: Optional[cst.CSTNode]) -> Iterator[cst.Name]:
    if node is None:
        return iter(())
    return (n for n in walk(node) if type(n) is cst.Name)  # libcst's node classes have no subclasses


def identifiers(node: cst.CSTNode) -> Iterator[str]:
    for inner in walk(node):
        kind = type(inner)
        if kind is cst.Name:
            yield inner.value  # type: ignore[attr-defined]
        elif kind is cst.Attribute:
            yield inner.attr.value  # type: ignore[attr-defined]


def expressions_below(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """The outermost expressions inside a non-expression node (Arg, Element, f-string part...)."""
    for child in child_nodes(node):
        if is_expression(type(child)):
            yield child  # type: ignore[misc]
        else:
            yield from expressions_below(child)


def last_name(node: Optional[cst.CSTNode]) -> Optional[str]:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Call):
        return last_name(node.func)
    if isinstance(node, cst.Subscript):
        return last_name(node.value)
    return None


def code_for_node(module: cst.Module, node: cst.CSTNode, known: Dict[int, str]) -> str:
    """``module.code_for_node(node)``, kept in ``known`` (by id). A name or an attribute written
    plainly (no parentheses, no whitespace around the dot: `self.opt`, `model(x).loss`) is read off
    its parts, the value's code memoised too: libcst's code generation was most of the cost of
    reading such code, and a chain of attributes regenerated every prefix."""
    text = known.get(id(node))
    if text is None:
        if isinstance(node, cst.Name) and not (node.lpar or node.rpar):
            text = node.value
        elif isinstance(node, cst.Attribute) and _written_plainly(node):
            text = f"{code_for_node(module, node.value, known)}.{node.attr.value}"
        else:
            text = module.code_for_node(node)
        known[id(node)] = text
    return text


def _written_plainly(node: cst.Attribute) -> bool:
    """No parentheses around the attribute or its name, and no whitespace (nor a comment or a line
    break) on either side of its dot."""
    if node.lpar or node.rpar or node.attr.lpar or node.attr.rpar:
        return False
    return all(
        isinstance(space, cst.SimpleWhitespace) and not space.value
        for space in (node.dot.whitespace_before, node.dot.whitespace_after)
    )


# Identifiers that count optimizer steps. Bare "steps"/"lr_steps"/"decay_steps" are left out on
# purpose: in LR-decay code they usually hold epoch milestones (torchvision's `--lr-steps 16 22`).
_STEP_COUNT = re.compile(
    r"(^|_)(max|total|num|n|train|training|all|warmup)_?(train_?|training_?|optimi[sz]ation_?)?"
    r"(steps?|iters?|iterations?|updates?|batches)(_|$)"
    r"|(steps?|iters?|iterations?|batches|updates?)_?per_?epoch"
    r"|stepping_batches|^n_?iters?$|^num_?batches$|loader",
    re.I,
)


def counts_steps(name: str) -> bool:
    return bool(_STEP_COUNT.search(name))


def role_from_name(text: str) -> Optional[Role]:
    text = re.sub(r"\[[^\[\]]*\]$", "", text)  # `optimizers["model"]` is named like `optimizers`
    if known.looks_like_scheduler(text):
        return Role.SCHEDULER
    if known.looks_like_optimizer(text):
        return Role.OPTIMIZER
    return None


def argument(node: cst.Call, keyword: str, position: int) -> Optional[cst.BaseExpression]:
    positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if position < len(positional):
        return positional[position].value
    return None


def is_false(expr: Optional[cst.BaseExpression]) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def is_static(definition: cst.FunctionDef) -> bool:
    return any(
        isinstance(decorator.decorator, cst.Name) and decorator.decorator.value == "staticmethod"
        for decorator in definition.decorators
    )


def number_literal(node: Optional[cst.BaseExpression]) -> Optional[float]:
    """The value of a number written literally (`30`, `1e-3`, `-1`); None for anything else."""
    sign = 1.0
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        sign = -1.0 if isinstance(node.operator, cst.Minus) else 1.0
        node = node.expression
    if isinstance(node, (cst.Integer, cst.Float)):
        return sign * float(node.evaluated_value)
    return None


def is_number_literal(node: Optional[cst.BaseExpression]) -> bool:
    return number_literal(node) is not None


def argparse_defaults(modules: Iterable[cst.Module]) -> Dict[str, Optional[float]]:
    """`parser.add_argument("--lr-drop", type=int, default=40)` -> {"lr_drop": 40.0}; an option
    declared twice with different defaults maps to None (which one runs is unknown). ``modules``
    are the trees of one module's code, in order (a followed module's statements, parsed apart)."""
    defaults: Dict[str, Optional[float]] = {}
    for node in (node for module in modules for node in walk(module)):
        if not (isinstance(node, cst.Call) and last_name(node.func) == "add_argument"):
            continue
        dest = _argument_dest(node)
        default = next(
            (arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "default"), None
        )
        value = number_literal(default)
        if dest is None or value is None:
            continue
        if defaults.setdefault(dest, value) != value:
            defaults[dest] = None
    return defaults


def _argument_dest(call: cst.Call) -> Optional[str]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "dest":
            return arg.value.evaluated_value if isinstance(arg.value, cst.SimpleString) else None  # type: ignore[return-value]
    flags = [
        arg.value.evaluated_value
        for arg in call.args
        if arg.keyword is None and isinstance(arg.value, cst.SimpleString)
    ]
    long = next((flag for flag in flags if isinstance(flag, str) and flag.startswith("--")), None)
    chosen = long or next((flag for flag in flags if isinstance(flag, str) and not flag.startswith("-")), None)
    return chosen.lstrip("-").replace("-", "_") if chosen else None
