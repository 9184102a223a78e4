"""Faster R-CNN training on a COCO-format dataset."""
import argparse
import os

import torch
import torchvision
from torchvision.datasets import CocoDetection
from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2
from torchvision.transforms import functional as F

from detector import build_lr_scheduler, build_optimizer, evaluate, train_one_epoch


class CocoForDetection(CocoDetection):
    def __getitem__(self, idx):
        img, anns = super().__getitem__(idx)
        boxes = [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                 for a in anns if a["bbox"][2] > 1 and a["bbox"][3] > 1]
        labels = [a["category_id"] for a in anns if a["bbox"][2] > 1 and a["bbox"][3] > 1]
        target = {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                  "labels": torch.tensor(labels, dtype=torch.int64)}
        return F.to_tensor(img), target


def collate_fn(batch):
    return tuple(zip(*batch))


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-path", default="/datasets/coco")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--base-lr", type=float, default=0.02)
    parser.add_argument("--bias-lr-factor", type=float, default=2.0)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--lr-steps", type=int, nargs="+", default=[8, 11])
    parser.add_argument("--lr-gamma", type=float, default=0.1)
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--resume", default="")
    parser.add_argument("--output-dir", default="work_dirs/frcnn")
    return parser.parse_args()


def main():
    args = parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    device = torch.device("cuda")
    train_ds = CocoForDetection(os.path.join(args.data_path, "train2017"),
                                os.path.join(args.data_path, "annotations/instances_train2017.json"))
    val_ds = CocoForDetection(os.path.join(args.data_path, "val2017"),
                              os.path.join(args.data_path, "annotations/instances_val2017.json"))
    train_loader = torch.utils.data.DataLoader(train_ds, batch_size=args.batch_size, shuffle=True,
                                               num_workers=8, collate_fn=collate_fn)
    val_loader = torch.utils.data.DataLoader(val_ds, batch_size=1, num_workers=4, collate_fn=collate_fn)

    model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone="IMAGENET1K_V1", num_classes=91).to(device)
    optimizer = build_optimizer(model, args)
    lr_scheduler = build_lr_scheduler(optimizer, args)
    scaler = torch.cuda.amp.GradScaler() if args.amp else None

    start_epoch = 0
    if args.resume:
        ckpt = torch.load(args.resume, map_location="cpu")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        lr_scheduler.load_state_dict(ckpt["lr_scheduler"])
        start_epoch = ckpt["epoch"] + 1

    print(f"torchvision {torchvision.__version__}; training for {args.epochs} epochs")
    for epoch in range(start_epoch, args.epochs):
        lr_scheduler.step()
        train_one_epoch(model, optimizer, train_loader, device, epoch, scaler=scaler)
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "lr_scheduler": lr_scheduler.state_dict(), "epoch": epoch},
                   os.path.join(args.output_dir, f"model_{epoch}.pth"))
        evaluate(model, val_loader, device)


if __name__ == "__main__":
    main()
