"""Build the training-loop model of one file: a small abstract interpreter over the libcst tree.

The module body runs in order; calls to the file's own functions, methods and classes are inlined
with their arguments bound, so a scheduler passed to ``train(model, loader, opt, sched)`` or kept in
``self.scheduler`` is the same object at its construction and at its ``step()``. Loops are entered
once; ``if`` branches both run and their bindings are merged, remembering the condition so that a
later test of the same condition (``if args.sched == "plateau":``) sees only the matching objects.
Functions that nothing in the file calls (framework hooks, library helpers) run afterwards as
roots, with parameters known only by name. Whatever leaves for code the analysis cannot see is
marked as escaping, so the rules can stay quiet about it.

No libcst metadata pass is used: names resolve through the interpreter's own environments, which
costs a fraction of ScopeProvider/QualifiedNameProvider.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from ..followed import FollowedModule
from ..project import ProjectModules
from . import (
    Binding,
    Condition,
    Horizon,
    LearningRateWrite,
    LightningSchedulerConfig,
    Loop,
    LoopKind,
    OpaqueCall,
    Read,
    Role,
    SchedulerStepOverride,
    Step,
    Tracked,
    TrainingLoopModel,
    known,
    restart_serials,
)
from .syntax import (
    argparse_defaults,
    argument,
    child_nodes,
    code_for_node,
    counts_steps,
    expressions_below,
    identifiers,
    is_expression,
    is_false,
    is_static,
    last_name,
    names_in,
    role_from_name,
    walk,
)
from .values import (
    MISSING,
    ClassInfo,
    Const,
    Container,
    DefinedOnFirstUse,
    Each,
    Enumerated,
    Env,
    Frame,
    Func,
    Guard,
    IgniteEngine,
    Instance,
    Items,
    Multi,
    Options,
    ParamGroups,
    QName,
    Tup,
    Value,
    Zipped,
    element_of,
    merge_all,
    merge_values,
    single,
    tracked_in,
    union_in_order,
)

MAX_INLINE_DEPTH = 10
# Expressions with nothing inside to evaluate.
_INERT_EXPRESSIONS = frozenset({cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis})
# The node classes the interpreter tells apart, most specific first. libcst's classes are ABCs,
# and each isinstance against one that fails is a Python-level call: the class a node's type
# falls under is found once per type (``form_of``) and then compared by identity.
_FORMS: Tuple[type, ...] = (
    cst.SimpleStatementLine,
    cst.FunctionDef,
    cst.ClassDef,
    cst.If,
    cst.For,
    cst.While,
    cst.With,
    cst.Try,
    getattr(cst, "TryStar", cst.Try),
    cst.Expr,
    cst.Assign,
    cst.AnnAssign,
    cst.AugAssign,
    cst.Return,
    cst.Import,
    cst.ImportFrom,
    cst.Global,
    cst.Raise,
    cst.Assert,
    cst.Subscript,
    cst.Tuple,
    cst.List,
    cst.Set,
    cst.Dict,
    cst.ListComp,
    cst.SetComp,
    cst.GeneratorExp,
    cst.DictComp,
    cst.Lambda,
    cst.IfExp,
    cst.BooleanOperation,
    cst.NamedExpr,
    cst.Yield,
    cst.Await,
    cst.BinaryOperation,
    cst.Comparison,
    cst.UnaryOperation,
    cst.Name,
    cst.SimpleString,
    cst.Integer,
    cst.Float,
    cst.Ellipsis,
)
_TRY_FORMS = (cst.Try, getattr(cst, "TryStar", cst.Try))  # `except*` since Python 3.11
# Reached by a subclass of these only: the classes themselves are dispatched before ``form_of``.
_INERT_FORMS = frozenset({cst.Name, cst.SimpleString, cst.Integer, cst.Float, cst.Ellipsis})


@lru_cache(maxsize=None)
def form_of(kind: type) -> Optional[type]:
    """The first of ``_FORMS`` that ``kind`` is a subclass of (None for any other node)."""
    return next((form for form in _FORMS if issubclass(kind, form)), None)


# Inlining is context-sensitive, so a file whose functions all call each other could take
# exponential time. Past these limits calls are left opaque, which only makes the rules quieter.
MAX_CONTEXTS_PER_FUNCTION = 12
WORK_BUDGET = 40_000  # statements and calls interpreted per file
# Called with each constructed optimizer or scheduler, the scope of its construction and the interpreter.
Observer = Callable[[Tracked, Env, "Interpreter"], None]


class Interpreter:
    """Runs the module body once, inlining the file's own calls, and records the model."""

    def __init__(
        self,
        module: cst.Module,
        path: str,
        project: Optional[Dict[str, known.SchedulerSpec]] = None,
        modules: Optional[ProjectModules] = None,
        observe: Optional[Observer] = None,
    ) -> None:
        self.module = module
        self.observe = observe
        self.project = project or {}
        self.modules = modules  # the project's other files, followed through imports
        self.foreign_envs: Dict[Path, Optional[Env]] = {}
        self.origin: Optional[str] = None  # the other module whose definitions are being read
        self.foreign_entry: Optional[cst.Call] = None  # inside another module: the call here that led there
        self.model = TrainingLoopModel(path=path, code_for_node=self.code)
        self.seq = 0
        self.root = 0  # which top-level run (the module, or a function nothing here calls)
        self.roots = 0
        self.loops: List[Loop] = []
        self.conditions: List[Condition] = []
        self.frames: List[Frame] = []
        self.statements = 0
        self.budget_exhausted = False
        self.functions: Dict[int, Func] = {}  # every function definition seen, by id(node)
        self.invoked: Set[int] = set()  # id(node) of functions interpreted at least once
        self.contexts: Dict[int, int] = {}  # id(node) -> how many times it was inlined
        # (instance, attribute, previous value) for every attribute write: if/else branches are
        # undone and merged through it, without copying every instance at every `if`.
        self.attr_log: List[Tuple[Instance, str, object]] = []
        self.condition_names: Dict[int, FrozenSet[str]] = {}
        self.classes: List[ClassInfo] = []
        self.symbolic: Dict[Tuple[int, str], Tuple[object, Tracked]] = {}
        self._codes: Dict[int, str] = {}
        self.argument_defaults: Optional[Dict[str, Optional[float]]] = None  # argparse, read when needed

    # -- entry -----------------------------------------------------------------------------

    def run(self) -> TrainingLoopModel:
        module_env = Env(None)
        self.frames.append(Frame("<module>", None, module_env, None))
        self.exec_block(self.module.body, module_env)
        self.run_roots()
        return self.model

    def run_roots(self) -> None:
        """Interpret what nothing in the file called: hooks, library functions, closures."""
        for cls in self.classes:
            if not cls.instances and any(id(node) not in self.invoked for node in cls.methods.values()):
                self.instantiate(cls, None, (), {}, as_root=True)
        for _ in range(3):  # a root may define further functions (closures) that are uncalled
            pending = [func for key, func in self.functions.items() if key not in self.invoked]
            if not pending:
                break
            for func in pending:  # definition order
                if id(func.node) in self.invoked:
                    continue
                self_value: Optional[Instance] = None
                if func.owner is not None:
                    self_value = func.owner.instances[0] if func.owner.instances else Instance(func.owner)
                self.invoke(func, None, (), {}, bound=self_value, as_root=True)

    # -- helpers ---------------------------------------------------------------------------

    def code(self, node: cst.CSTNode) -> str:
        return code_for_node(self.module, node, self._codes)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def current_classes(self) -> FrozenSet[str]:
        return frozenset(frame.owner.name for frame in self.frames if frame.owner is not None)

    def context_guards(self) -> FrozenSet[Guard]:
        return frozenset((condition.text, condition.positive) for condition in self.conditions)

    def visible(self, value: Value) -> Value:
        """Drop the alternatives that contradict the branch being interpreted."""
        if not isinstance(value, Options) or not self.conditions:
            return value
        context = self.context_guards()
        kept = tuple(
            (obj, guards)
            for obj, guards in value.options
            if not any((text, not positive) in context for text, positive in guards)
        )
        return Options(kept) if kept else value

    def symbolic_object(self, scope: object, text: str, role: Role) -> Tracked:
        key = (id(scope), text)
        if key not in self.symbolic:
            # The scope is kept with its object: an inlined call's scope dies when the call
            # returns, and a later call's scope at the same address must not inherit the object.
            self.symbolic[key] = (scope, Tracked(role=role, label=text, labelled=True))
        return self.symbolic[key][1]

    def tick(self) -> None:
        self.statements += 1
        if self.statements > WORK_BUDGET:
            self.budget_exhausted = True

    # -- statements ------------------------------------------------------------------------

    def exec_block(self, statements: Sequence[cst.CSTNode], env: Env) -> None:
        for statement in statements:
            self.exec_statement(statement, env)

    def exec_body(self, node: cst.CSTNode, env: Env) -> None:
        body = getattr(node, "body", None)
        if isinstance(body, cst.SimpleStatementSuite):  # `if cond: scheduler.step()` on one line
            self.tick()
            for small in body.body:
                self.exec_small(small, env)
        elif isinstance(body, cst.IndentedBlock):
            self.exec_block(body.body, env)
        elif isinstance(body, (list, tuple)):
            self.exec_block(body, env)

    def exec_statement(self, node: cst.CSTNode, env: Env) -> None:
        self.tick()
        form = form_of(type(node))
        if form is cst.SimpleStatementLine:
            assert isinstance(node, cst.SimpleStatementLine)
            for small in node.body:
                self.exec_small(small, env)
        elif form is cst.FunctionDef:
            assert isinstance(node, cst.FunctionDef)
            func = self.define_function(node, env)
            for decorator in node.decorators:  # `@trainer.on(Events.EPOCH_STARTED)`
                self.register_ignite_handler(decorator.decorator, func, env)
        elif form is cst.ClassDef:
            assert isinstance(node, cst.ClassDef)
            self.define_class(node, env)
        elif form is cst.If:
            assert isinstance(node, cst.If)
            self.exec_if(node, env)
        elif form is cst.For:
            assert isinstance(node, cst.For)
            self.exec_for(node, env)
        elif form is cst.While:
            assert isinstance(node, cst.While)
            self.exec_while(node, env)
        elif form is cst.With:
            assert isinstance(node, cst.With)
            for item in node.items:
                value = self.eval(item.item, env)
                if item.asname is not None:
                    self.assign(item.asname.name, value, item.item, env)
            self.exec_body(node, env)
        elif form in _TRY_FORMS:
            assert isinstance(node, _TRY_FORMS)
            self.exec_body(node, env)
            for handler in node.handlers:
                self.exec_body(handler, env)
            if node.orelse is not None:
                self.exec_body(node.orelse, env)
            if node.finalbody is not None:
                self.exec_body(node.finalbody, env)
        elif type(node).__name__ == "Match":
            self.eval(node.subject, env)
            for case in node.cases:
                self.exec_body(case, env)

    def exec_small(self, node: cst.CSTNode, env: Env) -> None:
        form = form_of(type(node))
        if form is cst.Expr:
            assert isinstance(node, cst.Expr)
            self.eval(node.value, env)
        elif form is cst.Assign:
            assert isinstance(node, cst.Assign)
            value = self.eval(node.value, env)
            for target in node.targets:
                self.assign(target.target, value, node.value, env)
        elif form is cst.AnnAssign:
            assert isinstance(node, cst.AnnAssign)
            if node.value is not None:
                self.assign(node.target, self.eval(node.value, env), node.value, env)
        elif form is cst.AugAssign:
            assert isinstance(node, cst.AugAssign)
            self.eval(node.value, env)
            if isinstance(node.target, cst.Name):
                self.model.bindings.setdefault(node.target.value, []).append(Binding(None, self.loop_stack()))
            if isinstance(node.target, cst.Subscript):
                self.note_lr_write(node.target, self.eval(node.target.value, env))
        elif form is cst.Return:
            assert isinstance(node, cst.Return)
            value = self.eval(node.value, env) if node.value is not None else None
            self.frame.returns.append(value)
            if self.frame.name == "configure_optimizers" and node.value is not None:
                self.note_lightning_configs(node, node.value, env)
        elif form is cst.Import:
            assert isinstance(node, cst.Import)
            self.exec_import(node, env)
        elif form is cst.ImportFrom:
            assert isinstance(node, cst.ImportFrom)
            self.exec_import_from(node, env)
        elif form is cst.Global:
            assert isinstance(node, cst.Global)
            env.globals.update(item.name.value for item in node.names)
        elif form is cst.Raise:
            assert isinstance(node, cst.Raise)
            if node.exc is not None:
                self.eval(node.exc, env)
        elif form is cst.Assert:
            assert isinstance(node, cst.Assert)
            self.eval(node.test, env)

    def exec_import(self, node: cst.Import, env: Env) -> None:
        for alias in node.names:
            dotted = self.dotted(alias.name)
            if dotted is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                env.values[alias.asname.name.value] = QName(dotted)
            else:
                top = dotted.split(".", 1)[0]
                env.values[top] = QName(top)

    def exec_import_from(self, node: cst.ImportFrom, env: Env) -> None:
        module = self.dotted(node.module) if node.module is not None else ""
        prefix = "." * len(node.relative) + (module or "")
        if isinstance(node.names, cst.ImportStar):
            env.root().star_imports.append(prefix)
            return
        for alias in node.names:
            name = self.dotted(alias.name)
            if name is None:
                continue
            bound = (
                alias.asname.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                else name
            )
            origin = self.origin if node.relative else None
            env.values[bound] = QName(f"{prefix}.{name}" if prefix else name, origin)

    @staticmethod
    def dotted(node: Optional[cst.CSTNode]) -> Optional[str]:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Attribute):
            base = Interpreter.dotted(node.value)
            return f"{base}.{node.attr.value}" if base else None
        return None

    # -- definitions -----------------------------------------------------------------------

    def define_function(self, node: cst.FunctionDef, env: Env, owner: Optional[ClassInfo] = None) -> Func:
        func = Func(node, env, owner=owner)
        if self.origin is None:  # another module's definitions run only when called from here
            self.functions.setdefault(id(node), func)
        self.bind_name(node.name.value, func, None, env)
        return func

    def define_class(self, node: cst.ClassDef, env: Env) -> None:
        bases = tuple(self.eval(arg.value, env) for arg in node.bases if arg.keyword is None)
        class_env = Env(env, is_class=True)
        cls = ClassInfo(node, node.name.value, class_env, bases, {})
        if self.origin is None:
            self.classes.append(cls)
        for statement in node.body.body:
            if isinstance(statement, cst.FunctionDef):
                cls.methods[statement.name.value] = statement
                self.define_function(statement, class_env, owner=cls)
            else:
                self.exec_statement(statement, class_env)
        self.bind_name(node.name.value, cls, None, env)

    # -- assignment ------------------------------------------------------------------------

    def bind_name(self, name: str, value: Value, expr: Optional[cst.BaseExpression], env: Env) -> None:
        if self.origin is None and self.foreign_entry is None:
            self.model.bindings.setdefault(name, []).append(Binding(expr, self.loop_stack()))
        target_env = env.root() if name in env.globals else env
        target_env.values[name] = value
        if expr is not None:
            target_env.exprs[name] = expr
        else:
            target_env.exprs.pop(name, None)

    def assign(self, target: cst.BaseExpression, value: Value, expr: Optional[cst.BaseExpression], env: Env) -> None:
        if isinstance(value, Options) and self.conditions:
            # Remember the branch: a later test of the same condition selects this binding.
            guards = self.context_guards()
            value = Options(tuple((obj, g | guards) for obj, g in value.options))
        if isinstance(target, cst.Name):
            self.label(value, target.value)
            self.bind_name(target.value, value, expr, env)
        elif isinstance(target, cst.Attribute):
            owner = self.eval(target.value, env)
            if isinstance(owner, Instance):
                self.set_attr(owner, target.attr.value, value)
                if target.attr.value == "automatic_optimization" and is_false(expr):
                    self.model.manual_optimization.add(owner.cls.name)
                self.label(value, self.code(target))
                for obj in tracked_in(value):
                    obj.stored_on.add(owner.cls.name)
            else:
                self.escape(value, f"stored in {self.code(target)}")
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = value.items if isinstance(value, Tup) else None
            elements = [element for element in target.elements]
            for index, element in enumerate(elements):
                part = None
                if items is not None and not isinstance(element, cst.StarredElement) and index < len(items):
                    part = items[index]
                inner = element.value
                self.assign(inner, part, None, env)
        elif isinstance(target, cst.Subscript):
            holder = self.eval(target.value, env)
            for element in target.slice:
                if isinstance(element.slice, cst.Index):
                    self.eval(element.slice.value, env)
            if isinstance(holder, ParamGroups):
                self.note_lr_write(target, holder)
            elif isinstance(holder, Container):
                holder.add(value)
                key = self.literal_key(target)
                if key is not None:
                    holder.entries[key] = value
            elif isinstance(holder, Instance):
                pass
            else:
                self.escape(value, f"stored in {self.code(target.value)}")

    def note_lr_write(self, target: cst.Subscript, holder: Value) -> None:
        """`group["lr"] = ...` on a param group of tracked optimizers."""
        if isinstance(holder, ParamGroups) and holder.one and self.literal_key(target) == "lr":
            self.model.lr_writes.append(
                LearningRateWrite(node=target, **self.where_now(), optimizers=holder.optimizers)
            )

    def note_lightning_configs(self, statement: cst.Return, returned: cst.BaseExpression, env: Env) -> None:
        """What `configure_optimizers` returns, read from its syntax: `[opt], [sched]`,
        `{"optimizer": opt, "lr_scheduler": sched_or_config, "monitor": ...}`, lists of those, and
        names bound to such literals in the method."""
        owner = self.frame.owner.name if self.frame.owner else None

        def resolve(expr: cst.BaseExpression, depth: int = 0) -> cst.BaseExpression:
            if isinstance(expr, cst.Name) and depth < 3:
                defined = env.lookup_expr(expr.value)
                if isinstance(defined, (cst.Dict, cst.List, cst.Tuple)):
                    return resolve(defined, depth + 1)
            return expr

        def entries(expr: cst.Dict) -> Dict[str, cst.BaseExpression]:
            found = {}
            for element in expr.elements:
                if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                    found[str(element.key.evaluated_value)] = element.value
            return found

        def scheduler_config(expr: cst.BaseExpression, node: cst.CSTNode, monitor: bool) -> None:
            expr = resolve(expr)
            interval: Optional[str] = None
            if isinstance(expr, cst.Dict):
                keys = entries(expr)
                if "scheduler" not in keys:
                    return
                node, monitor = expr, monitor or "monitor" in keys
                if "interval" in keys:
                    value = keys["interval"]
                    literal = isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str)
                    interval = str(value.evaluated_value) if literal else "?"  # type: ignore[union-attr]
                expr = keys["scheduler"]
            schedulers = tuple(obj for obj in tracked_in(self.eval(expr, env)) if obj.role is Role.SCHEDULER)
            if schedulers:
                self.model.lightning_configs.append(
                    LightningSchedulerConfig(node, schedulers, interval, monitor, owner)
                )

        def optimizer_config(expr: cst.BaseExpression) -> None:
            expr = resolve(expr)
            if isinstance(expr, cst.Dict):
                keys = entries(expr)
                if "lr_scheduler" in keys:
                    scheduler_config(keys["lr_scheduler"], expr, "monitor" in keys)
            elif isinstance(expr, (cst.List, cst.Tuple)):
                elements = [resolve(element.value) for element in expr.elements]
                if len(elements) == 2 and all(isinstance(e, (cst.List, cst.Tuple)) for e in elements):
                    for element in elements[1].elements:  # ([optimizers], [schedulers])
                        scheduler_config(element.value, statement, False)
                else:
                    for element in elements:
                        optimizer_config(element)

        optimizer_config(returned)

    def literal_key(self, target: cst.Subscript) -> Optional[str]:
        if len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
            key = target.slice[0].slice.value
            if isinstance(key, cst.SimpleString):
                return key.evaluated_value if isinstance(key.evaluated_value, str) else None
        return None

    def label(self, value: Value, text: str) -> None:
        for obj in tracked_in(value):
            if not obj.labelled:
                obj.label = text
                obj.labelled = True

    def escape(self, value: Value, reason: str) -> None:
        for obj in tracked_in(value):
            obj.escapes.append(reason)

    # -- control flow ----------------------------------------------------------------------

    def set_attr(self, instance: Instance, attr: str, value: Value) -> None:
        self.attr_log.append((instance, attr, instance.attrs.get(attr, MISSING)))
        instance.attrs[attr] = value

    def undo_attrs(self, mark: int) -> Dict[Tuple[int, str], Tuple[Instance, Value]]:
        """Undo the attribute writes since ``mark``; return their final values."""
        written: Dict[Tuple[int, str], Tuple[Instance, Value]] = {}
        entries = self.attr_log[mark:]
        for instance, attr, _ in entries:
            written[(id(instance), attr)] = (instance, instance.attrs.get(attr))
        for instance, attr, previous in reversed(entries):
            if previous is MISSING:
                instance.attrs.pop(attr, None)
            else:
                instance.attrs[attr] = previous
        del self.attr_log[mark:]
        return written

    def exec_if(self, node: cst.If, env: Env) -> None:
        self.eval(node.test, env)
        fixed = self.static_truth(node.test, env)
        if fixed is not None:  # a flag parameter this inlined call fixes: only one branch runs
            if fixed:
                self.exec_body(node, env)
            elif isinstance(node.orelse, cst.If):
                self.exec_if(node.orelse, env)
            elif node.orelse is not None:
                self.exec_body(node.orelse, env)
            return
        text, positive = self.condition_text(node.test)
        before = dict(env.values)
        mark = len(self.attr_log)
        narrowed = self.narrowing(node.test, env)

        self.enter_condition(node.test, text, positive, narrowed, True, env, leaves=_leaves(node.body))
        self.exec_body(node, env)
        self.conditions.pop()
        body_values, body_attrs = dict(env.values), self.undo_attrs(mark)

        env.values.clear()
        env.values.update(before)
        leaves = isinstance(node.orelse, cst.Else) and _leaves(node.orelse.body)
        self.enter_condition(node.test, text, not positive, narrowed, False, env, leaves=leaves)
        if isinstance(node.orelse, cst.If):
            self.exec_if(node.orelse, env)
        elif node.orelse is not None:
            self.exec_body(node.orelse, env)
        self.conditions.pop()
        else_values, else_attrs = dict(env.values), self.undo_attrs(mark)

        guards = ((text, positive), (text, not positive))
        self.merge_names(env, before, body_values, else_values, guards, narrowed)
        for key in union_in_order(body_attrs, else_attrs):
            instance, _ = body_attrs.get(key) or else_attrs[key]
            attr = key[1]
            current = instance.attrs.get(attr)
            first = body_attrs[key][1] if key in body_attrs else current
            second = else_attrs[key][1] if key in else_attrs else current
            self.set_attr(instance, attr, merge_values(first, second, *guards))

    def static_truth(self, test: cst.BaseExpression, env: Env) -> Optional[bool]:
        """The value of a test built from boolean parameters fixed by this call, else None.

        Only parameters that the function never reassigns count: a local flag flipped inside
        a loop (interpreted once) would prune a branch that later iterations take.
        """
        if isinstance(test, cst.Name):
            if test.value in env.parameters and test.value not in env.exprs:
                value = env.values.get(test.value)
                if isinstance(value, Const) and isinstance(value.value, bool):
                    return value.value
            return None
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self.static_truth(test.expression, env)
            return None if inner is None else not inner
        if isinstance(test, cst.BooleanOperation):
            left, right = self.static_truth(test.left, env), self.static_truth(test.right, env)
            if isinstance(test.operator, cst.And):
                if left is False or right is False:
                    return False
                return True if left and right else None
            if left is True or right is True:
                return True
            return False if left is False and right is False else None
        return None

    def enter_condition(self, test, text, positive, narrowed, in_body, env, leaves: bool = False) -> None:
        names = self.condition_names.get(id(test))
        if names is None:
            names = self.condition_names[id(test)] = frozenset(n.value for n in names_in(test))
        self.conditions.append(
            Condition(
                test,
                text,
                positive,
                (self.loop_stack() or (None,))[-1],
                names,
                modulo="%" in text,
                compound=isinstance(test, cst.BooleanOperation),
                leaves=leaves,
            )
        )
        for name, (inside, outside) in narrowed.items():
            value = inside if in_body else outside
            if value is not None:
                env.values[name] = value

    def merge_names(self, env, before, body, orelse, guards, narrowed) -> None:
        values = {}
        for name in union_in_order(body, orelse):
            first = body.get(name, before.get(name))
            second = orelse.get(name, before.get(name))
            if name in narrowed:  # an isinstance() narrowing ends with its branch
                inside, outside = narrowed[name]
                first = before.get(name) if first is inside else first
                second = before.get(name) if second is outside else second
            values[name] = merge_values(first, second, *guards)
        env.values.clear()
        env.values.update(values)

    def condition_text(self, test: cst.BaseExpression) -> Tuple[str, bool]:
        positive = True
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            positive = not positive
            test = test.expression
        return re.sub(r"\s+", "", self.code(test)).replace("'", '"'), positive

    def narrowing(self, test: cst.BaseExpression, env: Env) -> Dict[str, Tuple[Value, Value]]:
        """``isinstance(x, ReduceLROnPlateau)``: which objects ``x`` may be in each branch."""
        negate = False
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            negate = not negate
            test = test.expression
        if not (isinstance(test, cst.Call) and self.dotted(test.func) == "isinstance" and len(test.args) == 2):
            return {}
        subject = test.args[0].value
        if not isinstance(subject, cst.Name):
            return {}
        value = env.lookup(subject.value)[0]
        classes = self.class_names(self.eval(test.args[1].value, env))
        if not classes or not isinstance(value, (Options, Each)):
            return {}
        objects = value.objects() if isinstance(value, Options) else tuple(value.objs)
        matching = [obj for obj in objects if _is_instance(obj, classes)]
        unknown = [obj for obj in objects if obj.qualname is None]
        others = [obj for obj in objects if obj not in matching]
        inside = self.rebuild(value, matching + [obj for obj in unknown if obj not in matching])
        outside = self.rebuild(value, others)
        if negate:
            inside, outside = outside, inside
        return {subject.value: (inside, outside)}

    @staticmethod
    def rebuild(value: Value, objects: List[Tracked]) -> Value:
        """``value`` narrowed to ``objects``; empty when the branch cannot hold any of them."""
        if isinstance(value, Each):
            return Each(frozenset(objects))
        assert isinstance(value, Options)
        return Options(tuple((obj, guards) for obj, guards in value.options if obj in objects))

    @staticmethod
    def class_names(value: Value) -> Set[str]:
        if isinstance(value, QName):
            return {value.name}
        if isinstance(value, ClassInfo):
            return {value.name}
        if isinstance(value, Tup):
            names: Set[str] = set()
            for item in value.items:
                names |= Interpreter.class_names(item)
            return names
        return set()

    def exec_for(self, node: cst.For, env: Env) -> None:
        iterable = self.eval(node.iter, env)
        element = element_of(iterable)
        kind = self.loop_kind(node.target, node.iter, env)
        self.enter_loop(node, kind, node.target, over_objects=_over_objects(element))
        if self.loops[-1] is not None:
            self.loops[-1].count = _range_count(node.iter, env)
        self.assign(node.target, element, None, env)
        self.exec_body(node, env)
        self.exit_loop()
        if node.orelse is not None:
            self.exec_body(node.orelse, env)

    def exec_while(self, node: cst.While, env: Env) -> None:
        self.eval(node.test, env)
        kind = self.while_kind(node.test)
        self.enter_loop(node, kind, None)
        self.exec_body(node, env)
        self.exit_loop()
        if node.orelse is not None:
            self.exec_body(node.orelse, env)

    def enter_loop(
        self, node: cst.CSTNode, kind: LoopKind, target: Optional[cst.CSTNode], over_objects: bool = False
    ) -> None:
        """Enter a loop; one over a collection of optimizers/schedulers is no training loop."""
        if over_objects:
            self.loops.append(None)
            return
        parent = next((loop for loop in reversed(self.loops) if loop is not None), None)
        targets = frozenset(n.value for n in names_in(target)) if target is not None else frozenset()
        loop = Loop(node, kind, parent, targets, self.frame.name)
        self.loops.append(loop)
        self.model.loops.append(loop)

    def exit_loop(self) -> None:
        self.loops.pop()

    def loop_stack(self) -> Tuple[Loop, ...]:
        return tuple(loop for loop in self.loops if loop is not None)

    # -- loop classification -------------------------------------------------------------------

    def loop_kind(self, target: cst.BaseExpression, iterable: cst.BaseExpression, env: Env) -> LoopKind:
        inner = self.unwrap_iterable(iterable, env)
        if isinstance(inner, cst.Call) and last_name(inner.func) in ("range", "trange", "xrange"):
            signal = self.count_signal(inner.args, env)
            if signal is not Horizon.UNKNOWN:
                return LoopKind.EPOCH if signal is Horizon.EPOCHS else LoopKind.BATCH
        else:
            last = last_name(inner) or ""
            if known.LOADER_WORDS.search(last):
                return LoopKind.BATCH
            if isinstance(inner, cst.Call) and any(
                known.LOADER_WORDS.search(last_name(arg.value) or "") for arg in inner.args
            ):
                return LoopKind.BATCH
            if known.EPOCH_WORDS.search(last):
                return LoopKind.EPOCH
        names = [n.value for n in names_in(target)]
        if any(known.EPOCH_TARGETS.match(name) for name in names):
            return LoopKind.EPOCH
        if any(known.BATCH_TARGETS.search(name) for name in names):
            return LoopKind.BATCH
        return LoopKind.UNKNOWN

    def unwrap_iterable(self, node: cst.BaseExpression, env: Env, depth: int = 0) -> cst.BaseExpression:
        """``enumerate(tqdm(loader))`` -> ``loader``; ``pbar`` -> what ``pbar`` was made from."""
        if depth > 6:
            return node
        if isinstance(node, cst.Call) and node.args:
            name = last_name(node.func) or ""
            if name in (
                "enumerate",
                "iter",
                "list",
                "tuple",
                "sorted",
                "reversed",
                "zip",
                "islice",
                "cycle",
                "chain",
            ) or re.search(r"tqdm|track|progress|prefetch|bar$", name, re.I):
                return self.unwrap_iterable(node.args[0].value, env, depth + 1)
        if isinstance(node, cst.Name):
            expr = env.lookup_expr(node.value)
            if expr is not None and expr is not node:
                unwrapped = self.unwrap_iterable(expr, env, depth + 1)
                if isinstance(unwrapped, cst.Call) and last_name(unwrapped.func) in ("range", "trange"):
                    return unwrapped
                if known.LOADER_WORDS.search(last_name(unwrapped) or ""):
                    return unwrapped
        return node

    def while_kind(self, test: cst.BaseExpression) -> LoopKind:
        names = [n for n in identifiers(test)]
        if any(counts_steps(name) for name in names):
            return LoopKind.BATCH
        if any(known.EPOCH_WORDS.search(name) for name in names):
            return LoopKind.EPOCH
        return LoopKind.UNKNOWN

    def count_signal(self, args: Iterable[cst.Arg], env: Env) -> Horizon:
        """Does an expression count optimizer steps or epochs?

        Names are followed to their definitions (and local functions to their bodies) level by
        level: the nearest level with any evidence decides, so `lambda x: 1 - x / epochs` is
        judged by `epochs`, not by how an unrelated `hyp` dict was loaded two levels away.
        """
        level: List[cst.CSTNode] = [arg.value for arg in args]
        seen: Set[int] = set()
        for _ in range(3):
            steps = epochs = False
            following: List[cst.CSTNode] = []
            for name, is_len in self.signal_words(level, env, following, seen):
                if is_len or counts_steps(name):
                    steps = True
                elif known.EPOCH_WORDS.search(name):
                    epochs = True
            if steps:
                return Horizon.STEPS
            if epochs:
                return Horizon.EPOCHS
            if not following:
                break
            level = following
        return Horizon.UNKNOWN

    def signal_words(
        self, nodes: List[cst.CSTNode], env: Env, following: List[cst.CSTNode], seen: Set[int]
    ) -> Iterator[Tuple[str, bool]]:
        """Identifiers in ``nodes``; what they are defined as goes to ``following``."""
        for expr in nodes:
            for node in walk(expr):
                if isinstance(node, cst.Call) and last_name(node.func) == "len" and node.args:
                    yield "len", True
                elif isinstance(node, cst.Name):
                    if node.value[:1].isupper() and not node.value.isupper():
                        continue  # a class name (yaml.SafeLoader), not a count
                    argument = env.lookup_argument(node.value)
                    if argument is not None:
                        # A builder's `num_training_steps` parameter counts whatever the caller
                        # passed: judge the argument, not the parameter's name.
                        if id(argument) not in seen:
                            seen.add(id(argument))
                            following.append(argument)
                        continue
                    yield node.value, False
                    defined = env.lookup_expr(node.value)
                    if defined is not None and id(defined) not in seen:
                        seen.add(id(defined))
                        following.append(defined)
                    value = env.lookup(node.value)[0]
                    if (
                        isinstance(value, Func)
                        and isinstance(value.node, cst.FunctionDef)
                        and id(value.node) not in seen
                    ):
                        seen.add(id(value.node))
                        following.extend(param.name for param in value.node.params.params)
                        following.append(value.node.body)
                elif isinstance(node, cst.Attribute):
                    if not (node.attr.value[:1].isupper() and not node.attr.value.isupper()):
                        yield node.attr.value, False
                elif isinstance(node, cst.Param):
                    yield node.name.value, False

    # -- expressions -----------------------------------------------------------------------

    def eval(self, node: Optional[cst.BaseExpression], env: Env) -> Value:
        # The commonest kinds first, by exact type: libcst's classes are ABCs, and each failed
        # isinstance against one is a Python-level call.
        kind = type(node)
        if kind is cst.Name:
            return self.eval_name(node, env)  # type: ignore[arg-type]
        if kind is cst.Attribute:
            return self.eval_attribute(node, env)  # type: ignore[arg-type]
        if kind is cst.Call:
            return self.eval_call(node, env)  # type: ignore[arg-type]
        if node is None or kind in _INERT_EXPRESSIONS:
            return None
        form = form_of(kind)
        if form is cst.Subscript:
            assert isinstance(node, cst.Subscript)
            return self.eval_subscript(node, env)
        if form is cst.Tuple or form is cst.List or form is cst.Set:
            assert isinstance(node, (cst.Tuple, cst.List, cst.Set))
            items = tuple(self.eval(element.value, env) for element in node.elements)
            if form is cst.Tuple:
                return Tup(items)
            container = Container()
            for item in items:
                container.add(item)
            return container
        if form is cst.Dict:
            assert isinstance(node, cst.Dict)
            return self.eval_dict(node, env)
        if form is cst.ListComp or form is cst.SetComp or form is cst.GeneratorExp or form is cst.DictComp:
            assert isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp))
            return self.eval_comprehension(node, env)
        if form is cst.Lambda:
            assert isinstance(node, cst.Lambda)
            return Func(node, env)
        if form is cst.IfExp:
            assert isinstance(node, cst.IfExp)
            self.eval(node.test, env)
            return merge_values(self.eval(node.body, env), self.eval(node.orelse, env), None, None)
        if form is cst.BooleanOperation:
            assert isinstance(node, cst.BooleanOperation)
            return merge_values(self.eval(node.left, env), self.eval(node.right, env), None, None)
        if form is cst.NamedExpr:
            assert isinstance(node, cst.NamedExpr)
            value = self.eval(node.value, env)
            self.assign(node.target, value, node.value, env)
            return value
        if form is cst.Yield:
            assert isinstance(node, cst.Yield)
            value = self.eval(node.value, env) if isinstance(node.value, cst.BaseExpression) else None
            if isinstance(node.value, cst.From):
                value = self.eval(node.value.item, env)
            self.escape(value, "yielded")
            return None
        if form is cst.Await:
            assert isinstance(node, cst.Await)
            return self.eval(node.expression, env)
        if form is cst.BinaryOperation:
            assert isinstance(node, cst.BinaryOperation)
            self.eval_operands(node, env)
            return None
        if form is cst.Comparison:
            assert isinstance(node, cst.Comparison)
            self.eval(node.left, env)
            for target in node.comparisons:
                self.eval(target.comparator, env)
            return None
        if form is cst.UnaryOperation:
            assert isinstance(node, cst.UnaryOperation)
            self.eval(node.expression, env)
            return None
        if form in _INERT_FORMS:
            return None
        # Anything else (operators, comparisons, f-strings, ...): evaluate what it contains.
        for child in child_nodes(node):
            if is_expression(type(child)):
                self.eval(child, env)  # type: ignore[arg-type]
            else:
                for grandchild in expressions_below(child):
                    self.eval(grandchild, env)
        return None

    def eval_operands(self, node: cst.BinaryOperation, env: Env) -> None:
        """`a + b + c + ...` nests to the left; walk it without recursing per operator."""
        rights = []
        while isinstance(node, cst.BinaryOperation):
            rights.append(node.right)
            node = node.left
        self.eval(node, env)
        for right in reversed(rights):
            self.eval(right, env)

    def eval_name(self, node: cst.Name, env: Env) -> Value:
        value, owner = env.lookup(node.value)
        if owner is None:
            star = env.star_import_of(node.value)
            if star is not None:
                return star
            if node.value in ("True", "False"):
                return Const(node.value == "True")
            return None
        if value is None:
            # An object from code we cannot see (`optimizer = build_optimizer(cfg)`): known by
            # its name only. Bound where the name lives, so every reader shares it.
            role = role_from_name(node.value)
            if role is not None:
                value = single(self.symbolic_object(owner, node.value, role))
                owner.values[node.value] = value
        return self.visible(value)

    def eval_attribute(self, node: cst.Attribute, env: Env) -> Value:
        base = self.eval(node.value, env)
        attr = node.attr.value
        if isinstance(base, QName):
            return QName(f"{base.name}.{attr}", base.origin)
        if isinstance(base, Instance):
            return self.instance_attribute(base, attr, node)
        if isinstance(base, ClassInfo):
            return self.class_attribute(base, attr)
        if isinstance(base, Multi):
            values = tuple(self.attribute_of(value, attr, node) for value in base.values)
            return Multi(values) if any(v is not None for v in values) else None
        if isinstance(base, Options) and attr == "param_groups":
            optimizers = frozenset(obj for obj in base.objects() if obj.role is Role.OPTIMIZER)
            return ParamGroups(optimizers) if optimizers else None
        if isinstance(base, Options) and attr == "optimizer":
            drives = [opt for obj in base.objects() for opt in (obj.optimizers or ())]
            return Options(tuple((opt, frozenset()) for opt in drives)) if drives else None
        return None

    def attribute_of(self, value: Value, attr: str, node: cst.CSTNode) -> Value:
        if isinstance(value, Instance):
            return self.instance_attribute(value, attr, node)
        if isinstance(value, ClassInfo):
            return self.class_attribute(value, attr)
        return None

    @staticmethod
    def class_attribute(cls: ClassInfo, attr: str) -> Value:
        found = cls.find_method(attr)
        if found:
            return Func(found[0], found[1].env, owner=found[1])
        return cls.env.values.get(attr)

    def instance_attribute(self, instance: Instance, attr: str, node: cst.CSTNode) -> Value:
        if attr in instance.attrs:
            return self.visible(instance.attrs[attr])
        found = instance.cls.find_method(attr)
        if found:
            return Func(found[0], found[1].env, bound=instance, owner=found[1])
        class_value = instance.cls.env.values.get(attr)
        if class_value is not None:
            return class_value
        role = role_from_name(attr)
        if role is not None:
            text = self.code(node)
            value = single(self.symbolic_object(instance, text, role))
            self.set_attr(instance, attr, value)
            for obj in tracked_in(value):
                obj.stored_on.add(instance.cls.name)
            return value
        return None

    def eval_subscript(self, node: cst.Subscript, env: Env) -> Value:
        base = self.eval(node.value, env)
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                self.eval(element.slice.value, env)
            else:
                for part in (element.slice.lower, element.slice.upper, element.slice.step):
                    if isinstance(part, cst.BaseExpression):
                        self.eval(part, env)
        if isinstance(base, Container):
            key = self.literal_key(node)
            if key is not None and key in base.entries:
                return base.entries[key]
            if base.elements:
                return Options(tuple((obj, frozenset()) for obj in base.elements))
            return None
        if isinstance(base, Tup) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            index = node.slice[0].slice.value
            if isinstance(index, cst.Integer):
                position = int(index.value, 0)
                if -len(base.items) <= position < len(base.items):
                    return base.items[position]
            return merge_all(base.items)
        if isinstance(base, Each):
            return base
        if isinstance(base, ParamGroups) and not base.one:
            return ParamGroups(base.optimizers, one=True)
        return None

    def eval_dict(self, node: cst.Dict, env: Env) -> Container:
        container = Container()
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                self.eval(element.key, env)
                value = self.eval(element.value, env)
                container.add(value)
                if isinstance(element.key, cst.SimpleString) and isinstance(element.key.evaluated_value, str):
                    container.entries[element.key.evaluated_value] = value
            else:
                container.add(self.eval(element.value, env))
        return container

    def eval_comprehension(self, node: cst.BaseExpression, env: Env) -> Container:
        inner_env = Env(env)
        comp = node.for_in
        entered = 0
        while comp is not None:
            element = element_of(self.eval(comp.iter, inner_env))
            kind = self.loop_kind(comp.target, comp.iter, inner_env)
            self.enter_loop(comp, kind, comp.target, over_objects=_over_objects(element))
            entered += 1
            self.assign(comp.target, element, None, inner_env)
            for condition in comp.ifs:
                self.eval(condition.test, inner_env)
            comp = comp.inner_for_in
        container = Container()
        if isinstance(node, cst.DictComp):
            self.eval(node.key, inner_env)
            container.add(self.eval(node.value, inner_env))
        else:
            container.add(self.eval(node.elt, inner_env))
        for _ in range(entered):
            self.exit_loop()
        return container

    # -- calls -----------------------------------------------------------------------------

    def eval_call(self, node: cst.Call, env: Env) -> Value:
        self.tick()
        func = node.func
        if not isinstance(func, cst.Attribute):
            callee = self.eval(func, env)
            args, kwargs = self.eval_args(node, env)
            return self.call_value(node, callee, args, kwargs, env)
        if func.attr.value == "lr_schedulers":
            self.model.fetches_lr_schedulers |= self.current_classes()
        receiver = self.eval(func.value, env)
        args, kwargs = self.eval_args(node, env)
        if isinstance(receiver, Multi):  # `for cb in callbacks: cb.on_batch_end(...)`
            own = [value for value in receiver.values if isinstance(value, (Instance, Func))]
            for value in own:
                self.call_method(node, value, func.attr.value, args, kwargs, env)
            tracked = tuple(obj for value in receiver.values for obj in tracked_in(value))
            if tracked:
                self.call_method(node, Each(frozenset(tracked)), func.attr.value, args, kwargs, env)
            return None
        return self.call_method(node, receiver, func.attr.value, args, kwargs, env)

    def call_method(self, node: cst.Call, receiver: Value, method: str, args, kwargs, env: Env) -> Value:
        callee: Value = None
        if isinstance(receiver, QName):
            callee = QName(f"{receiver.name}.{method}")
        elif isinstance(receiver, ClassInfo):
            callee = self.class_attribute(receiver, method)
        elif isinstance(receiver, Instance):
            callee = self.instance_attribute(receiver, method, node.func)
        if callee is None:
            return self.method_call(node, receiver, method, args, kwargs, env)
        return self.call_value(node, callee, args, kwargs, env)

    def eval_args(self, node: cst.Call, env: Env) -> Tuple[List[Value], Dict[str, Value]]:
        args: List[Value] = []
        kwargs: Dict[str, Value] = {}
        for arg in node.args:
            value = self.eval(arg.value, env)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            elif arg.star:
                kwargs[f"{arg.star}{len(kwargs)}"] = value  # unpacked: position unknown
            else:
                args.append(value)
        return args, kwargs

    def call_value(self, node: cst.Call, callee: Value, args, kwargs, env: Env) -> Value:
        if isinstance(callee, Func):
            return self.invoke(callee, node, args, kwargs, bound=callee.bound)
        if isinstance(callee, ClassInfo):
            return self.instantiate(callee, node, args, kwargs)
        if isinstance(callee, QName):
            defined = self.project_definition(callee)
            if defined is not None:
                return self.call_into_project(defined, node, args, kwargs)
            return self.library_call(node, callee.name, args, kwargs, env)
        name = last_name(node.func) or ""
        if name in ("enumerate",) and args:
            return Enumerated(args[0])
        if name == "zip" and args:
            return Zipped(tuple(args))
        if name in ("list", "tuple", "sorted", "reversed", "iter", "set") and args:
            return args[0]
        if name in ("dict", "list", "set", "OrderedDict", "defaultdict", "ModuleDict") and not tracked_in(
            Tup(tuple(args))
        ):
            container = Container()  # `optimizers = dict()`, `dict(model=opt_model, center=opt_center)`
            for key, value in kwargs.items():
                container.add(value)
                container.entries[key] = value
            return container
        if name in ("super",):
            return None
        return self.opaque(node, self.code(node.func), args, kwargs)

    def method_call(self, node: cst.Call, receiver: Value, method: str, args, kwargs, env: Env) -> Value:
        func = node.func
        assert isinstance(func, cst.Attribute)
        if method in ("step", "step_update", "step_frac"):
            stepped = self.record_step(node, receiver, method, args, env)
            if stepped:
                return None
        if isinstance(receiver, Container):
            if method in ("append", "add", "insert", "extend", "update", "setdefault"):
                for value in list(args) + list(kwargs.values()):
                    receiver.add(value)
                return None
            if method in ("values", "copy"):
                return receiver
            if method == "items":
                return Items(receiver)
            if method in ("get", "pop") and args:
                return Options(tuple((obj, frozenset()) for obj in receiver.elements)) if receiver.elements else None
            return None
        if isinstance(receiver, IgniteEngine):
            return self.ignite_method(node, receiver, method, args, env)
        if isinstance(receiver, (Options, Each)):
            # Reading a tracked object (get_last_lr, state_dict, ...) neither steps nor hands it on.
            if method == "get_lr":
                self.record_read(node, receiver, method)
            return None
        if method in ("prepare", "prepare_scheduler", "prepare_optimizer", "setup", "setup_optimizers", "wrap"):
            # accelerate / Lightning Fabric return what they are given, wrapped.
            if tracked_in(Tup(tuple(args))):
                return args[0] if len(args) == 1 else Tup(tuple(args))
        return self.opaque(node, self.code(func), args, kwargs, receiver=receiver)

    def record_step(self, node: cst.Call, receiver: Value, method: str, args, env: Env) -> bool:
        func = node.func
        assert isinstance(func, cst.Attribute)
        receiver_text = self.code(func.value)
        targets: Tuple[Tracked, ...] = ()
        each = False
        if isinstance(receiver, Each):
            targets, each = tuple(receiver.objs), True
        elif isinstance(receiver, Multi):
            targets, each = tracked_in(receiver), True
        elif isinstance(receiver, (Options, Container)):
            targets = tracked_in(self.visible(receiver))
            each = isinstance(receiver, Container)
        elif receiver is None and method == "step":
            role = role_from_name(receiver_text)
            if role is not None and isinstance(func.value, (cst.Name, cst.Attribute, cst.Subscript)):
                targets = (self.symbolic_object(self.frame.env, receiver_text, role),)
        if targets:
            for role in (Role.OPTIMIZER, Role.SCHEDULER):
                chosen = tuple(obj for obj in targets if obj.role is role)
                if chosen:
                    self.add_step(node, role, chosen, each, receiver_text, method, via_scaler=False)
            return True
        if method == "step" and node.args:
            # scaler.step(optimizer): AMP's GradScaler steps the optimizer it is given.
            first = args[0] if args else None
            optimizers = tuple(obj for obj in tracked_in(first) if obj.role is Role.OPTIMIZER)
            text = self.code(node.args[0].value)
            if not optimizers and first is None and role_from_name(text) is Role.OPTIMIZER:
                optimizers = (self.symbolic_object(self.frame.env, text, Role.OPTIMIZER),)
            if optimizers:
                self.add_step(node, Role.OPTIMIZER, optimizers, isinstance(first, Each), text, "step", via_scaler=True)
                return True
        return False

    def record_read(self, node: cst.Call, receiver: Value, method: str) -> None:
        func = node.func
        assert isinstance(func, cst.Attribute)
        targets = tuple(obj for obj in tracked_in(self.visible(receiver)) if obj.role is Role.SCHEDULER)
        if targets:
            in_scheduler_class = any(
                frame.owner is not None and known.is_scheduler_base(frame.owner.known_base()) for frame in self.frames
            )
            self.model.reads.append(
                Read(
                    node=node,
                    **self.where_now(),
                    targets=targets,
                    receiver=self.code(func.value),
                    method=method,
                    in_scheduler_class=in_scheduler_class,
                )
            )

    def where_now(self) -> Dict[str, object]:
        """The fields every event shares: when it happens and inside which loops and branches."""
        return {
            "seq": self.next_seq(),
            "loops": self.loop_stack(),
            "conditions": tuple(self.conditions),
            "classes": self.current_classes(),
            "root": self.root,
        }

    def add_step(self, node, role, targets, each, receiver, method, via_scaler) -> None:
        self.model.steps.append(
            Step(
                node=node,
                **self.where_now(),
                role=role,
                targets=targets,
                each=each,
                receiver=receiver,
                method=method,
                args=tuple(node.args),
                via_scaler=via_scaler,
            )
        )

    def opaque(self, node: cst.Call, callee: str, args, kwargs, receiver: Value = None) -> Value:
        """A call into code we cannot see: whatever tracked object it receives may be stepped there."""
        passed_values = list(args) + list(kwargs.values())
        passed = tracked_in(Tup(tuple(passed_values)))
        last = callee.rsplit(".", 1)[-1]
        if last not in known.HARMLESS_CALLS and not known.NON_STEPPING_CONSUMER.search(last):
            for value in passed_values:
                self.escape(value, f"passed to {callee}()")
                if isinstance(value, Instance):
                    self.escape_instance(value, callee)
        trains = self.says_it_trains(node, callee, last)
        if passed or trains:
            self.model.calls.append(
                OpaqueCall(
                    node=node,
                    **self.where_now(),
                    callee=callee,
                    passed=passed,
                    trains=trains,
                )
            )
        return None

    @staticmethod
    def says_it_trains(node: cst.Call, callee: str, last: str) -> bool:
        if not known.TRAINING_CALL.search(last) or known.NOT_TRAINING_CALL.search(last):
            return False
        if last in known.MODULE_MODE_SWITCHES and isinstance(node.func, cst.Attribute) and len(node.args) <= 1:
            receiver = callee.rsplit(".", 1)[0]
            return bool(known.RUNS_TRAINING.search(receiver))  # trainer.train() trains, model.train() does not
        return True

    def escape_instance(self, instance: Instance, callee: str) -> None:
        for value in instance.attrs.values():
            self.escape(value, f"held by an object passed to {callee}()")

    # -- ignite ---------------------------------------------------------------------------

    def ignite_engine(self, qualname: str, args, kwargs) -> IgniteEngine:
        """`Engine(update)` runs `update` per iteration; `create_supervised_trainer(model, optimizer,
        ...)` steps `optimizer` per iteration itself."""
        if qualname.endswith("create_supervised_trainer"):
            given = kwargs.get("optimizer", args[1] if len(args) > 1 else None)
            optimizers = tuple(obj for obj in tracked_in(given) if obj.role is Role.OPTIMIZER)
            return IgniteEngine(None, optimizers)
        process = kwargs.get("process_function", args[0] if args else None)
        return IgniteEngine(process if isinstance(process, Func) else None, ())

    def register_ignite_handler(self, decorator: cst.BaseExpression, func: Value, env: Env) -> None:
        if not (isinstance(decorator, cst.Call) and isinstance(decorator.func, cst.Attribute)):
            return
        if decorator.func.attr.value == "on" and decorator.args:
            engine = self.eval(decorator.func.value, env)
            if isinstance(engine, IgniteEngine):
                self.add_ignite_handler(engine, decorator.args[0].value, func)

    @staticmethod
    def add_ignite_handler(engine: IgniteEngine, event: cst.BaseExpression, handler: Value) -> None:
        """Only plain `Events.NAME`: a filtered event (`EPOCH_COMPLETED(every=2)`) runs under a
        condition the analysis does not model; its handler stays a root of its own."""
        if isinstance(event, cst.Attribute) and isinstance(handler, Func):
            engine.handlers.setdefault(event.attr.value, []).append(handler)

    def ignite_method(self, node: cst.Call, engine: IgniteEngine, method: str, args, env: Env) -> Value:
        if method == "add_event_handler" and len(node.args) >= 2:
            self.add_ignite_handler(engine, node.args[0].value, args[1] if len(args) > 1 else None)
        elif method == "run":
            self.run_ignite(node, engine)
        return None

    def run_ignite(self, node: cst.Call, engine: IgniteEngine) -> None:
        """`engine.run(loader, max_epochs=n)` as the loops it stands for, handlers in event order."""
        self.fire(engine, "STARTED")
        self.enter_loop(node, LoopKind.EPOCH, None)
        self.fire(engine, "EPOCH_STARTED")
        self.enter_loop(node, LoopKind.BATCH, None)
        self.fire(engine, "ITERATION_STARTED")
        if engine.process is not None:
            self.invoke(engine.process, None, (engine, None), {})
        elif engine.optimizers:
            self.add_step(node, Role.OPTIMIZER, engine.optimizers, False, "optimizer", "step", via_scaler=False)
        self.fire(engine, "ITERATION_COMPLETED")
        self.exit_loop()
        self.fire(engine, "EPOCH_COMPLETED")
        self.exit_loop()
        self.fire(engine, "COMPLETED")

    def fire(self, engine: IgniteEngine, event: str) -> None:
        for handler in engine.handlers.get(event, ()):
            self.invoke(handler, None, (engine,), {})

    # -- the project's other modules -------------------------------------------------------

    def project_definition(self, name: QName) -> Optional[Value]:
        """The function or class an import names, when it is defined in the project's own files."""
        if self.modules is None or known.scheduler_spec(name.name) or known.is_optimizer_class(name.name):
            return None
        if name.name.split(".", 1)[0] in known.LIBRARY_ROOTS:
            return None
        found = self.modules.resolve(name.name, Path(name.origin) if name.origin else None)
        if found is None:
            return None
        path, attributes = found
        if not ProjectModules.worth_following(path):
            return None  # models, data, the standard library: nothing there steps or builds what the rules follow
        env = self.foreign_env(path)
        value = env.values.get(attributes[0]) if env is not None else None
        for attribute in attributes[1:]:
            value = self.class_attribute(value, attribute) if isinstance(value, ClassInfo) else None
        return value if isinstance(value, (Func, ClassInfo)) else None

    def foreign_env(self, path: Path) -> Optional[Env]:
        """Another module's top-level definitions and imports (its other statements never run).
        A module parsed whole runs them all now; one split into statements (see lrlint.followed)
        runs those that bind a name when the name is first looked up."""
        if path in self.foreign_envs:
            return self.foreign_envs[path]
        module = ProjectModules.followed(path)
        env = Env(None) if module is not None else None
        self.foreign_envs[path] = env  # before reading it: import cycles end here
        if module is None or env is None:
            return None
        self.model.followed.append((str(path), module))
        if module.tree is not None:
            self.run_definitions(module.tree.body, env, path)
        else:
            self.define_on_first_use(module, env, path)
        return env

    def define_on_first_use(self, module: FollowedModule, env: Env, path: Path) -> None:
        """Give a split module's ``env`` its names lazily: a name's statements run when it is first looked up."""
        names = env.values = DefinedOnFirstUse(
            module.group_of, lambda group: self.run_definitions(module.group(group), env, path)
        )
        for group in module.starred_groups:  # `from m import *` widens every lookup: run first
            names.run(group)

    def run_definitions(self, statements: Sequence[cst.CSTNode], env: Env, path: Path) -> None:
        """Run another module's top-level definitions and imports into its ``env``."""
        saved, self.origin = self.origin, str(path)
        try:
            for statement in statements:
                if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                    self.exec_statement(statement, env)
                elif isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        if isinstance(small, (cst.Import, cst.ImportFrom)):
                            self.exec_small(small, env)
        finally:
            self.origin = saved

    def call_into_project(self, callee: Value, node: cst.Call, args, kwargs) -> Value:
        """Inline a call into another module; what it builds is reported at this call."""
        saved = self.foreign_entry
        self.foreign_entry = saved or node
        try:
            if isinstance(callee, Func):
                return self.invoke(callee, node, args, kwargs, bound=callee.bound)
            assert isinstance(callee, ClassInfo)
            return self.instantiate(callee, node, args, kwargs)
        finally:
            self.foreign_entry = saved

    def library_call(self, node: cst.Call, qualname: str, args, kwargs, env: Env) -> Value:
        if qualname in known.IGNITE_ENGINES:
            return self.ignite_engine(qualname, args, kwargs)
        spec = self.project.get(qualname) or known.scheduler_spec(qualname)
        if spec is not None:
            obj = self.construct_scheduler(node, qualname, spec, args, kwargs, env)
            if spec is known.TIMM_SCHEDULER and qualname.rsplit(".", 1)[-1].startswith("create_scheduler"):
                return Tup((single(obj), None))  # timm's factories return (scheduler, num_epochs)
            return single(obj)
        if known.is_optimizer_class(qualname):
            obj = Tracked(role=Role.OPTIMIZER, label=qualname.rsplit(".", 1)[-1], qualname=qualname, node=node)
            self.track(obj)
            self.note_wrapped(obj, args, kwargs)
            if self.observe is not None:
                self.observe(obj, env, self)
            return single(obj)
        return self.opaque(node, qualname, args, kwargs)

    @staticmethod
    def note_wrapped(wrapper: Tracked, args, kwargs) -> None:
        """Lookahead(base_optimizer): stepping the wrapper steps the optimizer it is given."""
        for value in list(args) + list(kwargs.values()):
            for inner in tracked_in(value):
                if inner.role is Role.OPTIMIZER:
                    inner.escapes.append(f"wrapped by {wrapper.label}")

    def construct_scheduler(self, node, qualname, spec, args, kwargs, env, custom: bool = False) -> Tracked:
        optimizer_value = kwargs.get("optimizer")
        if optimizer_value is None and len(args) > spec.optimizer_position:
            optimizer_value = args[spec.optimizer_position]
        optimizers = frozenset(obj for obj in tracked_in(optimizer_value) if obj.role is Role.OPTIMIZER) or None
        obj = Tracked(
            role=Role.SCHEDULER,
            label=spec.name,
            qualname=qualname,
            spec=spec,
            node=node,
            optimizers=optimizers,
            custom=custom,
            constructed_in_class=next((f.owner.name for f in reversed(self.frames) if f.owner), None),
        )
        if qualname.endswith("get_scheduler"):
            obj.spec, obj.dynamic_kind = self.hf_scheduler_kind(node, spec)
        obj.horizon, obj.horizon_literal = self.horizon(node, obj.spec, env)
        if obj.horizon_literal is None and obj.spec.horizon_args:
            expr = argument(node, obj.spec.horizon_args[0], obj.spec.horizon_positions[0])
            obj.horizon_default = self.command_line_default(expr) if expr is not None else None
        if obj.spec.counts is not None:  # declared by the project: trusted over any argument name
            obj.horizon = Horizon.STEPS if obj.spec.counts == "steps" else Horizon.EPOCHS
        # SequentialLR/ChainedScheduler and friends step the schedulers they are given.
        for value in list(args) + list(kwargs.values()):
            for inner in tracked_in(value):
                if inner.role is Role.SCHEDULER:
                    inner.escapes.append(f"combined into {spec.name}")
        self.track(obj)
        if self.observe is not None:
            self.observe(obj, env, self)
        return obj

    def track(self, obj: Tracked) -> None:
        """Record a constructed optimizer or scheduler, with the loops and branches around it."""
        obj.created_in, obj.created_under, obj.root = self.loop_stack(), tuple(self.conditions), self.root
        obj.created_seq = self.next_seq()
        obj.entry = self.foreign_entry
        self.model.objects.append(obj)

    def hf_scheduler_kind(self, node: cst.Call, spec: known.SchedulerSpec) -> Tuple[known.SchedulerSpec, bool]:
        name_arg = argument(node, "name", 0)
        if isinstance(name_arg, cst.SimpleString) and isinstance(name_arg.evaluated_value, str):
            if "plateau" in name_arg.evaluated_value:
                return known.PLATEAU, False
            return spec, False
        attr = last_name(name_arg) if name_arg is not None else None
        if attr and "PLATEAU" in attr.upper():
            return known.PLATEAU, False
        return spec, True

    def horizon(self, node: cst.Call, spec: known.SchedulerSpec, env: Env) -> Tuple[Horizon, Optional[float]]:
        exprs: List[cst.BaseExpression] = []
        for name, position in zip(spec.horizon_args, spec.horizon_positions):
            expr = argument(node, name, position)
            if expr is not None:
                exprs.append(expr)
        if not exprs:
            return Horizon.UNKNOWN, None
        if spec.name == "OneCycleLR" and argument(node, "steps_per_epoch", 4) is not None:
            return Horizon.STEPS, _literal_number(exprs[0], env)  # epochs x steps_per_epoch: steps by construction
        signal = self.count_signal([cst.Arg(expr) for expr in exprs], env)
        return signal, _literal_number(exprs[0], env)

    def command_line_default(self, expr: cst.BaseExpression) -> Optional[float]:
        """`args.lr_drop` where this file (or a project module it follows) declares
        `parser.add_argument("--lr_drop", default=40)`: the value the script runs with unless told
        otherwise. Only for an argparse-like receiver; an option declared twice counts as unknown."""
        if not (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value in known.PARSED_ARGUMENT_NAMES
        ):
            return None
        if self.argument_defaults is None:
            self.argument_defaults = argparse_defaults([self.module])
            for _, module in self.model.followed:
                for dest, value in argparse_defaults(module.trees_mentioning("add_argument")).items():
                    known_value = self.argument_defaults.setdefault(dest, value)
                    if known_value != value:
                        self.argument_defaults[dest] = None
        return self.argument_defaults.get(expr.attr.value)

    # -- inlining --------------------------------------------------------------------------

    def invoke(
        self,
        func: Func,
        node: Optional[cst.Call],
        args,
        kwargs,
        bound: Optional[Instance] = None,
        as_root: bool = False,
    ) -> Value:
        definition = func.node
        if (
            self.budget_exhausted
            or len(self.frames) > MAX_INLINE_DEPTH
            or self.contexts.get(id(definition), 0) >= MAX_CONTEXTS_PER_FUNCTION
            or any(frame.node is definition for frame in self.frames)
        ):
            if node is not None:
                return self.opaque(node, self.code(node.func), args, kwargs)
            return None
        self.invoked.add(id(definition))
        self.contexts[id(definition)] = self.contexts.get(id(definition), 0) + 1
        env = Env(func.env)
        name = definition.name.value if isinstance(definition, cst.FunctionDef) else "<lambda>"
        frame = Frame(name, definition, env, func.owner)
        self.bind_parameters(definition, env, args, kwargs, bound, as_root)
        if node is not None:
            self.bind_argument_expressions(definition, env, node, bound is not None)
        self.frames.append(frame)
        saved_loops, saved_conditions, saved_root = self.loops, self.conditions, self.root
        if as_root:
            self.loops, self.conditions = [], []
            self.roots += 1
            self.root = self.roots
        try:
            if isinstance(definition, cst.Lambda):
                frame.returns.append(self.eval(definition.body, env))
            else:
                self.exec_body(definition, env)
        finally:
            self.frames.pop()
            if as_root:
                self.loops, self.conditions, self.root = saved_loops, saved_conditions, saved_root
        result = merge_all(frame.returns)
        if as_root:
            for value in frame.returns:
                self.escape(value, f"returned by {name}()")
            self.note_override(definition, func, env)
        return result

    def bind_parameters(self, definition, env: Env, args, kwargs, bound: Optional[Instance], as_root: bool) -> None:
        params = definition.params
        for param in list(params.posonly_params) + list(params.params) + list(params.kwonly_params):
            self.model.bindings.setdefault(param.name.value, []).append(Binding(None, ()))  # bound by the caller
        positional = list(params.posonly_params) + list(params.params)
        values = list(args)
        if bound is not None and positional and not is_static(definition):
            env.values[positional[0].name.value] = bound
            positional = positional[1:]
        for index, param in enumerate(positional):
            name = param.name.value
            if index < len(values):
                value = values[index]
            elif name in kwargs:
                value = kwargs[name]
            elif as_root:
                value = self.root_parameter(env, name)
            else:
                value = self.eval(param.default, env.parent) if param.default is not None else None
            self.label(value, name)
            env.values[name] = value
            env.parameters.add(name)
        for param in params.kwonly_params:
            name = param.name.value
            if name in kwargs:
                env.values[name] = kwargs[name]
            elif as_root:
                env.values[name] = self.root_parameter(env, name)
            else:
                env.values[name] = None
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                env.values[star.name.value] = None

    @staticmethod
    def bind_argument_expressions(definition, env: Env, node: cst.Call, has_self: bool) -> None:
        """Remember what each parameter was written as at the call site (for horizon signals)."""
        if isinstance(definition, cst.Lambda):
            return
        params = list(definition.params.posonly_params) + list(definition.params.params)
        if has_self and params and not is_static(definition):
            params = params[1:]
        names = {param.name.value for param in params + list(definition.params.kwonly_params)}
        positional = [arg for arg in node.args if arg.keyword is None]
        for param, arg in zip(params, positional):
            if arg.star:
                break
            env.arguments[param.name.value] = arg.value
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in names:
                env.arguments[arg.keyword.value] = arg.value

    def root_parameter(self, env: Env, name: str) -> Value:
        role = role_from_name(name)
        if role is None:
            return None
        return single(self.symbolic_object(env, name, role))

    def instantiate(self, cls: ClassInfo, node: Optional[cst.Call], args, kwargs, as_root: bool = False) -> Value:
        base = cls.known_base()
        if base is not None and node is not None:
            spec = known.scheduler_spec(base)
            if spec is not None or base in known.SCHEDULER_BASES:
                custom_spec = spec or known.SchedulerSpec(cls.name, epoch_literal_ok=False)
                obj = self.construct_scheduler(node, cls.name, custom_spec, args, kwargs, cls.env, custom=True)
                obj.spec = custom_spec
                obj.own_get_lr = cls.find_method("get_lr") is not None
                return single(obj)
            if base in known.OPTIMIZER_BASES or known.is_optimizer_class(base):
                obj = Tracked(role=Role.OPTIMIZER, label=cls.name, qualname=cls.name, node=node, custom=True)
                self.track(obj)
                self.note_wrapped(obj, args, kwargs)
                return single(obj)
        instance = Instance(cls)
        cls.instances.append(instance)
        found = cls.find_method("__init__")
        if found:
            init, owner = found
            self.invoke(
                Func(init, owner.env, bound=instance, owner=owner), node, args, kwargs, bound=instance, as_root=as_root
            )
        elif node is not None:
            # No __init__ of ours: the arguments go to a library base class.
            self.opaque(node, cls.name, args, kwargs)
        if as_root:
            for method_name, method in list(cls.methods.items()):  # source order
                if id(method) not in self.invoked and method_name != "__init__":
                    self.invoke(
                        Func(method, cls.env, bound=instance, owner=cls), None, (), {}, bound=instance, as_root=True
                    )
        return instance

    # -- Lightning hooks -----------------------------------------------------------------------

    def note_override(self, definition, func: Func, env: Env) -> None:
        if not isinstance(definition, cst.FunctionDef) or definition.name.value != "lr_scheduler_step":
            return
        params = [param.name.value for param in definition.params.params]
        if len(params) < 2 or func.owner is None:
            return
        scheduler = env.values.get(params[1])
        objects = tracked_in(scheduler)
        if not objects:
            return
        metric = params[2] if len(params) > 2 else None
        uses_metric = metric is not None and any(
            isinstance(node, cst.Name) and node.value == metric for node in walk(definition.body)
        )
        self.model.overrides.append(SchedulerStepOverride(definition, func.owner.name, objects[0], uses_metric))


# ----------------------------------------------------------------------------------------------


def _over_objects(element: Value) -> bool:
    """A loop over optimizers, schedulers, callbacks or param groups is bookkeeping, not a training loop."""
    if isinstance(element, Tup):  # `for i, group in enumerate(optimizer.param_groups)`
        return any(_over_objects(item) for item in element.items)
    return isinstance(element, (Multi, ParamGroups)) or bool(tracked_in(element))


def _literal_number(expr: cst.BaseExpression, env: Env, depth: int = 0) -> Optional[float]:
    if isinstance(expr, (cst.Integer, cst.Float)):
        return float(expr.evaluated_value)
    if isinstance(expr, (cst.List, cst.Tuple)):
        numbers = [_literal_number(element.value, env, depth + 1) for element in expr.elements]
        return max(numbers) if numbers and all(n is not None for n in numbers) else None
    if isinstance(expr, cst.Name) and depth < 2:
        defined = env.lookup_expr(expr.value)
        if defined is not None:
            return _literal_number(defined, env, depth + 1)
    return None


def _leaves(block: cst.BaseSuite) -> bool:
    """Whether a branch ends in `continue`, `break`, `return` or `raise`."""
    statements = block.body if isinstance(block, cst.IndentedBlock) else [block]
    last = statements[-1] if statements else None
    if isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and last.body:
        return isinstance(last.body[-1], (cst.Continue, cst.Break, cst.Return, cst.Raise))
    return False


def _range_count(iterable: cst.BaseExpression, env: Env) -> Optional[float]:
    """Iterations of `range(N)`, `range(start, N)`, `trange(N)`, `tqdm(range(N))` with literal bounds."""
    if not isinstance(iterable, cst.Call) or not iterable.args:
        return None
    name = last_name(iterable.func)
    if name in ("tqdm", "enumerate"):
        return _range_count(iterable.args[0].value, env)
    positional = [arg for arg in iterable.args if arg.keyword is None]
    if name not in ("range", "trange") or any(arg.star for arg in iterable.args):
        return None  # `trange(120, desc="epochs")`: the keywords are tqdm's own
    bounds = [_literal_number(arg.value, env) for arg in positional]
    if len(bounds) == 1 and bounds[0] is not None:
        return bounds[0]
    if len(bounds) == 2 and None not in bounds:
        return bounds[1] - bounds[0]  # type: ignore[operator]
    return None


def _is_instance(obj: Tracked, classes: Set[str]) -> bool:
    if obj.qualname is None:
        return False
    short = obj.qualname.rsplit(".", 1)[-1]
    for name in classes:
        if name == obj.qualname or name.rsplit(".", 1)[-1] == short:
            return True
        if obj.spec is not None and name.rsplit(".", 1)[-1] == obj.spec.name:
            return True
    return False


def build_model(
    module: cst.Module,
    path: str,
    project: Optional[Dict[str, known.SchedulerSpec]] = None,
    modules: Optional[ProjectModules] = None,
    observe: Optional[Observer] = None,
) -> TrainingLoopModel:
    """The training-loop model of one parsed file; ``project`` adds the project's declared
    schedulers, ``modules`` lets the analysis follow imports into the project's other files;
    ``observe`` sees each optimizer and scheduler as it is constructed, with the scope it was
    constructed in (``lrlint preview`` reads the constructor arguments there)."""
    restart_serials()
    return Interpreter(module, path, project, modules, observe).run()
