"""The rule registry. A rule is a pure function over a ``TrainingLoopModel`` yielding findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Collection, Dict, Iterator, List, Optional

import libcst as cst

from ..model import TrainingLoopModel
from .display import single_line
from .proposals import Proposal


@dataclass(frozen=True)
class Finding:
    code: str
    node: cst.CSTNode  # where the finding points; located by the engine
    fields: Dict[str, object] = field(default_factory=dict)  # fills the catalogue's message template
    fix: Optional[Proposal] = None  # a mechanical fix, where the rule has one

    def __post_init__(self) -> None:
        # Code quoted in the message (`{scheduler}`) may span lines; the message may not.
        shown = {name: single_line(value) if isinstance(value, str) else value for name, value in self.fields.items()}
        object.__setattr__(self, "fields", shown)


RuleFunction = Callable[[TrainingLoopModel], Iterator[Finding]]
REGISTRY: Dict[str, RuleFunction] = {}


def rule(code: str) -> Callable[[RuleFunction], RuleFunction]:
    def register(function: RuleFunction) -> RuleFunction:
        REGISTRY[code] = function
        return function

    return register


def run_rules(model: TrainingLoopModel, codes: Collection[str]) -> List[Finding]:
    """Run the enabled rules; one finding per (code, node), in a stable order."""
    seen = set()
    findings: List[Finding] = []
    for code in sorted(REGISTRY):
        if code not in codes:
            continue
        for finding in REGISTRY[code](model):
            key = (finding.code, id(finding.node))
            if key not in seen:
                seen.add(key)
                findings.append(finding)
    return findings


from . import (  # noqa: E402,F401  (registers the rules)
    cadence,
    created_in_loop,
    get_lr,
    horizon,
    lightning_config,
    manual_lr,
    optimizer_mismatch,
    order,
    outpaces,
    plateau,
    plateau_metric,
    step_argument,
    timm_api,
    twice,
    unstepped,
)
