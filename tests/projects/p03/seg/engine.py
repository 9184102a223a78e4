import torch
import torch.nn.functional as F
from tqdm import tqdm


def train_one_epoch(model, loader, optimizer, scaler, device, epoch, print_freq=20):
    model.train()
    running = 0.0
    pbar = tqdm(loader, desc=f"train {epoch}", leave=False)
    for it, (image, mask) in enumerate(pbar):
        image, mask = image.to(device), mask.to(device)
        with torch.autocast(device_type=device.type, enabled=scaler.is_enabled()):
            logits = model(image)
            loss = F.cross_entropy(logits, mask, ignore_index=255)

        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

        running += loss.item()
        if it % print_freq == 0:
            pbar.set_postfix(loss=f"{running / (it + 1):.4f}")
    return running / max(len(loader), 1)


@torch.no_grad()
def evaluate(model, loader, device, num_classes):
    model.eval()
    inter = torch.zeros(num_classes, device=device)
    union = torch.zeros(num_classes, device=device)
    for image, mask in loader:
        image, mask = image.to(device), mask.to(device)
        pred = model(image).argmax(1)
        for c in range(num_classes):
            p, t = pred == c, mask == c
            inter[c] += (p & t).sum()
            union[c] += (p | t).sum()
    return (inter / union.clamp(min=1)).mean().item()
