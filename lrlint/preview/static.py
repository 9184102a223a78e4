"""From a script to ``SchedulePlan``s: each scheduler's constructor call and optimizer learning rates
as the script writes them, the cadence at which the script steps it, and, where lrlint reports a
finding about it, the stepping (or horizon) the script most likely meant.

It reads the training-loop model the rules read, plus the constructor arguments, which an
observer of the interpreter converts while their scope is still live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple, Union

import libcst as cst

from ..catalogue import RULES
from ..diagnostics import Diagnostic
from ..model import RETURNED_TO_LIGHTNING, Event, LoopKind, Role, Step, Tracked, TrainingLoopModel
from ..model import Loop as ModelLoop
from ..model.known import PARSED_ARGUMENT_NAMES, project_specs
from ..model.syntax import argument, walk
from ..model.values import Env, Func, tracked_in
from .errors import PreviewError
from .plan import (
    OPTIMIZER,
    Cadence,
    Expression,
    Function,
    Intended,
    Loop,
    Missing,
    Preview,
    Quantity,
    SchedulePlan,
    SchedulerCall,
    Stepping,
    StepSite,
    Value,
)

EPOCHS, STEPS_PER_EPOCH, ACCUMULATION = Quantity("epochs"), Quantity("steps_per_epoch"), Quantity("accumulation")
OPTION_OF = {"epochs": "--epochs", "steps_per_epoch": "--steps-per-epoch", "accumulation": "--accumulation"}

# What a learning-rate function may call; the replay's safe evaluator allows the same.
_FUNCTION_NAMES = frozenset(
    {"min", "max", "abs", "float", "int", "round", "pow", "math", "np", "numpy", "cos", "sin", "exp", "log"}
    | {"sqrt", "pi", "e", "floor", "ceil", "True", "False", "None"}
)
_ARITHMETIC_CALLS = frozenset({"int", "float", "round", "min", "max", "abs", "ceil", "floor", "sqrt", "pow"})
MAX_DEPTH = 6  # names followed through names

# The learning rate torch's optimizers use when the script gives none.
DEFAULT_LRS: Mapping[str, float] = {
    "SGD": 1e-3,
    "Adam": 1e-3,
    "AdamW": 1e-3,
    "RAdam": 1e-3,
    "NAdam": 2e-3,
    "Adamax": 2e-3,
    "RMSprop": 1e-2,
    "Adagrad": 1e-2,
    "ASGD": 1e-2,
    "Rprop": 1e-2,
    "Adadelta": 1.0,
    "LBFGS": 1.0,
    "SparseAdam": 1e-3,
}


class _Unknown(Exception):
    """An expression the preview cannot express; the caller turns it into ``Missing``."""


# --- reading constructor arguments ------------------------------------------------------


@dataclass
class Sizes:
    """Source text of the loop's sizes, as the script writes them (``args.epochs``, ``len(loader)``)."""

    by_text: Dict[str, Quantity] = field(default_factory=dict)
    loader_names: Set[str] = field(default_factory=set)  # what the batch loop iterates


class Capture:
    """Observes the interpreter: keeps each optimizer's and scheduler's call with a copy of the
    scope as it was at the call. The arguments are read after the run, once the loop's sizes are
    known; the copy keeps later rebindings (`scheduler = LambdaLR(opt, lr_lambda=scheduler)`,
    `lr = ...` after the optimizer) out of them."""

    def __init__(self) -> None:
        self.calls: Dict[Tracked, Tuple[cst.Call, Env, object]] = {}

    def __call__(self, obj: Tracked, env: Env, interpreter: object) -> None:
        if obj.node is not None and obj.entry is None:  # built here, not in a followed module
            self.calls[obj] = (obj.node, _snapshot(env), interpreter)


def _snapshot(env: Optional[Env]) -> Optional[Env]:
    """The scope chain with its bindings copied (the values themselves are shared)."""
    if env is None:
        return None
    copy = Env(_snapshot(env.parent), env.is_class)
    copy.values, copy.exprs, copy.arguments = dict(env.values), dict(env.exprs), dict(env.arguments)
    copy.parameters, copy.globals, copy.star_imports = set(env.parameters), set(env.globals), list(env.star_imports)
    return copy


class ValueReader:
    """Turns argument expressions into plan values, given the loop's sizes."""

    def __init__(self, capture: Capture, sizes: Sizes) -> None:
        self.capture = capture
        self.sizes = sizes
        self._parts: Optional[List[str]] = None  # collecting a Missing's parts (see _template)
        self._reading: Set[Tracked] = set()  # the calls being read, against a call naming itself
        self._schedulers: Dict[Tracked, SchedulerCall] = {}

    def scheduler_call(self, obj: Tracked) -> SchedulerCall:
        if obj in self._reading:  # its own arguments name it: read at the wrong time, never guessed
            raise _Unknown()
        if obj not in self._schedulers:
            self._reading.add(obj)
            try:
                self._schedulers[obj] = self._read_call(obj)
            finally:
                self._reading.discard(obj)
        return self._schedulers[obj]

    def _read_call(self, obj: Tracked) -> SchedulerCall:
        node, env, interpreter = self.capture.calls[obj]
        assert obj.spec is not None and obj.qualname is not None
        args: List[Value] = []
        kwargs: List[Tuple[str, Value]] = []
        for index, arg in enumerate(a for a in node.args if a.keyword is None):
            if arg.star:
                raise PreviewError(f"{obj.label}: `{_code(arg)}` unpacks its arguments")
            optimizer = index == obj.spec.optimizer_position
            args.append(OPTIMIZER if optimizer else self.value(arg.value, env, interpreter))
        for arg in node.args:
            if arg.keyword is not None:
                name = arg.keyword.value
                kwargs.append((name, OPTIMIZER if name == "optimizer" else self.value(arg.value, env, interpreter)))
            elif arg.star == "**":
                raise PreviewError(f"{obj.label}: `{_code(arg)}` unpacks its arguments")
        return SchedulerCall(obj.qualname, tuple(args), tuple(kwargs), obj.label)

    def base_lrs(self, optimizer: Tracked) -> Tuple[Value, ...]:
        """The learning rate of each param group: the group's own ``lr``, else the optimizer's."""
        if optimizer not in self.capture.calls:
            return (Missing("the optimizer's learning rate", "--lr"),)
        node, env, interpreter = self.capture.calls[optimizer]
        default = self._optimizer_lr(node, optimizer, env, interpreter)
        params = argument(node, "params", 0)
        groups = params if isinstance(params, (cst.List, cst.Tuple)) else None
        if groups is None or not groups.elements or not all(isinstance(e.value, cst.Dict) for e in groups.elements):
            return (default,)
        return tuple(self._group_lr(element.value, default, env, interpreter) for element in groups.elements)

    def _optimizer_lr(self, node: cst.Call, optimizer: Tracked, env: Env, interpreter: object) -> Value:
        expr = argument(node, "lr", 1)
        if expr is not None:
            return self.value(expr, env, interpreter, option="--lr")
        short = (optimizer.qualname or "").rsplit(".", 1)[-1]
        if short in DEFAULT_LRS and (optimizer.qualname or "").startswith("torch.optim."):
            return DEFAULT_LRS[short]
        return Missing(f"the learning rate of {short or 'the optimizer'}", "--lr")

    def _group_lr(self, group: cst.Dict, default: Value, env: Env, interpreter: object) -> Value:
        for element in group.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                if element.key.evaluated_value == "lr":
                    return self.value(element.value, env, interpreter, option="--lr")
        return default

    def value(self, expr: cst.BaseExpression, env: Env, interpreter: object, option: Optional[str] = None) -> Value:
        """A plan value for ``expr``; ``Missing`` (supplied by ``option``) when it is not a
        literal, a size of the loop, or arithmetic over those."""
        try:
            return self._value(expr, env, interpreter, 0)
        except _Unknown:
            pass
        template, parts = self._template(expr, env, interpreter)
        return Missing(_code(expr), option, template, parts) if parts else Missing(_code(expr), option)

    def _template(
        self, expr: cst.BaseExpression, env: Env, interpreter: object
    ) -> Tuple[Optional[str], Tuple[str, ...]]:
        """Arithmetic whose unknown leaves become `<<i>>` holes: `self.hparams.lr / 10` is
        `(<<0>> / 10)` with the part `self.hparams.lr`, which --lr or --set can fill."""
        if not isinstance(expr, (cst.BinaryOperation, cst.UnaryOperation, cst.Call)):
            return None, ()
        self._parts = []
        try:
            template = self._arithmetic(expr, env, interpreter, 0)
        except _Unknown:
            return None, ()
        finally:
            parts, self._parts = tuple(self._parts), None
        return template, parts

    def _value(self, expr: cst.BaseExpression, env: Env, interpreter: object, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise _Unknown()
        quantity = self._size(expr)
        if quantity is not None:
            return quantity
        literal = _literal(expr)
        if literal is not _NOT_LITERAL:
            return literal  # type: ignore[return-value]
        if isinstance(expr, (cst.List, cst.Tuple)):
            return tuple(self._value(element.value, env, interpreter, depth + 1) for element in expr.elements)
        if isinstance(expr, cst.Lambda):
            return self._function(expr, env, interpreter, depth)
        if isinstance(expr, cst.Name):
            return self._name(expr, env, interpreter, depth)
        if isinstance(expr, cst.Attribute):
            default = interpreter.command_line_default(expr)  # type: ignore[attr-defined]
            if default is not None:
                return _number(default)
            raise _Unknown()
        return Expression(self._arithmetic(expr, env, interpreter, depth))

    def _name(self, expr: cst.Name, env: Env, interpreter: object, depth: int) -> Value:
        bound, _ = env.lookup(expr.value)
        schedulers = [obj for obj in tracked_in(bound) if obj.role is Role.SCHEDULER] if bound is not None else []
        if len(schedulers) == 1 and schedulers[0] in self.capture.calls:
            return self.scheduler_call(schedulers[0])
        if isinstance(bound, Func):
            return self._function(bound.node, bound.env, interpreter, depth)
        defined = env.lookup_expr(expr.value)
        if defined is None or defined is expr:
            raise _Unknown()
        return self._value(defined, env, interpreter, depth + 1)

    def _size(self, expr: cst.BaseExpression) -> Optional[Value]:
        text = _code(expr)
        if text in self.sizes.by_text:
            return self.sizes.by_text[text]
        if text.endswith("trainer.estimated_stepping_batches"):  # Lightning: the optimizer steps of the run
            return Expression("{epochs} * {steps_per_epoch} // {accumulation}")
        if text.endswith("trainer.max_epochs"):
            return EPOCHS
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "len" and expr.args:
            argument = _code(expr.args[0].value)
            if argument in self.sizes.loader_names or "loader" in argument.lower():
                return STEPS_PER_EPOCH
        return None

    def _arithmetic(self, expr: cst.BaseExpression, env: Env, interpreter: object, depth: int) -> str:
        """Python text with ``{name}`` holes for the sizes; raises ``_Unknown`` on anything else."""
        if depth > MAX_DEPTH:
            raise _Unknown()
        if isinstance(expr, cst.BinaryOperation):
            operator = _code(expr.operator).strip()
            left = self._arithmetic(expr.left, env, interpreter, depth + 1)
            right = self._arithmetic(expr.right, env, interpreter, depth + 1)
            return f"({left} {operator} {right})"
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
            return f"({_code(expr.operator).strip()}{self._arithmetic(expr.expression, env, interpreter, depth + 1)})"
        if isinstance(expr, cst.Call) and not self._size(expr):
            name = _code(expr.func)
            short = name.rsplit(".", 1)[-1]
            if (
                short in _ARITHMETIC_CALLS
                and name in (short, f"math.{short}")
                and all(arg.keyword is None and not arg.star for arg in expr.args)
            ):
                inner = ", ".join(self._arithmetic(arg.value, env, interpreter, depth + 1) for arg in expr.args)
                return f"{name}({inner})"
            raise _Unknown()
        try:
            return _as_text(self._value(expr, env, interpreter, depth + 1))
        except _Unknown:
            if self._parts is None or not isinstance(expr, (cst.Name, cst.Attribute, cst.Subscript)):
                raise
            self._parts.append(_code(expr))
            return f"<<{len(self._parts) - 1}>>"

    def _function(
        self, node: Union[cst.Lambda, cst.FunctionDef], env: Env, interpreter: object, depth: int
    ) -> Function:
        parameters = node.params.params
        if len(parameters) != 1 or node.params.star_arg not in (None, cst.MaybeSentinel.DEFAULT):
            raise _Unknown()
        parameter = parameters[0].name.value
        options = _CommandLineOptions()
        node = node.visit(options)  # `args.warmup` -> a name bound to its argparse default
        if isinstance(node, cst.Lambda):
            body, statements = _code(node.body), ()
        else:
            body, statements = self._def_body(node)
        local = {parameter} | _assigned_names(node)
        bindings: List[Tuple[str, Value]] = []
        for name, attribute in sorted(options.replaced.items()):
            default = interpreter.command_line_default(attribute)  # type: ignore[attr-defined]
            bindings.append((name, _number(default) if default is not None else Missing(_code(attribute))))
        for name in sorted(_free_names(node) - local - _FUNCTION_NAMES - set(options.replaced)):
            lookup_env = env
            try:
                bindings.append((name, self._value(cst.Name(name), lookup_env, interpreter, depth + 1)))
            except _Unknown:
                defined = lookup_env.lookup_expr(name)
                bindings.append((name, Missing(_code(defined) if defined is not None else name)))
        return Function(parameter, body, tuple(bindings), statements)

    @staticmethod
    def _def_body(node: cst.FunctionDef) -> Tuple[str, Tuple[str, ...]]:
        block = node.body
        statements = (
            [statement for statement in block.body if not _is_docstring(statement)]
            if isinstance(block, cst.IndentedBlock)
            else [block]
        )
        if len(statements) == 1 and isinstance(statements[0], cst.SimpleStatementLine):
            only = statements[0].body
            if len(only) == 1 and isinstance(only[0], cst.Return) and only[0].value is not None:
                return _code(only[0].value), ()
        texts = tuple(cst.Module(body=[statement]).code.strip("\n") for statement in statements)
        return "", texts


_NOT_LITERAL = object()


def _number(value: float) -> Union[int, float]:
    """An argparse default as the script sees it: `default=30` is an int (torch rejects
    `epochs=30.0`); the interpreter hands every default over as a float."""
    return int(value) if float(value).is_integer() else value


class _CommandLineOptions(cst.CSTTransformer):
    """Replaces `args.NAME` in a learning-rate function with a plain name, bound by the caller to
    the option's default (or left for `--set args.NAME=VALUE`)."""

    def __init__(self) -> None:
        self.replaced: Dict[str, cst.Attribute] = {}

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if isinstance(original.value, cst.Name) and original.value.value in PARSED_ARGUMENT_NAMES:
            name = f"{original.value.value}__{original.attr.value}"
            self.replaced[name] = original
            return cst.Name(name)
        return updated


def _literal(expr: cst.BaseExpression) -> object:
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if isinstance(expr, cst.Float):
        return float(expr.evaluated_value)
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[expr.value]
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = _literal(expr.expression)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
    return _NOT_LITERAL


def _as_text(value: Value) -> str:
    if isinstance(value, bool) or value is None:
        raise _Unknown()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Quantity):
        return "{" + value.name + "}"
    if isinstance(value, Expression):
        return f"({value.text})"
    raise _Unknown()


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        self.read: Set[str] = set()
        self.assigned: Set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # `math.cos`: `math` is read, `cos` is not a name
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.read.add(node.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if isinstance(node.target, cst.Name):
            self.assigned.add(node.target.value)

    def visit_Param(self, node: cst.Param) -> bool:
        self.assigned.add(node.name.value)
        return False


def _names(node: cst.CSTNode) -> _Names:
    names = _Names()
    body = node.body
    body.visit(names) if isinstance(body, cst.CSTNode) else None
    return names


def _free_names(node: Union[cst.Lambda, cst.FunctionDef]) -> Set[str]:
    return _names(node).read


def _assigned_names(node: Union[cst.Lambda, cst.FunctionDef]) -> Set[str]:
    return _names(node).assigned


# --- the training loop ------------------------------------------------------------------


@dataclass
class TrainingLoop:
    """The loops around the optimizer step that trains with the scheduler's rates."""

    optimizer_step: Event  # the optimizer step, or a call that trains a whole epoch (`train_one_epoch(...)`)
    batch: Optional[ModelLoop]  # None: the optimizer steps once per epoch (full-batch training)
    epoch: Optional[ModelLoop]  # None: a single pass over the data
    accumulation_test: Optional[cst.BaseExpression]  # `(i + 1) % accum == 0` around the update
    trained_by: Optional[str] = None  # the epoch's batches run in this call, which lrlint cannot see


def training_loop(model: TrainingLoopModel, scheduler: Tracked) -> Optional[TrainingLoop]:
    """The optimizer step of the optimizer the scheduler drives, and its loops; else an epoch loop
    whose training runs in a call lrlint cannot see (`train_one_epoch(model, loader, optimizer)`)."""
    found = _optimizer_step_loop(model, scheduler)
    if found is not None:
        return found
    for call in model.calls:
        drives = scheduler.optimizers is not None and bool(set(call.passed) & set(scheduler.optimizers))
        loop = call.loop
        if (call.trains or drives) and loop is not None and loop.kind is LoopKind.EPOCH and call.root == scheduler.root:
            return TrainingLoop(call, None, loop, None, trained_by=model.text(call.node))
    return None


def _optimizer_step_loop(model: TrainingLoopModel, scheduler: Tracked) -> Optional[TrainingLoop]:
    for step in model.optimizer_steps():
        if scheduler.optimizers is not None and not set(step.targets) & set(scheduler.optimizers):
            continue
        if step.root != scheduler.root and scheduler.optimizers is None:
            continue
        innermost = step.loop
        if innermost is None:
            return None
        if innermost.kind is LoopKind.EPOCH:
            return TrainingLoop(step, None, innermost, None)
        modulo = next((c.test for c in step.conditions_within(innermost) if c.modulo), None)
        return TrainingLoop(step, innermost, innermost.parent, modulo)
    return None


def loop_sizes(loop: TrainingLoop, interpreter: object, sizes: Sizes, env: Env) -> Loop:
    """The number of epochs, batches per epoch and batches per update, each a number when the
    script writes one, else ``Missing`` naming the expression and the option that supplies it."""
    epochs = _loop_count(loop.epoch, interpreter, sizes, EPOCHS) if loop.epoch is not None else 1
    if loop.trained_by is not None:
        batches: Union[int, Missing] = Missing(f"the batches `{loop.trained_by}` trains on", "--steps-per-epoch")
    elif loop.batch is None:
        batches = 1
    else:
        batches = _loop_count(loop.batch, interpreter, sizes, STEPS_PER_EPOCH)
    accumulation: Union[int, Missing] = 1
    if loop.accumulation_test is not None:
        accumulation = _accumulation(loop.accumulation_test, interpreter, sizes, env)
    return Loop(epochs, batches, accumulation)


def _loop_count(loop: ModelLoop, interpreter: object, sizes: Sizes, quantity: Quantity) -> Union[int, Missing]:
    option = OPTION_OF[quantity.name]
    iterable = _iterable(loop.node, interpreter.model)  # type: ignore[attr-defined]
    if iterable is not None:
        bound = _range_bound(iterable)
        if bound is not None:
            if _literal(bound) is _NOT_LITERAL:  # a literal 10 elsewhere need not be this count
                sizes.by_text[_code(bound)] = quantity
        else:
            sizes.loader_names.add(_code(_unwrapped(iterable)))
    if loop.count is not None and float(loop.count).is_integer():
        return int(loop.count)
    if iterable is None:
        return Missing("the length of the `while` loop", option)
    bound = _range_bound(iterable)
    if bound is not None:
        literal = _literal(bound)
        if isinstance(literal, int) and not isinstance(literal, bool) and literal > 0:
            return literal
        default = interpreter.command_line_default(bound)  # type: ignore[attr-defined]
        if default is not None and float(default).is_integer():
            return int(default)
        return Missing(_code(bound), option)
    return Missing(f"len({_code(_unwrapped(iterable))})", option)


def _iterable(node: cst.CSTNode, model: TrainingLoopModel) -> Optional[cst.BaseExpression]:
    """What a `for` loop iterates; a name bound once to a range (`epoch_iter = tqdm(range(n))`)
    is that range."""
    if not isinstance(node, cst.For):
        return None
    iterable = node.iter
    if isinstance(iterable, cst.Name):
        bound = {_code(binding.expr) for binding in model.bindings.get(iterable.value, []) if binding.expr is not None}
        expressions = [b.expr for b in model.bindings.get(iterable.value, [])]
        if len(bound) == 1 and all(expr is not None for expr in expressions) and _range_bound(expressions[0]):
            return expressions[0]  # a loader stays a name: `len(loader)` is how scripts size it
    return iterable


def _unwrapped(iterable: cst.BaseExpression) -> cst.BaseExpression:
    """`enumerate(tqdm(loader, desc=...))` -> `loader`."""
    while isinstance(iterable, cst.Call) and _code(iterable.func).rsplit(".", 1)[-1] in ("enumerate", "tqdm"):
        positional = [arg for arg in iterable.args if arg.keyword is None and not arg.star]
        if not positional:
            break
        iterable = positional[0].value
    return iterable


def _range_bound(iterable: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """N in `range(N)`, `range(0, N)`, `trange(N)` (also under enumerate/tqdm)."""
    iterable = _unwrapped(iterable)
    if not isinstance(iterable, cst.Call) or _code(iterable.func).rsplit(".", 1)[-1] not in ("range", "trange"):
        return None
    positional = [arg for arg in iterable.args if arg.keyword is None and not arg.star]
    if len(positional) == 1:
        return positional[0].value
    if len(positional) == 2 and _literal(positional[0].value) == 0:
        return positional[1].value
    return None


def _accumulation(test: cst.BaseExpression, interpreter: object, sizes: Sizes, env: Env) -> Union[int, Missing]:
    """k in `(i + 1) % k == 0` (or `step % k == 0`); a name is read where the scheduler was built."""
    modulo = next(
        (
            node
            for node in walk(test)
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo)
        ),
        None,
    )
    if modulo is None:
        return Missing(_code(test), OPTION_OF["accumulation"])
    divisor = modulo.right
    if _literal(divisor) is _NOT_LITERAL:
        sizes.by_text[_code(divisor)] = ACCUMULATION
    defined = env.lookup_expr(divisor.value) if isinstance(divisor, cst.Name) else None
    literal = _literal(defined if defined is not None else divisor)
    if isinstance(literal, int) and not isinstance(literal, bool):
        return literal
    default = interpreter.command_line_default(divisor)  # type: ignore[attr-defined]
    if default is not None and float(default).is_integer():
        return int(default)
    return Missing(_code(divisor), OPTION_OF["accumulation"])


# --- stepping ---------------------------------------------------------------------------


def stepping(model: TrainingLoopModel, scheduler: Tracked, loop: TrainingLoop) -> Tuple[Stepping, List[str]]:
    """The scheduler's step sites relative to the training loop, and notes on what was assumed or
    left out."""
    sites: List[StepSite] = []
    notes: List[str] = []
    for step in model.scheduler_steps():
        if not any(target is scheduler for target in step.targets):
            continue
        if len(step.targets) > 1 and not step.each:
            notes.append(f"`{model.text(step.node)}` steps one of several schedulers; left out")
            continue
        site = _site(step, loop, scheduler)
        if site is None:
            notes.append(f"`{model.text(step.node)}` is not in the training loop's epoch or batch loop; left out")
            continue
        sites.append(site)
        for condition in step.conditions:
            if not condition.modulo and not any(condition is mine for mine in loop.optimizer_step.conditions):
                condition_text = model.text(condition.test)
                notes.append(f"assumes `{condition_text}` holds whenever `{model.text(step.node)}` is reached")
    return Stepping(tuple(sites)), notes


def _site(step: Step, loop: TrainingLoop, scheduler: Tracked) -> Optional[StepSite]:
    metric = bool(scheduler.needs_metric and (step.positional_args or step.keyword("metrics")))
    before = step.seq < loop.optimizer_step.seq
    if loop.batch is not None and step.loop is loop.batch:
        accumulated = loop.accumulation_test is not None and any(
            condition.modulo and condition.test is loop.accumulation_test for condition in step.conditions
        )
        if loop.accumulation_test is None or accumulated:
            return StepSite(Cadence.PER_UPDATE, before_optimizer=before, metric=metric)
        return StepSite(Cadence.PER_BATCH, before_optimizer=before, metric=metric)
    if loop.epoch is not None and step.loop is loop.epoch:
        if loop.batch is None and loop.trained_by is None:  # full-batch: the epoch is the update
            return StepSite(Cadence.PER_UPDATE, before_optimizer=before, metric=metric)
        return StepSite(Cadence.BEFORE_EPOCH if before else Cadence.PER_EPOCH, metric=metric)
    return None


# --- what the script meant --------------------------------------------------------------

_PER_UPDATE = StepSite(Cadence.PER_UPDATE)
_PER_EPOCH = StepSite(Cadence.PER_EPOCH)


def intended(codes: FrozenSet[str], scheduler: Tracked, actual: Stepping, call: SchedulerCall) -> Optional[Intended]:
    """The stepping (or horizon) that the findings about this scheduler point to."""
    metric = scheduler.needs_metric
    name = scheduler.kind
    counts_steps = bool(scheduler.spec and (scheduler.spec.per_step or scheduler.horizon.value == "steps"))
    if "LR002" in codes or ("LR009" in codes and counts_steps):
        code = "LR002" if "LR002" in codes else "LR009"
        reason = f"{name} counts optimizer steps: step it once after each optimizer step"
        return Intended((code,), reason, Stepping((replace(_PER_UPDATE, metric=metric),)))
    if "LR011" in codes and counts_steps and all(site.cadence is Cadence.PER_EPOCH for site in actual.sites):
        reason = f'Lightning steps {name} once per epoch unless its config says "interval": "step"'
        return Intended(("LR011",), reason, Stepping((replace(_PER_UPDATE, metric=metric),)))
    if "LR003" in codes:
        reason = f"{name} counts epochs: step it once after each epoch"
        return Intended(("LR003",), reason, Stepping((replace(_PER_EPOCH, metric=metric),)))
    if "LR009" in codes:
        reason = "the optimizer steps only on some batches: step the scheduler with it"
        sites = tuple(
            replace(site, cadence=Cadence.PER_UPDATE) if site.cadence is Cadence.PER_BATCH else site
            for site in actual.sites
        )
        return Intended(("LR009",), reason, Stepping(sites))
    if "LR014" in codes and len(actual.sites) > 1:
        keep = _kept_site(actual, counts_steps)
        return Intended(("LR014",), f"{name} is stepped twice per iteration: step it once", Stepping((keep,)))
    if "LR001" in codes:
        sites = tuple(_after_optimizer(site) for site in actual.sites)
        return Intended(
            ("LR001",), "step the scheduler after the optimizer, or its first value is skipped", Stepping(sites)
        )
    if "LR005" in codes:
        sites = tuple(replace(site, metric=True) for site in actual.sites)
        return Intended(("LR005",), "ReduceLROnPlateau needs the monitored metric: step(metric)", Stepping(sites))
    if "LR004" in codes and actual.never:
        if scheduler.horizon.value == "steps" or counts_steps:
            return Intended(
                ("LR004",), f"{name} is never stepped: step it after each optimizer step", Stepping((_PER_UPDATE,))
            )
        # PyTorch documents its other schedulers as stepped once per epoch.
        return Intended(("LR004",), f"{name} is never stepped: step it after each epoch", Stepping((_PER_EPOCH,)))
    if "LR012" in codes:
        fixed = _horizon_fixed(call, actual)
        if fixed is not None:
            return Intended(("LR012",), f"{name}'s horizon set to the loop it is stepped in", scheduler=fixed)
    return None


def _kept_site(actual: Stepping, counts_steps: bool) -> StepSite:
    wanted = (Cadence.PER_UPDATE, Cadence.PER_BATCH) if counts_steps else (Cadence.PER_EPOCH, Cadence.BEFORE_EPOCH)
    return next((site for site in actual.sites if site.cadence in wanted), actual.sites[0])


def _after_optimizer(site: StepSite) -> StepSite:
    if site.cadence is Cadence.BEFORE_EPOCH:
        return replace(site, cadence=Cadence.PER_EPOCH)
    return replace(site, before_optimizer=False)


def _horizon_fixed(call: SchedulerCall, actual: Stepping) -> Optional[SchedulerCall]:
    """CosineAnnealingLR's T_max, OneCycleLR's epochs/total_steps: the length of the loop it is stepped in."""
    per_epoch = bool(actual.sites) and all(
        site.cadence in (Cadence.PER_EPOCH, Cadence.BEFORE_EPOCH) for site in actual.sites
    )
    short = call.qualname.rsplit(".", 1)[-1]
    if short == "CosineAnnealingLR":
        horizon: Value = EPOCHS if per_epoch else Expression("{epochs} * {steps_per_epoch} // {accumulation}")
        return _with_argument(call, "T_max", 1, horizon)
    if short == "OneCycleLR":
        if call.keyword("total_steps") is not None or len(call.args) > 2:
            return _with_argument(call, "total_steps", 2, Expression("{epochs} * {steps_per_epoch} // {accumulation}"))
        return _with_argument(call, "epochs", 3, EPOCHS)
    return None


def _with_argument(call: SchedulerCall, name: str, position: int, value: Value) -> SchedulerCall:
    if call.keyword(name) is not None or len(call.args) <= position:
        kwargs = tuple((key, value if key == name else old) for key, old in call.kwargs)
        if call.keyword(name) is None:
            kwargs += ((name, value),)
        return replace(call, kwargs=kwargs)
    args = tuple(value if index == position else old for index, old in enumerate(call.args))
    return replace(call, args=args)


# --- the whole script -------------------------------------------------------------------


def read_preview(
    source: str,
    path: str,
    schedulers: Optional[Mapping[str, Tuple[str, ...]]] = None,
    source_file: Optional[Path] = None,
) -> Preview:
    """Every scheduler of the script that can be replayed, with the reason for each that cannot."""
    from ..engine import _parse
    from ..model import build_model
    from ..project import ProjectModules
    from ..rules import run_rules

    module = _parse(source, path)
    if isinstance(module, Diagnostic):
        raise PreviewError(f"{path}:{module.line}:{module.column}: {module.message}")
    capture = Capture()
    modules = ProjectModules(source_file) if source_file is not None else None
    model = build_model(module, path, project_specs(schedulers), modules, observe=capture)
    findings = run_rules(model, frozenset(RULES) - {"LR000"})
    lines = _construction_lines(module, model)
    codes_by_scheduler = _codes_by_scheduler(model, findings)
    plans: List[SchedulePlan] = []
    notes: List[str] = []
    loop_model: Optional[Loop] = None
    sizes = Sizes()
    candidates = [obj for obj in model.schedulers() if obj in capture.calls]
    for obj in model.schedulers():
        if obj not in capture.calls:
            notes.append(f"{obj.label}: built outside this file; not previewed")
    for scheduler in candidates:
        if any(escape.startswith("combined into") for escape in scheduler.escapes):
            continue  # replayed inside the SequentialLR/ChainedScheduler that holds it
        where = f"{scheduler.label} (line {lines[scheduler]})"
        framework = _framework(scheduler)
        problem = _unpreviewable(scheduler) if framework is None else None
        if problem:
            notes.append(f"{where}: {problem}; not previewed")
            continue
        if framework is not None:
            actual, step_notes = framework_stepping(model, scheduler, framework)
            sizes_here = framework_loop(module)
        else:
            loop = training_loop(model, scheduler)
            if loop is None:
                notes.append(f"{where}: no optimizer step in a loop; not previewed")
                continue
            _, env, interpreter = capture.calls[scheduler]
            sizes_here = loop_sizes(loop, interpreter, sizes, env)
            actual, step_notes = stepping(model, scheduler, loop)
        if actual is None:
            notes.append(f"{where}: {'; '.join(step_notes)}; not previewed")
            continue
        loop_model = loop_model or sizes_here
        codes = codes_by_scheduler.get(scheduler, frozenset())
        plan, plan_notes = _plan(model, scheduler, actual, sizes, capture, codes, lines[scheduler])
        notes.extend(f"{where}: {note}" for note in step_notes + plan_notes)
        if plan is not None:
            plans.append(plan)
    return Preview(
        path,
        loop_model or Loop(Missing("the epoch loop", "--epochs"), Missing("the batch loop", "--steps-per-epoch")),
        tuple(plans),
        tuple(notes),
    )


def _plan(
    model: TrainingLoopModel,
    scheduler: Tracked,
    actual: Stepping,
    sizes: Sizes,
    capture: Capture,
    codes: FrozenSet[str],
    line: int,
) -> Tuple[Optional[SchedulePlan], List[str]]:
    unreplayable = _unreplayable(model, scheduler, codes)
    if unreplayable is not None:
        return None, [f"{unreplayable}; not previewed"]
    reader = ValueReader(capture, sizes)
    try:
        call = replace(reader.scheduler_call(scheduler), line=line)
    except PreviewError as error:
        return None, [str(error)]
    optimizers = sorted(scheduler.optimizers or (), key=lambda obj: obj.serial)
    base_lrs = (
        reader.base_lrs(optimizers[0]) if len(optimizers) == 1 else (Missing("the optimizer's learning rate", "--lr"),)
    )
    notes: List[str] = []
    meant = intended(codes, scheduler, actual, call)
    if meant is not None and meant.scheduler is None and meant.stepping == actual:
        meant = None  # the same curve (LR009 where batches are skipped at random): nothing to draw beside it
    if meant is not None:  # the legend names the finding
        meant = replace(meant, reason=f"{', '.join(meant.codes)}: {meant.reason}")
    notes.extend(_BESIDE_THE_CURVE[code] for code in sorted(codes) if code in _BESIDE_THE_CURVE)
    return SchedulePlan(call, base_lrs, actual, meant), notes


# Findings whose effect the replay does not show: said beside the curve.
_BESIDE_THE_CURVE = {
    "LR013": "the script also writes the learning rate itself (LR013); the curve shows the scheduler's rates alone",
    "LR015": "the optimizer this scheduler drives is never stepped (LR015); the curve is the rate it would set",
    "LR016": "its metric never changes (LR016); the curve follows the --metric values given",
}


def _unreplayable(model: TrainingLoopModel, scheduler: Tracked, codes: FrozenSet[str]) -> Optional[str]:
    """Why the script's curve cannot be replayed from the code alone, or None."""
    if "LR008" in codes:
        return "it is built inside the training loop, so it restarts there (LR008)"
    if scheduler.needs_metric:
        return None
    for step in model.steps_of(scheduler):
        if step.method == "step" and (step.positional_args or step.keyword("epoch")):
            return f"`{model.text(step.node)}` passes the epoch number itself, known only when the script runs"
    return None


# --- schedulers that a framework steps ---------------------------------------------------

LIGHTNING, HF_TRAINER = "Lightning", "transformers.Trainer"
# The framework decides the loop: its sizes come from the options.
FRAMEWORK_LOOP = Loop(
    Missing("the number of epochs the trainer runs", "--epochs"),
    Missing("the number of batches per epoch", "--steps-per-epoch"),
)


def _framework(scheduler: Tracked) -> Optional[str]:
    """The framework that steps this scheduler, when handing it over is all that happens to it."""
    if not scheduler.escapes or scheduler.is_timm or scheduler.custom or scheduler.dynamic_kind:
        return None
    if all(escape == RETURNED_TO_LIGHTNING for escape in scheduler.escapes):
        return LIGHTNING
    if all(re.fullmatch(r"passed to ([\w.]+\.)?\w*Trainer\(\)", escape) for escape in scheduler.escapes):
        return HF_TRAINER
    return None


def framework_stepping(
    model: TrainingLoopModel, scheduler: Tracked, framework: str
) -> Tuple[Optional[Stepping], List[str]]:
    """How the framework steps it (None, with the reason, where the configuration hides it)."""
    if framework == HF_TRAINER:
        if scheduler.needs_metric:
            return None, ["transformers.Trainer steps a ReduceLROnPlateau with its evaluation metric"]
        return Stepping((StepSite(Cadence.PER_UPDATE),)), []  # the Trainer steps it after each update
    configs = [config for config in model.lightning_configs if scheduler in config.schedulers]
    if len(configs) != 1 or configs[0].class_name in model.manual_optimization:
        return None, ["returned to Lightning in a way lrlint does not follow"]
    config = configs[0]
    if any(override.class_name == config.class_name for override in model.overrides):
        return None, ["the module steps it itself in lr_scheduler_step()"]
    frequency = _dict_entries(config.node).get("frequency") if isinstance(config.node, cst.Dict) else None
    if frequency is not None and _literal(frequency) != 1:
        return None, ['Lightning steps it every "frequency" intervals']
    if config.interval not in (None, "step", "epoch"):
        return None, ['its "interval" is only known when the script runs']
    if scheduler.needs_metric and not config.has_monitor:
        return None, ['Lightning refuses a ReduceLROnPlateau without "monitor" (LR011)']
    cadence = Cadence.PER_UPDATE if config.interval == "step" else Cadence.PER_EPOCH
    return Stepping((StepSite(cadence, metric=scheduler.needs_metric),)), []


def _dict_entries(node: cst.Dict) -> Dict[str, cst.BaseExpression]:
    return {
        str(element.key.evaluated_value): element.value
        for element in node.elements
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)
    }


_TRAINER_EPOCHS = {"Trainer": "max_epochs", "TrainingArguments": "num_train_epochs"}


def framework_loop(module: cst.Module) -> Loop:
    """The framework's loop: its epochs where the script gives one literal count
    (`Trainer(max_epochs=50)`, `TrainingArguments(num_train_epochs=3)`), else from the options."""
    counts = set()
    for node in walk(module):
        if isinstance(node, cst.Call):
            name = _code(node.func).rsplit(".", 1)[-1]
            keyword = next((k for suffix, k in _TRAINER_EPOCHS.items() if name.endswith(suffix)), None)
            value = _argument_named(node, keyword) if keyword else None
            literal = _literal(value) if value is not None else None
            if isinstance(literal, int) and not isinstance(literal, bool) and literal > 0:
                counts.add(literal)
    epochs = counts.pop() if len(counts) == 1 else FRAMEWORK_LOOP.epochs
    return replace(FRAMEWORK_LOOP, epochs=epochs)


def _argument_named(node: cst.Call, keyword: str) -> Optional[cst.BaseExpression]:
    return next((arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == keyword), None)


def _unpreviewable(scheduler: Tracked) -> Optional[str]:
    if scheduler.is_timm:
        return "a timm scheduler (the preview replays torch's)"
    if scheduler.custom:
        return "a scheduler class of this project"
    if scheduler.dynamic_kind:
        return "its kind is chosen at run time"
    if scheduler.escapes:
        return f"it is handed to code lrlint cannot see ({scheduler.escapes[0]})"
    return None


def _codes_by_scheduler(model: TrainingLoopModel, findings: Iterable[object]) -> Dict[Tracked, FrozenSet[str]]:
    """The codes of the findings about each scheduler: at its construction or at one of its steps."""
    by_node: Dict[int, List[Tracked]] = {}
    for obj in model.schedulers():
        if obj.node is not None:
            by_node.setdefault(id(obj.node), []).append(obj)
    for step in model.steps:
        for target in step.targets:
            if target.role is Role.SCHEDULER:
                by_node.setdefault(id(step.node), []).append(target)
    for config in model.lightning_configs:  # LR011 points at the config dict
        by_node.setdefault(id(config.node), []).extend(config.schedulers)
    codes: Dict[Tracked, Set[str]] = {}
    for finding in findings:
        for obj in by_node.get(id(finding.node), []):  # type: ignore[attr-defined]
            codes.setdefault(obj, set()).add(finding.code)  # type: ignore[attr-defined]
    return {obj: frozenset(found) for obj, found in codes.items()}


def _construction_lines(module: cst.Module, model: TrainingLoopModel) -> Dict[Tracked, int]:
    from ..locate import Positions

    positions = Positions(module)
    lines: Dict[Tracked, int] = {}
    for obj in model.schedulers():
        where = positions.range(obj.node) if obj.node is not None else None
        lines[obj] = where[0] if where is not None else 0
    return lines


# --- values from the command line -------------------------------------------------------


def fill_in(preview: Preview, values: Mapping[str, Any], lr: Optional[float] = None) -> Preview:
    """The preview with each ``Missing`` whose text is in ``values`` (``--set TEXT=VALUE``), and each
    missing learning rate (``--lr``), replaced by the number given."""

    lr_texts = {value.text for plan in preview.plans for value in plan.base_lrs if isinstance(value, Missing)}

    def known(text: str) -> Optional[float]:
        if text in values:
            return values[text]
        return lr if text in lr_texts else None

    def fill(value: Value) -> Value:
        if isinstance(value, Missing):
            if value.text in values:
                return values[value.text]
            if (value.option == "--lr" or value.text in lr_texts) and lr is not None:
                return lr  # `max_lr=self.hparams.lr` reads what the optimizer's lr reads
            given = [known(part) for part in value.parts]
            if value.template is not None and given and None not in given:
                text = value.template
                for index, number in enumerate(given):
                    text = text.replace(f"<<{index}>>", repr(number))
                return Expression(text)
            return value
        if isinstance(value, tuple):
            return tuple(fill(item) for item in value)
        if isinstance(value, SchedulerCall):
            return fill_call(value)
        if isinstance(value, Function):
            return replace(value, bindings=tuple((name, fill(bound)) for name, bound in value.bindings))
        return value

    def fill_call(call: SchedulerCall) -> SchedulerCall:
        kwargs = tuple((name, fill(value)) for name, value in call.kwargs)
        return replace(call, args=tuple(fill(value) for value in call.args), kwargs=kwargs)

    def fill_plan(plan: SchedulePlan) -> SchedulePlan:
        meant = plan.intended
        if meant is not None and meant.scheduler is not None:
            meant = replace(meant, scheduler=fill_call(meant.scheduler))
        base_lrs = tuple(fill(value) for value in plan.base_lrs)
        return replace(plan, scheduler=fill_call(plan.scheduler), base_lrs=base_lrs, intended=meant)

    loop = preview.loop
    sizes = {name: fill(size) for name, size in loop.sizes().items()}
    return replace(preview, loop=Loop(**sizes), plans=tuple(fill_plan(plan) for plan in preview.plans))  # type: ignore[arg-type]


def missing_values(preview: Preview) -> List[Missing]:
    """Every value the preview's schedulers still lack, once each, in order."""
    found: Dict[Missing, None] = {}
    for plan in preview.plans:
        found.update(dict.fromkeys(missing_in(plan)))
    return list(found)


def missing_in(plan: SchedulePlan) -> List[Missing]:
    """The values one plan still lacks (its constructor calls and learning rates), once each."""
    found: Dict[Missing, None] = {}
    lr_texts = {value.text for value in plan.base_lrs if isinstance(value, Missing)}

    def visit(value: object) -> None:
        if isinstance(value, Missing) and value.parts:  # asked for by its parts: `self.hparams.lr`
            for part in value.parts:
                found.setdefault(Missing(part, "--lr" if part in lr_texts else None))
        elif isinstance(value, Missing):
            found.setdefault(Missing(value.text, "--lr") if value.text in lr_texts else value)
        elif isinstance(value, tuple):
            for item in value:
                visit(item)
        elif isinstance(value, SchedulerCall):
            for item in value.args + tuple(v for _, v in value.kwargs):
                visit(item)
        elif isinstance(value, Function):
            for _, bound in value.bindings:
                visit(bound)

    visit(plan.scheduler)
    if plan.intended is not None and plan.intended.scheduler is not None:
        visit(plan.intended.scheduler)
    visit(plan.base_lrs)
    return list(found)
