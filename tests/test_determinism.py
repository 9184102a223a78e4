"""The analysis gives the same findings however the process was laid out before: whatever was
analysed earlier, wherever objects happen to sit in memory, whatever the hash seed."""

from __future__ import annotations

import libcst as cst

from lrlint.model import Role
from lrlint.model.extract import Interpreter
from lrlint.model.values import Container, Env, merge_values


def test_a_dead_scope_does_not_hand_its_symbolic_object_to_a_new_one() -> None:
    """A scheduler known only by name belongs to the scope it was met in. CPython gives a freed
    object's address to the next object of its size, so a scope that died (an inlined call that
    returned) must not pass its object on to a new scope at the same address: that made findings
    depend on what the process had analysed before (a kraken script lost or gained an LR005)."""
    interpreter = Interpreter(cst.parse_module(""), "train.py")
    scope = Env(None)
    first = interpreter.symbolic_object(scope, "scheduler", Role.SCHEDULER)
    address = id(scope)
    del scope
    later = [Env(None) for _ in range(200)]
    assert all(interpreter.symbolic_object(other, "scheduler", Role.SCHEDULER) is not first for other in later)
    assert address not in {id(other) for other in later}  # held by the interpreter, never reused


def test_merged_entries_keep_the_order_of_the_code() -> None:
    """Set union iterates strings in an order that changes with the hash seed."""
    first, second = Container(), Container()
    for key in ("optimizer", "lr_scheduler", "monitor"):
        first.entries[key] = None
    for key in ("interval", "frequency", "optimizer"):
        second.entries[key] = None
    merged = merge_values(first, second, None, None)
    assert isinstance(merged, Container)
    assert list(merged.entries) == ["optimizer", "lr_scheduler", "monitor", "interval", "frequency"]
