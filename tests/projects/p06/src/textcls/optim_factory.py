import torch
from transformers import get_linear_schedule_with_warmup


def build_optimizer(model, lr, weight_decay=0.01):
    no_decay = ("bias", "LayerNorm.weight")
    grouped = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": weight_decay},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(grouped, lr=lr)


def build_scheduler(optimizer, num_training_steps, warmup_ratio=0.1):
    return get_linear_schedule_with_warmup(
        optimizer,
        num_warmup_steps=int(warmup_ratio * num_training_steps),
        num_training_steps=num_training_steps,
    )
