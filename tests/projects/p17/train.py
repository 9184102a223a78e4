"""Train a ResNet-RS / ConvNeXt with an iteration-level cosine schedule."""
import argparse
import os

import timm
import torch
from timm.data import create_transform
from timm.loss import LabelSmoothingCrossEntropy
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

from engine import train_one_epoch, validate
from optim_factory import build_optimizer, build_scheduler


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/data/imagenette2-320")
    p.add_argument("--model", default="convnext_nano")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--warmup-epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--output", default="output/train")
    return p.parse_args()


def main():
    args = parse()
    device = torch.device("cuda")
    train_tf = create_transform(224, is_training=True, auto_augment="rand-m7-mstd0.5", re_prob=0.25)
    eval_tf = create_transform(224, is_training=False)
    loader_train = DataLoader(ImageFolder(os.path.join(args.data, "train"), train_tf), batch_size=args.batch_size,
                              shuffle=True, num_workers=12, pin_memory=True, drop_last=True)
    loader_eval = DataLoader(ImageFolder(os.path.join(args.data, "val"), eval_tf), batch_size=256, num_workers=8)

    model = timm.create_model(args.model, num_classes=10, drop_path_rate=0.1).to(device)
    optimizer = build_optimizer(model, args.lr, args.weight_decay)
    lr_scheduler = build_scheduler(optimizer, args.epochs, args.warmup_epochs, len(loader_train))
    criterion = LabelSmoothingCrossEntropy(0.1)

    os.makedirs(args.output, exist_ok=True)
    num_updates = 0
    best_top1 = 0.0
    for epoch in range(args.epochs):
        train_loss, num_updates = train_one_epoch(model, loader_train, criterion, optimizer, lr_scheduler,
                                                  epoch, num_updates, device)
        top1, top5 = validate(model, loader_eval, device)
        print(f"epoch {epoch}: loss {train_loss:.4f} top1 {top1:.2f} top5 {top5:.2f}")
        if top1 > best_top1:
            best_top1 = top1
            torch.save({"model": model.state_dict(), "epoch": epoch, "num_updates": num_updates},
                       os.path.join(args.output, "model_best.pth.tar"))


if __name__ == "__main__":
    main()
