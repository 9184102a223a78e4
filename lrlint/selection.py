"""Rule selection with ruff's semantics: codes, prefixes, ``ALL`` and rule names.

A selection is made of layers (the config file's, then the command line's). Each layer may
``select`` (replacing everything chosen so far), ``extend-select`` (adding) and ``ignore``
(removing). Inside one layer the more specific selector wins, whatever the option: with
``select = ["LR"]`` and ``ignore = ["LR00"]``, ``extend-select = ["LR001"]`` keeps LR001 on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from .catalogue import RULES, RULES_BY_NAME

ALL_CODES: FrozenSet[str] = frozenset(RULES)
_EXACT = 1000  # the specificity of a full code or a rule name


class UnknownSelector(ValueError):
    """A selector that names no rule; ``str()`` is the one-line reason."""

    def __init__(self, selector: str) -> None:
        super().__init__(f"unknown rule code or prefix '{selector}'")
        self.selector = selector


def expand(selector: str) -> Tuple[FrozenSet[str], int]:
    """The codes a selector stands for and its specificity (higher wins inside a layer)."""
    text = selector.strip()
    if text.upper() == "ALL":
        return ALL_CODES, 0
    rule = RULES_BY_NAME.get(text.lower())
    if rule is not None:
        return frozenset({rule.code}), _EXACT
    prefix = text.upper()
    codes = frozenset(code for code in ALL_CODES if code.startswith(prefix))
    if not prefix or not codes:
        raise UnknownSelector(text)
    return codes, _EXACT if prefix in ALL_CODES else len(prefix)


def validate(selectors: Iterable[str]) -> None:
    """Raise ``UnknownSelector`` for the first selector that names no rule."""
    for selector in selectors:
        expand(selector)


def split_selectors(values: Iterable[str]) -> Tuple[str, ...]:
    """``("LR001,LR002", "LR01")`` -> ``("LR001", "LR002", "LR01")``; empty items are dropped."""
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Layer:
    select: Optional[Sequence[str]] = None  # None: keep what earlier layers chose
    extend_select: Sequence[str] = ()
    ignore: Sequence[str] = ()


ALWAYS_ON = "LR000"  # an unanalyzable file hides every other finding: on unless ignored by name


def resolve(layers: Sequence[Layer], default: Iterable[str] = ALL_CODES) -> FrozenSet[str]:
    """The enabled codes after applying each layer on top of ``default``.

    ``LR000`` stays on whatever ``select`` says (as ruff always reports syntax errors); only an
    ``ignore`` naming it exactly (``LR000`` or ``unanalyzable-file``) turns it off.
    """
    enabled = set(default)
    for layer in layers:
        updates = _layer_updates(layer)
        if layer.select is not None:
            enabled = {code for code, on in updates.items() if on}
        else:
            for code, on in updates.items():
                (enabled.add if on else enabled.discard)(code)
    if not _ignores_exactly(layers, ALWAYS_ON):
        enabled.add(ALWAYS_ON)
    return frozenset(enabled)


def _ignores_exactly(layers: Sequence[Layer], code: str) -> bool:
    """Whether the last layer that names ``code`` exactly ignores it."""
    ignored = False
    for layer in layers:
        named = [expand(selector) for selector in list(layer.select or ()) + list(layer.extend_select)]
        if any(specificity == _EXACT and code in codes for codes, specificity in named):
            ignored = False
        if any(expand(selector)[1] == _EXACT and code in expand(selector)[0] for selector in layer.ignore):
            ignored = True
    return ignored


def _layer_updates(layer: Layer) -> Dict[str, bool]:
    # Apply selectors from least to most specific; at equal specificity ignore beats select.
    steps: List[Tuple[int, int, FrozenSet[str], bool]] = []
    for selector in list(layer.select or ()) + list(layer.extend_select):
        codes, specificity = expand(selector)
        steps.append((specificity, 0, codes, True))
    for selector in layer.ignore:
        codes, specificity = expand(selector)
        steps.append((specificity, 1, codes, False))
    updates: Dict[str, bool] = {}
    for _, _, codes, on in sorted(steps, key=lambda step: (step[0], step[1])):
        for code in codes:
            updates[code] = on
    return updates


def codes_of(selectors: Iterable[str]) -> FrozenSet[str]:
    """Every code named by a list of selectors (for per-file ignores)."""
    found: set = set()
    for selector in selectors:
        found |= expand(selector)[0]
    return frozenset(found)
