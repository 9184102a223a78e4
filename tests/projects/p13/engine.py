"""Train / eval loops."""
import math

import torch
from tqdm import tqdm


def train_one_epoch(model, loader, optimizer, scaler, device, epoch, clip_grad=1.0):
    model.train()
    running, n = 0.0, 0
    pbar = tqdm(loader, desc=f"train {epoch}", dynamic_ncols=True)
    for batch in pbar:
        pixel_values = batch["pixel_values"].to(device, non_blocking=True)
        labels = batch["labels"].to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = model(pixel_values=pixel_values, labels=labels).loss
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"loss is {loss.item()}, stopping training")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
        scaler.step(optimizer)
        scaler.update()
        running += loss.item() * labels.size(0)
        n += labels.size(0)
        pbar.set_postfix(loss=f"{running / n:.4f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
    return running / n


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    for batch in loader:
        logits = model(pixel_values=batch["pixel_values"].to(device)).logits
        correct += (logits.argmax(-1).cpu() == batch["labels"]).sum().item()
        total += batch["labels"].numel()
    return correct / total
