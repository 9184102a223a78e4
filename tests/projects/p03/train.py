import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from seg.engine import evaluate, train_one_epoch
from seg.optim_factory import build_optimizer, build_scheduler

NUM_CLASSES = 4


class RandomMasks(Dataset):
    def __init__(self, n, size=64):
        self.n, self.size = n, size

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        g = torch.Generator().manual_seed(idx)
        image = torch.randn(3, self.size, self.size, generator=g)
        mask = torch.randint(0, NUM_CLASSES, (self.size, self.size), generator=g)
        return image, mask


def get_args():
    parser = argparse.ArgumentParser("segmentation training")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--amp", action="store_true")
    return parser.parse_args()


def main():
    args = get_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        nn.Conv2d(32, NUM_CLASSES, 1),
    ).to(device)
    train_loader = DataLoader(RandomMasks(256), batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(RandomMasks(32), batch_size=args.batch_size)

    optimizer = build_optimizer(model, args)
    lr_scheduler = build_scheduler(optimizer, args, steps_per_epoch=len(train_loader))
    scaler = torch.amp.GradScaler("cuda", enabled=args.amp and device.type == "cuda")

    for epoch in range(args.epochs):
        loss = train_one_epoch(model, train_loader, optimizer, scaler, device, epoch)
        lr_scheduler.step()
        miou = evaluate(model, val_loader, device, NUM_CLASSES)
        print(f"epoch {epoch} loss {loss:.4f} mIoU {miou:.3f} lr {lr_scheduler.get_last_lr()[0]:.5f}")


if __name__ == "__main__":
    main()
