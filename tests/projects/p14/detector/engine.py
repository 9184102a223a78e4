import math
import sys
import time

import torch


def train_one_epoch(model, optimizer, data_loader, device, epoch, print_freq=50, scaler=None):
    model.train()
    header = f"Epoch: [{epoch}]"
    start = time.time()
    for it, (images, targets) in enumerate(data_loader):
        images = [img.to(device) for img in images]
        targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
        with torch.cuda.amp.autocast(enabled=scaler is not None):
            loss_dict = model(images, targets)
            losses = sum(loss for loss in loss_dict.values())

        loss_value = losses.item()
        if not math.isfinite(loss_value):
            print(f"Loss is {loss_value}, stopping training: {loss_dict}")
            sys.exit(1)

        optimizer.zero_grad()
        if scaler is not None:
            scaler.scale(losses).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            losses.backward()
            optimizer.step()

        if it % print_freq == 0:
            parts = "  ".join(f"{k}: {v.item():.4f}" for k, v in loss_dict.items())
            print(f"{header} [{it}/{len(data_loader)}] loss: {loss_value:.4f}  {parts}  "
                  f"lr: {optimizer.param_groups[0]['lr']:.6f}  ({time.time() - start:.0f}s)")


@torch.no_grad()
def evaluate(model, data_loader, device):
    model.eval()
    n_dets = 0
    for images, _ in data_loader:
        outputs = model([img.to(device) for img in images])
        n_dets += sum(int((o["scores"] > 0.5).sum()) for o in outputs)
    print(f"average confident detections per image: {n_dets / len(data_loader.dataset):.2f}")
    return n_dets
