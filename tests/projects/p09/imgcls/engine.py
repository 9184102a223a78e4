import torch
import torch.nn.functional as F
from tqdm import tqdm

from .optim_factory import get_lr


def train_one_epoch(model, loader, optimizer, scheduler, scaler, device, epoch):
    model.train()
    seen, loss_sum, correct = 0, 0.0, 0
    pbar = tqdm(loader, desc=f"epoch {epoch}", leave=False)
    for images, labels in pbar:
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, enabled=scaler.is_enabled()):
            logits = model(images)
            loss = F.cross_entropy(logits, labels)

        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()

        seen += labels.size(0)
        loss_sum += loss.item() * labels.size(0)
        correct += (logits.argmax(1) == labels).sum().item()
        pbar.set_postfix(loss=loss_sum / seen, lr=get_lr(optimizer))
    return loss_sum / seen, correct / seen


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    for images, labels in loader:
        preds = model(images.to(device)).argmax(1).cpu()
        correct += (preds == labels).sum().item()
        total += labels.size(0)
    return correct / total
