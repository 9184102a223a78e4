import time

import torch
from tqdm import tqdm


def train_one_epoch(model, criterion, optimizer, scheduler, loader, scaler, device, epoch):
    model.train()
    start = time.time()
    total_loss, total_correct, total_seen = 0.0, 0, 0
    for images, targets in tqdm(loader, desc=f"Epoch {epoch}", leave=False):
        images, targets = images.to(device), targets.to(device)
        with torch.autocast(device_type=device.type, enabled=scaler.is_enabled()):
            outputs = model(images)
            loss = criterion(outputs, targets)

        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()

        total_loss += loss.item() * images.size(0)
        total_correct += (outputs.argmax(1) == targets).sum().item()
        total_seen += images.size(0)
    print(f"epoch {epoch} took {time.time() - start:.1f}s")
    return total_loss / total_seen, total_correct / total_seen


@torch.no_grad()
def evaluate(model, criterion, loader, device):
    model.eval()
    total_loss, total_correct, total_seen = 0.0, 0, 0
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        outputs = model(images)
        total_loss += criterion(outputs, targets).item() * images.size(0)
        total_correct += (outputs.argmax(1) == targets).sum().item()
        total_seen += images.size(0)
    return total_loss / total_seen, total_correct / total_seen
