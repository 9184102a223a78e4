import math
import sys

import torch

from utils import SmoothedValue, Timer


def train_one_epoch(model, criterion, optimizer, data_loader, device, epoch,
                    warmup_scheduler=None, print_freq=10):
    model.train()
    loss_meter = SmoothedValue()
    with Timer() as t:
        for i, (images, targets) in enumerate(data_loader):
            images, targets = images.to(device), targets.to(device)
            loss = criterion(model(images), targets)
            if not math.isfinite(loss.item()):
                print(f"Loss is {loss.item()}, stopping training")
                sys.exit(1)

            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            if warmup_scheduler is not None:
                warmup_scheduler.step()

            loss_meter.update(loss.item())
            if i % print_freq == 0:
                lr = optimizer.param_groups[0]["lr"]
                print(f"epoch {epoch} [{i}/{len(data_loader)}] "
                      f"loss {loss_meter.median:.4f} lr {lr:.6f}")
    return loss_meter.median, t.elapsed
