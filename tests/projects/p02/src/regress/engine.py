import torch
from tqdm import tqdm


def train_one_epoch(model, loader, optimizer, device, clip=1.0):
    model.train()
    total, n = 0.0, 0
    for features, target in tqdm(loader, leave=False):
        features, target = features.to(device), target.to(device)
        pred = model(features).squeeze(-1)
        loss = torch.nn.functional.mse_loss(pred, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.item() * features.size(0)
        n += features.size(0)
    return total / n


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    total, n = 0.0, 0
    for features, target in loader:
        features, target = features.to(device), target.to(device)
        pred = model(features).squeeze(-1)
        total += torch.nn.functional.mse_loss(pred, target, reduction="sum").item()
        n += features.size(0)
    return total / n
