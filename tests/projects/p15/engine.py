"""Train and evaluation functions used in main.py"""
import math
import sys

import torch
import torch.nn.functional as F


def silog_loss(pred, target, variance_focus=0.85):
    mask = target > 1e-3
    d = torch.log(pred[mask].clamp(min=1e-3)) - torch.log(target[mask])
    return torch.sqrt((d ** 2).mean() - variance_focus * d.mean() ** 2) * 10.0


def train_one_epoch(model, data_loader, optimizer, lr_scheduler, device, epoch, max_norm=0.1, print_freq=100):
    model.train()
    total = 0.0
    for step, (images, depths) in enumerate(data_loader):
        images, depths = images.to(device), depths.to(device)
        pred = model(images)
        pred = F.interpolate(pred, size=depths.shape[-2:], mode="bilinear", align_corners=False)
        loss = silog_loss(pred, depths)
        if not math.isfinite(loss.item()):
            print(f"Loss is {loss.item()}, stopping training")
            sys.exit(1)

        optimizer.zero_grad()
        loss.backward()
        if max_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        lr_scheduler.step()

        total += loss.item()
        if step % print_freq == 0:
            print(f"Epoch [{epoch}] [{step}/{len(data_loader)}] silog {loss.item():.4f} "
                  f"lr {optimizer.param_groups[0]['lr']:.2e}")
    return {"train_silog": total / len(data_loader)}


@torch.no_grad()
def evaluate(model, data_loader, device):
    model.eval()
    abs_rel, n = 0.0, 0
    for images, depths in data_loader:
        images, depths = images.to(device), depths.to(device)
        pred = F.interpolate(model(images), size=depths.shape[-2:], mode="bilinear", align_corners=False)
        mask = depths > 1e-3
        abs_rel += (torch.abs(pred[mask] - depths[mask]) / depths[mask]).mean().item()
        n += 1
    return {"abs_rel": abs_rel / max(n, 1)}
