import torch
from tqdm.auto import tqdm


def train_one_epoch(model, loader, optimizer, scheduler, scaler, device, max_grad_norm=1.0):
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    total_loss = 0.0
    for tokens, offsets, labels in tqdm(loader, desc="train", leave=False):
        tokens, offsets, labels = tokens.to(device), offsets.to(device), labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16,
                            enabled=scaler.is_enabled()):
            logits = model(tokens, offsets)
            loss = loss_fn(logits, labels)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        scheduler.step()
        scaler.step(optimizer)
        scaler.update()
        total_loss += loss.item()
    return total_loss / len(loader)


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    for tokens, offsets, labels in loader:
        logits = model(tokens.to(device), offsets.to(device))
        correct += (logits.argmax(-1).cpu() == labels).sum().item()
        total += labels.numel()
    return correct / total
