"""Small questions about libcst nodes, with no interpreter state."""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional

import libcst as cst

from . import Role, known


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def names_in(node: Optional[cst.CSTNode]) -> Iterator[cst.Name]:
    if node is None:
        return iter(())
    return (n for n in walk(node) if isinstance(n, cst.Name))


def identifiers(node: cst.CSTNode) -> Iterator[str]:
    for inner in walk(node):
        if isinstance(inner, cst.Name):
            yield inner.value
        elif isinstance(inner, cst.Attribute):
            yield inner.attr.value


def expressions_below(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """The outermost expressions inside a non-expression node (Arg, Element, f-string part...)."""
    for child in node.children:
        if isinstance(child, cst.BaseExpression):
            yield child
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


class _Bindings(cst.CSTVisitor):
    """Every value bound to each plain name in a module; None for a binding whose value is not a
    single expression (augmented assignment, loop target, unpacking, parameter, ``with ... as``)."""

    def __init__(self) -> None:
        self.values: Dict[str, List[Optional[cst.BaseExpression]]] = {}

    def bind(self, target: cst.CSTNode, value: Optional[cst.BaseExpression]) -> None:
        if isinstance(target, cst.Name):
            self.values.setdefault(target.value, []).append(value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.bind(element.value, None)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self.bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.bind(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.bind(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        self.bind(node.target, None)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.bind(node.target, None)

    def visit_AsName(self, node: cst.AsName) -> None:
        self.bind(node.name, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bind(node.target, None)

    def visit_Param(self, node: cst.Param) -> None:
        self.bind(node.name, None)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.bind(item.name, None)


def name_bindings(module: cst.Module) -> Dict[str, List[Optional[cst.BaseExpression]]]:
    visitor = _Bindings()
    module.visit(visitor)
    return visitor.values


def is_number_literal(node: Optional[cst.BaseExpression]) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float))
