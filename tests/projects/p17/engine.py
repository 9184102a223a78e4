import time

import torch
from timm.utils import AverageMeter, accuracy


def train_one_epoch(model, loader, criterion, optimizer, lr_scheduler, epoch, num_updates, device, log_every=50):
    model.train()
    loss_m = AverageMeter()
    tic = time.time()
    for idx, (images, targets) in enumerate(loader):
        images = images.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = criterion(model(images), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        num_updates += 1
        lr_scheduler.step_update(num_updates=num_updates)

        loss_m.update(loss.item(), images.size(0))
        if idx % log_every == 0:
            lr = optimizer.param_groups[0]["lr"]
            print(f"Train: {epoch} [{idx}/{len(loader)}] loss {loss_m.val:.4f} ({loss_m.avg:.4f}) "
                  f"lr {lr:.3e} {time.time() - tic:.1f}s")
    return loss_m.avg, num_updates


@torch.no_grad()
def validate(model, loader, device):
    model.eval()
    top1, top5 = AverageMeter(), AverageMeter()
    for images, targets in loader:
        out = model(images.to(device))
        a1, a5 = accuracy(out, targets.to(device), topk=(1, 5))
        top1.update(a1.item(), images.size(0))
        top5.update(a5.item(), images.size(0))
    return top1.avg, top5.avg
