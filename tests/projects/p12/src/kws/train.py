"""Run with: python -m kws.train --accum-steps 4 --amp"""
import argparse

import torch
from torch import nn
from tqdm import tqdm

from .data import N_MELS, N_WORDS, make_loaders
from .optim_factory import build_optimizer, build_scheduler, num_update_steps


def get_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--accum-steps", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--amp", action="store_true")
    return ap.parse_args()


def main():
    args = get_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = nn.Sequential(nn.Conv1d(N_MELS, 64, 5, padding=2), nn.ReLU(),
                          nn.Conv1d(64, 64, 5, padding=2), nn.ReLU(),
                          nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, N_WORDS)).to(device)
    train_loader, val_loader = make_loaders(args.batch_size)
    optimizer = build_optimizer(model, args.lr, args.weight_decay)
    scheduler = build_scheduler(optimizer, args.lr,
                                num_update_steps(train_loader, args.epochs, args.accum_steps))
    scaler = torch.amp.GradScaler("cuda", enabled=args.amp and device.type == "cuda")
    criterion = nn.CrossEntropyLoss()

    for epoch in range(args.epochs):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        pbar = tqdm(train_loader, desc=f"epoch {epoch}", leave=False)
        for step, (feats, labels) in enumerate(pbar):
            feats, labels = feats.to(device), labels.to(device)
            with torch.autocast(device_type=device.type, enabled=scaler.is_enabled()):
                loss = criterion(model(feats), labels) / args.accum_steps
            scaler.scale(loss).backward()

            if (step + 1) % args.accum_steps == 0 or step + 1 == len(train_loader):
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
                pbar.set_postfix(loss=loss.item() * args.accum_steps,
                                 lr=scheduler.get_last_lr()[0])

        model.eval()
        correct = 0
        with torch.no_grad():
            for feats, labels in val_loader:
                correct += (model(feats.to(device)).argmax(1).cpu() == labels).sum().item()
        print(f"epoch {epoch}: val acc {correct / len(val_loader.dataset):.3f}")


if __name__ == "__main__":
    main()
