"""Fine-tune a ViT from the HF hub on an image-folder dataset."""
import argparse
import os

import torch
from datasets import load_dataset
from torch.utils.data import DataLoader
from torchvision import transforms
from transformers import AutoImageProcessor, AutoModelForImageClassification

from engine import evaluate, train_one_epoch
from optim_factory import build_optimizer, build_scheduler


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument("--data_dir", default="data/herbarium_subset")
    p.add_argument("--model", default="google/vit-base-patch16-224-in21k")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--warmup_epochs", type=int, default=2)
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight_decay", type=float, default=0.05)
    p.add_argument("--output_dir", default="output/vit")
    return p.parse_args()


def make_loaders(args, processor):
    ds = load_dataset("imagefolder", data_dir=args.data_dir)
    norm = transforms.Normalize(processor.image_mean, processor.image_std)
    train_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), norm])
    val_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), norm])

    def apply(tf):
        def fn(batch):
            batch["pixel_values"] = [tf(img.convert("RGB")) for img in batch["image"]]
            return batch
        return fn

    ds["train"].set_transform(apply(train_tf))
    ds["validation"].set_transform(apply(val_tf))

    def collate(examples):
        return {"pixel_values": torch.stack([e["pixel_values"] for e in examples]),
                "labels": torch.tensor([e["label"] for e in examples])}

    train_loader = DataLoader(ds["train"], batch_size=args.batch_size, shuffle=True, collate_fn=collate,
                              num_workers=8, drop_last=True)
    val_loader = DataLoader(ds["validation"], batch_size=args.batch_size, collate_fn=collate, num_workers=8)
    return train_loader, val_loader, ds["train"].features["label"].names


def main():
    args = get_args()
    os.makedirs(args.output_dir, exist_ok=True)
    device = torch.device("cuda")
    processor = AutoImageProcessor.from_pretrained(args.model)
    train_loader, val_loader, labels = make_loaders(args, processor)
    model = AutoModelForImageClassification.from_pretrained(
        args.model, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)}).to(device)

    optimizer = build_optimizer(model, args)
    lr_scheduler = build_scheduler(optimizer, args, steps_per_epoch=len(train_loader))
    scaler = torch.cuda.amp.GradScaler()

    best = 0.0
    for epoch in range(args.epochs):
        train_loss = train_one_epoch(model, train_loader, optimizer, scaler, device, epoch)
        lr_scheduler.step()
        acc = evaluate(model, val_loader, device)
        print(f"epoch {epoch}: train_loss={train_loss:.4f} val_acc={acc:.4f}")
        if acc > best:
            best = acc
            model.save_pretrained(args.output_dir)
    print(f"best val acc {best:.4f}")


if __name__ == "__main__":
    main()
