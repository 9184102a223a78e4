import torch
from transformers import get_linear_schedule_with_warmup

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight")


def build_optimizer(model, lr, weight_decay):
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in NO_DECAY)],
         "weight_decay": weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in NO_DECAY)],
         "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, eps=1e-6)


def build_scheduler_config(optimizer, total_steps, warmup_ratio=0.1):
    """Lightning scheduler config: a linear warm-up/decay schedule advanced every optimizer step."""
    scheduler = get_linear_schedule_with_warmup(
        optimizer,
        num_warmup_steps=int(warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )
    return {"scheduler": scheduler, "interval": "step", "frequency": 1, "name": "lr/linear"}
