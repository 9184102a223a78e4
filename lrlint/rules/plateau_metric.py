"""LR007 and LR016: what ReduceLROnPlateau is fed, judged from names and literals."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from ..model import Step, Tracked, TrainingLoopModel
from ..model.syntax import is_number_literal
from . import Finding, rule

# Words of a metric's name (snake_case, camelCase, dotted, or a subscript key).
HIGHER_IS_BETTER = frozenset(
    "acc accuracy top1 top5 f1 fscore auc auroc roc bleu rouge map miou iou dice precision recall "
    "score r2 psnr ssim kappa".split()
)
LOWER_IS_BETTER = frozenset("loss losses error err mse mae rmse wer cer perplexity ppl nll".split())
_WORD = re.compile(r"[A-Z]?[a-z]+\d*|[A-Z]+\d*(?![a-z])|\d+")


def _metric(step: Step) -> Optional[cst.BaseExpression]:
    argument = step.keyword("metrics") or (step.positional_args[0] if step.positional_args else None)
    return argument.value if argument is not None else None


def _plateau(step: Step) -> Optional[Tracked]:
    if len(step.targets) == 1 and step.targets[0].needs_metric and step.targets[0].torch_api:
        return step.targets[0]
    return None


@rule("LR016")
def plateau_constant_metric(model: TrainingLoopModel) -> Iterator[Finding]:
    for step in model.scheduler_steps():
        metric = _metric(step)
        if _plateau(step) is None or metric is None:
            continue
        if is_number_literal(metric) or _never_changes(model, metric, step):
            shown = model.text(metric) if step.keyword("metrics") is None else f"metrics={model.text(metric)}"
            yield Finding("LR016", step.node, {"scheduler": step.receiver, "metric": shown})


def _never_changes(model: TrainingLoopModel, metric: cst.BaseExpression, step: Step) -> bool:
    """A name that every binding in the file sets to a number literal, or that is bound only
    before the loop stepping the scheduler (`init_rmse = evaluate(model)` fed every epoch)."""
    if not isinstance(metric, cst.Name):
        return False
    bindings = model.bindings.get(metric.value, [])
    if not bindings or any(binding.expr is None for binding in bindings):
        return False
    if all(is_number_literal(binding.expr) for binding in bindings):
        return True
    return step.loop is not None and not any(step.loop in binding.loops for binding in bindings)


@rule("LR007")
def plateau_mode_mismatch(model: TrainingLoopModel) -> Iterator[Finding]:
    for step in model.scheduler_steps():
        plateau = _plateau(step)
        metric = _metric(step)
        if plateau is None or metric is None or plateau.node is None:
            continue
        mode = _mode(plateau.node)
        direction = _direction(metric)
        if mode is None or direction is None or (mode == "min") == (direction == "lower"):
            continue
        fields = {
            "scheduler": step.receiver,
            "mode": mode,
            "metric": model.text(metric),
            "direction": f"is {'higher' if direction == 'higher' else 'lower'} when the model is better",
        }
        yield Finding("LR007", step.node, fields)


def _mode(construction: cst.Call) -> Optional[str]:
    """'min' (the default) or 'max'; None when it is not a literal."""
    for index, arg in enumerate(construction.args):
        if (arg.keyword is not None and arg.keyword.value == "mode") or (arg.keyword is None and index == 1):
            value = arg.value
            if isinstance(value, cst.SimpleString) and value.evaluated_value in ("min", "max"):
                return str(value.evaluated_value)
            return None
    return "min"


def _direction(metric: cst.BaseExpression) -> Optional[str]:
    """'higher' or 'lower' is better, from the metric's name; None when unclear (or negated)."""
    words = set(_name_words(metric))
    higher, lower = bool(words & HIGHER_IS_BETTER), bool(words & LOWER_IS_BETTER)
    if higher == lower:
        return None
    return "higher" if higher else "lower"


def _name_words(metric: cst.BaseExpression) -> Iterator[str]:
    """The words of a plain name, attribute chain or subscript key (`val_acc`, `metrics["val/acc"]`,
    `stats.valAcc`, `val_acc.item()`); nothing for arithmetic, which may flip the direction."""
    node = metric
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and not node.args:
        if node.func.attr.value in ("item", "mean", "cpu", "detach", "avg"):
            node = node.func.value
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        key = node.slice[0].slice
        if isinstance(key, cst.Index) and isinstance(key.value, cst.SimpleString):
            yield from _words(str(key.value.evaluated_value))
            return
    while isinstance(node, cst.Attribute):
        yield from _words(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        yield from _words(node.value)


def _words(text: str) -> Iterator[str]:
    for part in re.split(r"[^A-Za-z0-9]+", text):
        yield part.lower()  # mIoU, mAP
        for word in _WORD.findall(part):
            yield word.lower()
