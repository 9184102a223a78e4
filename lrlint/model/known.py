"""What lrlint knows about the libraries it models: qualified names and their behaviour.

Pure data plus small lookups; no libcst here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple


@dataclass(frozen=True)
class SchedulerSpec:
    """How a scheduler class (or factory) must be stepped."""

    name: str  # short name for messages: "OneCycleLR"
    horizon_args: Tuple[str, ...] = ()  # arguments whose value is the schedule's horizon
    horizon_positions: Tuple[int, ...] = ()  # their positional indexes in the call
    optimizer_position: int = 0  # where the optimizer is passed positionally
    per_step: bool = False  # horizon counts optimizer steps whatever the arguments say
    needs_metric: bool = False  # ReduceLROnPlateau: step(metric)
    epoch_argument_ok: bool = False  # CosineAnnealingWarmRestarts.step(epoch + i / iters)
    torch_step_api: bool = True  # False for timm: step(epoch) is its API, never judged by torch rules
    epoch_literal_ok: bool = True  # a small literal horizon is a typical epoch count
    steps_other_schedulers: bool = False  # SequentialLR/ChainedScheduler step the ones they hold
    counts: Optional[str] = None  # declared in [tool.lrlint.schedulers]: "steps" or "epochs"


_LR = "torch.optim.lr_scheduler."
TORCH_SCHEDULERS: Dict[str, SchedulerSpec] = {
    _LR + "LambdaLR": SchedulerSpec("LambdaLR", ("lr_lambda",), (1,), epoch_literal_ok=False),
    _LR + "MultiplicativeLR": SchedulerSpec("MultiplicativeLR", ("lr_lambda",), (1,), epoch_literal_ok=False),
    _LR + "StepLR": SchedulerSpec("StepLR", ("step_size",), (1,)),
    _LR + "MultiStepLR": SchedulerSpec("MultiStepLR", ("milestones",), (1,)),
    _LR + "ConstantLR": SchedulerSpec("ConstantLR", ("total_iters",), (2,), epoch_literal_ok=False),
    _LR + "LinearLR": SchedulerSpec("LinearLR", ("total_iters",), (3,), epoch_literal_ok=False),
    _LR + "ExponentialLR": SchedulerSpec("ExponentialLR", epoch_literal_ok=False),
    _LR + "PolynomialLR": SchedulerSpec("PolynomialLR", ("total_iters",), (1,)),
    _LR + "CosineAnnealingLR": SchedulerSpec("CosineAnnealingLR", ("T_max",), (1,)),
    _LR + "CosineAnnealingWarmRestarts": SchedulerSpec(
        "CosineAnnealingWarmRestarts", ("T_0",), (1,), epoch_argument_ok=True, epoch_literal_ok=False
    ),
    _LR + "SequentialLR": SchedulerSpec(
        "SequentialLR", ("milestones",), (2,), epoch_literal_ok=False, steps_other_schedulers=True
    ),
    _LR + "ChainedScheduler": SchedulerSpec("ChainedScheduler", epoch_literal_ok=False, steps_other_schedulers=True),
    _LR + "ReduceLROnPlateau": SchedulerSpec("ReduceLROnPlateau", needs_metric=True, epoch_literal_ok=False),
    _LR + "CyclicLR": SchedulerSpec("CyclicLR", ("step_size_up",), (3,), per_step=True),
    _LR + "OneCycleLR": SchedulerSpec(
        "OneCycleLR", ("total_steps", "epochs", "steps_per_epoch"), (2, 3, 4), per_step=True
    ),
    "torch.optim.swa_utils.SWALR": SchedulerSpec("SWALR", ("anneal_epochs",), (2,), epoch_literal_ok=False),
}
# Base classes a project subclasses to write its own scheduler.
SCHEDULER_BASES = frozenset({_LR + "LRScheduler", _LR + "_LRScheduler"})

_HF_FACTORIES = (
    "get_scheduler",
    "get_linear_schedule_with_warmup",
    "get_cosine_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup",
    "get_polynomial_decay_schedule_with_warmup",
    "get_constant_schedule_with_warmup",
    "get_inverse_sqrt_schedule",
    "get_wsd_schedule",
    "get_cosine_with_min_lr_schedule_with_warmup",
)
# transformers' schedules are LambdaLRs counting optimizer updates.
HF_FACTORIES: Dict[str, SchedulerSpec] = {}
for _name in _HF_FACTORIES:
    _get_scheduler = _name == "get_scheduler"  # get_scheduler(name, optimizer, warmup, total)
    _spec = SchedulerSpec(
        _name,
        ("num_training_steps", "num_warmup_steps"),
        (3, 2) if _get_scheduler else (2, 1),
        optimizer_position=1 if _get_scheduler else 0,
        per_step=True,
        epoch_literal_ok=False,
    )
    HF_FACTORIES["transformers." + _name] = _spec
    HF_FACTORIES["transformers.optimization." + _name] = _spec
# These take no horizon: they are still counted in optimizer updates by convention.
HF_CONSTANT = SchedulerSpec("get_constant_schedule", epoch_literal_ok=False)
HF_FACTORIES["transformers.get_constant_schedule"] = HF_CONSTANT
HF_FACTORIES["transformers.optimization.get_constant_schedule"] = HF_CONSTANT

TIMM_SCHEDULER = SchedulerSpec("timm scheduler", torch_step_api=False, epoch_literal_ok=False)
PLATEAU = TORCH_SCHEDULERS[_LR + "ReduceLROnPlateau"]

OPTIMIZER_MODULES = (
    "torch.optim.",
    "transformers.AdamW",
    "transformers.Adafactor",
    "transformers.optimization.",
    "bitsandbytes.optim.",
    "bnb.optim.",
    "apex.optimizers.",
    "timm.optim.",
    "torch_optimizer.",
    "lion_pytorch.",
    "deepspeed.ops.adam.",
)
OPTIMIZER_BASES = frozenset({"torch.optim.Optimizer", "torch.optim.optimizer.Optimizer"})


# [tool.lrlint.schedulers]: the project's own schedulers and factories, by cadence.
ProjectSchedulers = Mapping[str, Tuple[str, ...]]


def project_specs(declared: Optional[ProjectSchedulers]) -> Dict[str, SchedulerSpec]:
    """Specs for the qualified names a project declares, keyed by qualified name."""
    specs: Dict[str, SchedulerSpec] = {}
    for cadence, names in (declared or {}).items():
        for qualname in names:
            short = qualname.rsplit(".", 1)[-1]
            if cadence == "needs-metric":
                specs[qualname] = SchedulerSpec(short, needs_metric=True, epoch_literal_ok=False)
            else:
                counts = "steps" if cadence == "per-batch" else "epochs"
                specs[qualname] = SchedulerSpec(
                    short, per_step=cadence == "per-batch", epoch_literal_ok=False, counts=counts
                )
    return specs


def scheduler_spec(qualname: str) -> Optional[SchedulerSpec]:
    """The spec of a scheduler class or factory, or None if ``qualname`` builds no scheduler."""
    spec = TORCH_SCHEDULERS.get(qualname) or HF_FACTORIES.get(qualname)
    if spec:
        return spec
    # Some code reaches the classes through the private module path.
    short = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("torch.optim.lr_scheduler") and _LR + short in TORCH_SCHEDULERS:
        return TORCH_SCHEDULERS[_LR + short]
    if qualname.startswith("timm.scheduler") and (short[:1].isupper() or short.startswith("create_scheduler")):
        return TIMM_SCHEDULER
    return None


def is_scheduler_base(qualname: Optional[str]) -> bool:
    """Whether a class deriving from ``qualname`` is a scheduler (its methods are its implementation)."""
    return qualname is not None and (qualname in SCHEDULER_BASES or scheduler_spec(qualname) is not None)


def is_optimizer_class(qualname: str) -> bool:
    if qualname.startswith("torch.optim.lr_scheduler") or qualname.startswith("torch.optim.swa_utils"):
        return False
    short = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("timm.optim."):
        return short.startswith("create_optimizer") or short[:1].isupper()
    if not qualname.startswith(OPTIMIZER_MODULES):
        return False
    return short[:1].isupper() and short not in {"Optimizer", "Tensor"} and not short.endswith("Scheduler")


# Calls that look at an object without stepping it or keeping it.
HARMLESS_CALLS = frozenset(
    {
        "print",
        "isinstance",
        "issubclass",
        "type",
        "len",
        "str",
        "repr",
        "id",
        "hasattr",
        "format",
        "vars",
        "dir",
        "hash",
    }
)

_SCHEDULER_NAME = re.compile(r"sched|^lrs$|^lr_s$", re.I)
_NOT_AN_OBJECT = re.compile(
    r"^(lr_schedulers|optimizers)$|(_fn|_func|_cls|_class|_name|_type|_cfg|_config|_args|_kwargs|_kw|_list|_dict|_factory|_builder|_steps?|_epochs?)$|^(get|build|make|create)_",
    re.I,
)
_OPTIMIZER_NAME = re.compile(
    r"^(optimi[sz]er|optim|opt)(_?[a-z0-9]{1,3})?$|^[a-z0-9]{1,3}_?(optimi[sz]er|optim|opt)$|optimi[sz]er$", re.I
)


# Schedulers of other quantities, whose objects also have a step(): diffusers' noise schedulers,
# KL/beta annealing, DINO's weight-decay and momentum schedules, teacher forcing, temperature...
_NOT_LR_SCHEDULER = re.compile(
    r"noise|kl|beta|temp|tau|teacher|sampl|dropout|weight|wd|alpha|mask|ema|momentum|curriculum|prob|ratio|eps|coef|diffusion|ddpm|ddim",
    re.I,
)


def looks_like_scheduler(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    if _NOT_LR_SCHEDULER.search(last) and "lr" not in last.lower():
        return False
    return bool(_SCHEDULER_NAME.search(last)) and not _NOT_AN_OBJECT.search(last)


def looks_like_optimizer(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    if last == "opt":  # as often argparse options (`opt = parser.parse_args()`) as an optimizer
        return False
    return bool(_OPTIMIZER_NAME.search(last)) and not _NOT_AN_OBJECT.search(last)


# Signals in a horizon expression: does it count steps or epochs?
STEP_WORDS = re.compile(r"step|iter|batch|update|len\b|stepping", re.I)
EPOCH_WORDS = re.compile(r"epoch", re.I)
LOADER_WORDS = re.compile(r"loader|^dl$|_dl$|^dl_|batches|data_?iter|train_?data$|dataset", re.I)
EPOCH_TARGETS = re.compile(
    r"^(epoch|ep|epoch_?(idx|id|num|i|no)?|i_?epoch|cur_?epoch|current_epoch|n_?epoch|e_?idx)$", re.I
)
BATCH_TARGETS = re.compile(
    r"batch|^(x|y|xb|yb|inputs?|targets?|labels?|images?|imgs?|data|sample|samples|features|tokens)$|^(it|itr|iteration|step|global_step|i_?batch|batch_?(idx|i|id|num|no))$",
    re.I,
)
# Callees that read or save what they are given but never step it: handing a scheduler to them
# is no escape (a scheduler only saved and logged is still never stepped).
NON_STEPPING_CONSUMER = re.compile(
    r"save|load|log|print|plot|checkpoint|summar|report|visuali|dump|write|record|wandb|tensorboard|mlflow|deepcopy|copy$",
    re.I,
)
# Calls that take an optimizer without stepping it (GradScaler, apex.amp, hooks, checkpoints).
# ignite's engines: their `run()` stands for an epoch loop around an iteration loop.
IGNITE_ENGINES = frozenset(
    {"ignite.engine.Engine", "ignite.engine.engine.Engine", "ignite.engine.create_supervised_trainer"}
)

# Top-level packages that are never the project's own (imports of these are not followed).
LIBRARY_ROOTS = frozenset(
    "torch torchvision torchaudio transformers timm lightning pytorch_lightning accelerate deepspeed "
    "numpy pandas sklearn scipy tqdm wandb mlflow tensorboard os sys math random json logging".split()
)

NON_STEPPING_CALLS = frozenset(
    {
        "unscale_",
        "zero_grad",
        "state_dict",
        "load_state_dict",
        "add_param_group",
        "scale",
        "backward",
        "clip_grad_norm_",
        "clip_grad_value_",
        "get_last_lr",
        "register_step_pre_hook",
        "register_step_post_hook",
        "master_params",
        "scale_loss",
        "initialize",
    }
)
# Callees whose name says they run (part of) an epoch of training.
TRAINING_CALL = re.compile(r"(^|_)(train|fit)(_|$)|^(train|fit)|epoch", re.I)
# `model.train()` / `model.eval()` switch an nn.Module's mode; they train nothing.
MODULE_MODE_SWITCHES = frozenset({"train", "eval", "requires_grad_"})
RUNS_TRAINING = re.compile(r"trainer|engine|runner|learner|solver|agent|fabric|accelerator", re.I)
NOT_TRAINING_CALL = re.compile(
    r"^set_|sampler|pretrain|^is_|eval|valid|test|save|log|print|plot|checkpoint|report|summary|visuali|metric|dump|load|infer|predict|build|create|make|get_|setup|init",
    re.I,
)

# Names a script gives its parsed command line (`args = parser.parse_args()`): `args.epochs`.
PARSED_ARGUMENT_NAMES = frozenset(
    {"args", "opt", "opts", "options", "flags", "FLAGS", "arguments", "cli_args", "hparams", "hp"}
)
