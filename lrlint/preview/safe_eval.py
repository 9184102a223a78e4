"""A small evaluator for the arithmetic a plan carries: ``Expression`` texts over the loop's sizes and
``Function`` bodies (a scheduler's ``lr_lambda``).

The text is parsed with ``ast`` and every node is checked before anything is evaluated; evaluation
walks the checked tree and never calls ``eval``, ``exec`` or ``compile``. What is allowed: numbers,
the function's parameter and local names, the names a plan binds, arithmetic, comparisons,
``and``/``or``/``not``, conditional expressions, ``if``/``return`` chains and simple assignments, and
calls to a short list of numeric functions (``min``, ``max``, ``abs``, ``float``, ``int``, ``round``,
``pow`` and ``math``'s, also as ``np.cos`` or a bare ``cos``). Anything else is a ``PreviewError``
that names what cannot be evaluated.

Arithmetic follows Python's own rules, so a lambda that divides by zero raises ``ZeroDivisionError``
here just as it would in the script (the replay shows that as the curve stopping).
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Union

from .errors import PreviewError
from .plan import Expression, Function, Missing, Quantity, Value

Number = Union[int, float]  # bool is an int too
MissingResolver = Callable[[Missing], Number]

SIZE_NAMES = ("epochs", "steps_per_epoch", "accumulation")
MAX_SOURCE_CHARS = 20_000
MAX_NODES = 5_000
MAX_DEPTH = 100  # nodes nested in nodes
MAX_INT_BITS = 4_096  # integer arithmetic beyond this is refused (``2 ** 10**9`` would never finish)
MAX_HELPER_NESTING = 8  # a function calling a bound function calling another...

_HOLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _power(base: Number, exponent: Number) -> Number:
    """``base ** exponent``, refused where it would build an enormous integer."""
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        if abs(int(base)).bit_length() * int(exponent) > MAX_INT_BITS:
            raise _TooLarge(f"`{base} ** {exponent}` is an integer too large to compute")
    return base**exponent


def _clip(value: Number, low: Number, high: Number) -> Number:
    return min(max(value, low), high)


def _as_float(function: Callable[[Number], Number]) -> Callable[[Number], float]:
    """numpy's ``floor``/``ceil``/``trunc`` return floats where math's return ints."""
    return lambda value: float(function(value))


_BUILTINS: Mapping[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "float": float,
    "int": int,
    "round": round,
    "pow": _power,
}
_MATH_NAMES = (
    "cos sin tan acos asin atan atan2 cosh sinh tanh exp expm1 log log1p log2 log10 sqrt floor ceil trunc fabs"
    " hypot copysign"
).split()
_MATH: Mapping[str, Callable[..., Any]] = {name: getattr(math, name) for name in _MATH_NAMES} | {"pow": math.pow}
_NUMPY: Mapping[str, Callable[..., Any]] = (
    {name: getattr(math, name) for name in _MATH_NAMES if name not in ("floor", "ceil", "trunc")}
    | {name: _as_float(getattr(math, name)) for name in ("floor", "ceil", "trunc")}
    | {"abs": abs, "minimum": min, "maximum": max, "clip": _clip, "power": _power, "arccos": math.acos}
    | {"arcsin": math.asin, "arctan": math.atan}
)
_CONSTANTS: Mapping[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
_MODULES: Mapping[str, Mapping[str, Callable[..., Any]]] = {"math": _MATH, "np": _NUMPY, "numpy": _NUMPY}

_BINARY: Mapping[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: _power,
}
_UNARY: Mapping[type, Callable[[Any], Any]] = {
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: +a,
    ast.Not: lambda a: not a,
}
_COMPARE: Mapping[type, Callable[[Any, Any], bool]] = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}


class _TooLarge(Exception):
    """Raised mid-evaluation; turned into a ``PreviewError`` that names the subject."""


def _is_int(value: object) -> bool:
    return isinstance(value, int)


# --- the public entry points -------------------------------------------------------------


def fill_holes(text: str, sizes: Mapping[str, int], *, strict: bool = True) -> str:
    """``text`` with each ``{name}`` hole replaced by that size. With ``strict``, a hole that names no
    size is an error; without, it is left alone (a function body's braces are then refused later)."""

    def substitute(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name in sizes:
            return f"({int(sizes[name])!r})"
        if strict:
            raise PreviewError(f"cannot evaluate `{_short(text)}`: it needs `{name}`, which is not a loop size")
        return match.group(0)

    return _HOLE.sub(substitute, text)


def evaluate_expression(
    expression: Union[Expression, str], sizes: Mapping[str, int], *, missing: Optional[MissingResolver] = None
) -> Number:
    """The value of an ``Expression`` once its ``{name}`` holes are filled from ``sizes``."""
    text = expression.text if isinstance(expression, Expression) else expression
    subject = _short(text)
    tree = _parse(fill_holes(text, sizes), "eval", subject)
    assert isinstance(tree, ast.Expression)
    program = _Program(subject, None, [], tree.body, {}, sizes, missing, 0)
    return program.run_expression()


def compile_function(
    function: Function,
    sizes: Mapping[str, int],
    *,
    name: str = "lr_lambda",
    missing: Optional[MissingResolver] = None,
) -> Callable[[Number], Any]:
    """A Python callable of one argument that evaluates ``function``; everything it reads is checked
    (and every binding it reads resolved) now, so an unsupported body fails here, not mid-replay."""
    return _compile(function, sizes, name, missing, 0)


def _compile(
    function: Function, sizes: Mapping[str, int], name: str, missing: Optional[MissingResolver], nesting: int
) -> Callable[[Number], Any]:
    if nesting > MAX_HELPER_NESTING:
        raise PreviewError(f"cannot evaluate `{name}`: its functions call each other too deeply")
    statements: List[ast.stmt] = []
    if function.statements:
        source = "\n".join(textwrap.dedent(statement) for statement in function.statements)
        module = _parse(fill_holes(source, sizes, strict=False), "exec", name)
        assert isinstance(module, ast.Module)
        statements = list(module.body)
    body: Optional[ast.expr] = None
    if function.body.strip():
        tree = _parse(fill_holes(function.body.strip(), sizes, strict=False), "eval", name)
        assert isinstance(tree, ast.Expression)
        body = tree.body
    bindings = dict(function.bindings)
    program = _Program(name, function.parameter, statements, body, bindings, sizes, missing, nesting)
    return program.call


# --- parsing and checking ----------------------------------------------------------------


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse(source: str, mode: str, subject: str) -> ast.AST:
    if len(source) > MAX_SOURCE_CHARS:
        raise PreviewError(f"cannot evaluate `{subject}`: it is longer than {MAX_SOURCE_CHARS} characters")
    try:
        tree = ast.parse(source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        reason = error.msg if isinstance(error, SyntaxError) else type(error).__name__
        raise PreviewError(f"cannot evaluate `{subject}`: it is not Python lrlint can read ({reason})") from None
    count = 0
    for _ in ast.walk(tree):  # iterative, so a very deep tree cannot exhaust the stack here
        count += 1
        if count > MAX_NODES:
            raise PreviewError(f"cannot evaluate `{subject}`: it is too long (over {MAX_NODES} parts)")
    return tree


def _code(node: ast.AST) -> str:
    try:
        return _short(ast.unparse(node))
    except (RecursionError, ValueError):
        return type(node).__name__


def _assigned_names(statements: Sequence[ast.stmt]) -> Set[str]:
    names: Set[str] = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


class _Return(Exception):
    """Carries a ``return`` value out of nested ``if`` blocks."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _Program:
    """One parsed body, checked once and then evaluated as often as the scheduler asks."""

    def __init__(
        self,
        subject: str,
        parameter: Optional[str],
        statements: List[ast.stmt],
        body: Optional[ast.expr],
        bindings: Mapping[str, Value],
        sizes: Mapping[str, int],
        missing: Optional[MissingResolver],
        nesting: int,
    ) -> None:
        self.subject = subject
        self.parameter = parameter
        self.statements = statements
        self.body = body
        self.bindings = bindings
        self.sizes = sizes
        self.missing = missing
        self.nesting = nesting
        self.locals = _assigned_names(statements) | ({parameter} if parameter else set())
        self.values: Dict[str, Any] = {}  # bindings read, resolved once
        self.targets: Dict[int, Callable[..., Any]] = {}  # id(call node) -> the function it calls
        for statement in statements:
            self._check_statement(statement, 1)
        if body is not None:
            self._check(body, 1)

    # -- running ---------------------------------------------------------------------------

    def call(self, argument: Number) -> Any:
        """Run the function on ``argument``, as the scheduler calls its ``lr_lambda``."""
        scope: Dict[str, Any] = {self.parameter: argument} if self.parameter else {}
        try:
            self._run(self.statements, scope)
        except _Return as returned:
            return returned.value
        except _TooLarge as error:
            raise PreviewError(f"cannot evaluate `{self.subject}`: {error}") from None
        return self.run_expression(scope) if self.body is not None else None

    def run_expression(self, scope: Optional[Dict[str, Any]] = None) -> Any:
        assert self.body is not None
        try:
            return self._eval(self.body, scope if scope is not None else {})
        except _TooLarge as error:
            raise PreviewError(f"cannot evaluate `{self.subject}`: {error}") from None

    def _run(self, statements: Sequence[ast.stmt], scope: Dict[str, Any]) -> None:
        for statement in statements:
            if isinstance(statement, ast.Return):
                assert statement.value is not None
                raise _Return(self._eval(statement.value, scope))
            if isinstance(statement, ast.If):
                self._run(statement.body if self._eval(statement.test, scope) else statement.orelse, scope)
            elif isinstance(statement, ast.Assign):
                target = statement.targets[0]
                assert isinstance(target, ast.Name)
                scope[target.id] = self._eval(statement.value, scope)
            elif isinstance(statement, ast.AnnAssign):
                assert isinstance(statement.target, ast.Name) and statement.value is not None
                scope[statement.target.id] = self._eval(statement.value, scope)
            elif isinstance(statement, ast.AugAssign):
                assert isinstance(statement.target, ast.Name)
                current = self._read(statement.target.id, scope)
                scope[statement.target.id] = self._binary(statement.op, current, self._eval(statement.value, scope))
            # ``pass`` and docstrings do nothing

    def _eval(self, node: ast.expr, scope: Dict[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self._read(node.id, scope)
        if isinstance(node, ast.BinOp):
            return self._binary(node.op, self._eval(node.left, scope), self._eval(node.right, scope))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, scope))
        if isinstance(node, ast.BoolOp):
            return self._bool(node, scope)
        if isinstance(node, ast.Compare):
            return self._compare(node, scope)
        if isinstance(node, ast.IfExp):
            return self._eval(node.body if self._eval(node.test, scope) else node.orelse, scope)
        if isinstance(node, ast.Call):
            return self.targets[id(node)](*(self._eval(argument, scope) for argument in node.args))
        if isinstance(node, ast.Attribute):
            return _CONSTANTS[node.attr]
        raise AssertionError(f"unchecked node {type(node).__name__}")  # _check refuses everything else

    def _read(self, name: str, scope: Dict[str, Any]) -> Any:
        if name in scope:
            return scope[name]
        if name in self.locals:
            raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
        if name in self.values:
            return self.values[name]
        return _CONSTANTS[name]

    @staticmethod
    def _binary(op: ast.operator, left: Any, right: Any) -> Any:
        result = _BINARY[type(op)](left, right)
        if _is_int(result) and result.bit_length() > MAX_INT_BITS:
            raise _TooLarge("it computes an integer too large to use")
        return result

    def _bool(self, node: ast.BoolOp, scope: Dict[str, Any]) -> Any:
        value: Any = None
        for operand in node.values:
            value = self._eval(operand, scope)
            if (not value) if isinstance(node.op, ast.And) else value:
                return value  # short-circuit, returning the operand as Python does
        return value

    def _compare(self, node: ast.Compare, scope: Dict[str, Any]) -> bool:
        left = self._eval(node.left, scope)
        for op, comparator in zip(node.ops, node.comparators):
            right = self._eval(comparator, scope)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    # -- checking --------------------------------------------------------------------------

    def _refuse(self, why: str) -> PreviewError:
        return PreviewError(f"cannot evaluate `{self.subject}`: {why}")

    def _check_statement(self, node: ast.stmt, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self._refuse("it nests too deeply")
        if isinstance(node, ast.Return):
            if node.value is None:
                raise self._refuse("a `return` gives no value")
            self._check(node.value, depth + 1)
        elif isinstance(node, ast.If):
            self._check(node.test, depth + 1)
            for inner in node.body + node.orelse:
                self._check_statement(inner, depth + 1)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            self._check(node.value, depth + 1)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            self._check(node.value, depth + 1)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and type(node.op) in _BINARY:
            self._check(node.value, depth + 1)
        elif isinstance(node, ast.Pass):
            pass
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            pass  # a docstring
        else:
            first_line = _code(node).splitlines()[0] if _code(node) else type(node).__name__
            raise self._refuse(f"`{first_line}` is more than lrlint evaluates (if/return and simple assignments)")

    def _check(self, node: ast.expr, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self._refuse("it nests too deeply")
        children: Sequence[ast.expr] = ()
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)):
                raise self._refuse(f"it uses `{_code(node)}`, which is not a number")
        elif isinstance(node, ast.Name):
            self._check_read(node.id)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            children = (node.left, node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            children = (node.operand,)
        elif isinstance(node, ast.BoolOp):
            children = node.values
        elif isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            children = [node.left, *node.comparators]
        elif isinstance(node, ast.IfExp):
            children = (node.test, node.body, node.orelse)
        elif isinstance(node, ast.Call):
            self.targets[id(node)] = self._check_call(node)
            children = node.args
        elif isinstance(node, ast.Attribute):
            self._check_constant_attribute(node)
        else:
            raise self._refuse(f"`{_code(node)}` is not arithmetic lrlint can evaluate")
        for child in children:
            self._check(child, depth + 1)

    def _check_read(self, name: str) -> None:
        if name in self.locals:
            return
        if name in self.bindings:
            value = self._resolve(name)
            if callable(value):
                raise self._refuse(f"it uses the function `{name}` as a value")
            return
        if name not in _CONSTANTS:
            raise self._refuse(f"it reads `{name}`, which lrlint cannot see")

    def _check_call(self, node: ast.Call) -> Callable[..., Any]:
        written = _code(node.func)
        if node.keywords or any(isinstance(argument, ast.Starred) for argument in node.args):
            raise self._refuse(f"it calls `{written}` with keyword or unpacked arguments")
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in self.locals:
                raise self._refuse(f"it calls `{func.id}`, which lrlint cannot see")
            if func.id in self.bindings:
                bound = self.bindings[func.id]
                if not isinstance(bound, Function):
                    raise self._refuse(f"it calls `{func.id}`, which lrlint cannot see")
                return self._resolve(func.id)
            if func.id in _BUILTINS:
                return _BUILTINS[func.id]
            if func.id in _MATH:  # ``from math import cos``
                return _MATH[func.id]
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = func.value.id
            if module in _MODULES and not self._shadowed(module) and func.attr in _MODULES[module]:
                return _MODULES[module][func.attr]
            raise self._refuse(f"it calls `{written}`, which lrlint cannot evaluate")
        raise self._refuse(f"it calls `{written}`, which lrlint cannot see")

    def _check_constant_attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if (
            isinstance(value, ast.Name)
            and value.id in _MODULES
            and not self._shadowed(value.id)
            and node.attr in _CONSTANTS
        ):
            return
        raise self._refuse(f"it reads `{_code(node)}`, which lrlint cannot evaluate")

    def _shadowed(self, name: str) -> bool:
        return name in self.locals or name in self.bindings

    def _resolve(self, name: str) -> Any:
        """The value of a binding the body reads: a number, or a callable for a bound function."""
        if name not in self.values:
            self.values[name] = self._resolve_value(name, self.bindings[name])
        return self.values[name]

    def _resolve_value(self, name: str, value: Value) -> Any:
        if isinstance(value, bool) or isinstance(value, (int, float)):
            return value
        if isinstance(value, Expression):
            return evaluate_expression(value, self.sizes, missing=self.missing)
        if isinstance(value, Quantity) and value.name in self.sizes:
            return self.sizes[value.name]
        if isinstance(value, Function):
            return _compile(value, self.sizes, name, self.missing, self.nesting + 1)
        if isinstance(value, Missing):
            if self.missing is not None:
                return self.missing(value)
            raise self._refuse(f"it reads `{name}` (`{value.text}`), which is only known when the script runs")
        raise self._refuse(f"it reads `{name}`, which is not a number")
