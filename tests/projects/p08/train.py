import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

import kpt.optim_factory as optim_factory
from kpt.utils import MeanMetric, load_checkpoint, save_checkpoint


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--opt", default="adamw", choices=["adamw", "sgd"])
    p.add_argument("--sched", default="cosine", choices=["cosine", "step"])
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-6)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--decay-epochs", type=int, default=20)
    p.add_argument("--resume", default="")
    p.add_argument("--ckpt", default="checkpoints/last.pth")
    return p.parse_args()


def main():
    args = parse()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x, y = torch.randn(800, 3, 48, 48), torch.rand(800, 34)
    train_loader = DataLoader(TensorDataset(x[:640], y[:640]), batch_size=32, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[640:], y[640:]), batch_size=64)
    model = nn.Sequential(nn.Conv2d(3, 24, 5, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
                          nn.Flatten(), nn.Linear(24 * 16, 34)).to(device)
    optimizer = optim_factory.build_optimizer(model, args)
    lr_scheduler = optim_factory.build_scheduler(optimizer, args)
    start_epoch, best = 0, float("inf")
    if args.resume:
        start_epoch, best = load_checkpoint(args.resume, model, optimizer, lr_scheduler)

    for epoch in range(start_epoch, args.epochs):
        model.train()
        train_loss = MeanMetric()
        for images, kpts in tqdm(train_loader, desc=f"epoch {epoch}", leave=False):
            images, kpts = images.to(device), kpts.to(device)
            loss = nn.functional.l1_loss(model(images), kpts)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_loss.update(loss.item(), images.size(0))

        model.eval()
        val_loss = MeanMetric()
        with torch.no_grad():
            for images, kpts in val_loader:
                pred = model(images.to(device))
                val_loss.update(nn.functional.l1_loss(pred, kpts.to(device)).item(), images.size(0))
        best = min(best, val_loss.compute())
        print(f"epoch {epoch} train {train_loss.compute():.4f} val {val_loss.compute():.4f} "
              f"lr {lr_scheduler.get_last_lr()[0]:.2e}")
        save_checkpoint(args.ckpt, model, optimizer, lr_scheduler, epoch, best)


if __name__ == "__main__":
    main()
