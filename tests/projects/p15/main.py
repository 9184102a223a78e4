"""Monocular depth estimation (NYU-v2) with a ResNet encoder / upsampling decoder."""
import argparse
import os
import time

import h5py
import torch
import torch.nn as nn
import torchvision
from torch.utils.data import DataLoader, Dataset

import utils
from engine import evaluate, train_one_epoch


def get_args_parser():
    parser = argparse.ArgumentParser("Depth training", add_help=False)
    parser.add_argument("--lr", default=1e-4, type=float)
    parser.add_argument("--lr_backbone", default=1e-5, type=float)
    parser.add_argument("--batch_size", default=8, type=int)
    parser.add_argument("--weight_decay", default=1e-4, type=float)
    parser.add_argument("--epochs", default=60, type=int)
    parser.add_argument("--lr_drop", default=40, type=int, help="epoch after which the LR is divided by 10")
    parser.add_argument("--clip_max_norm", default=0.1, type=float)
    parser.add_argument("--data", default="data/nyu_depth_v2_labeled.mat")
    parser.add_argument("--output_dir", default="outputs/depth")
    parser.add_argument("--seed", default=42, type=int)
    return parser


class NYUDepth(Dataset):
    def __init__(self, path, split):
        f = h5py.File(path, "r")
        n = f["images"].shape[0]
        idx = range(0, int(0.9 * n)) if split == "train" else range(int(0.9 * n), n)
        self.images = [f["images"][i] for i in idx]
        self.depths = [f["depths"][i] for i in idx]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = torch.from_numpy(self.images[i]).float().div(255).permute(0, 2, 1)
        depth = torch.from_numpy(self.depths[i]).float().t().unsqueeze(0)
        return img, depth


class DepthNet(nn.Module):
    def __init__(self):
        super().__init__()
        r = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        self.backbone = nn.Sequential(*list(r.children())[:-2])
        chans = [2048, 512, 256, 128, 64]
        self.decoder = nn.Sequential(*[nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(a, b, 3, padding=1),
                                                     nn.BatchNorm2d(b), nn.ReLU()) for a, b in zip(chans[:-1], chans[1:])])
        self.head = nn.Conv2d(64, 1, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.head(self.decoder(self.backbone(x)))) + 1e-3


def main(args):
    utils.set_seed(args.seed)
    device = torch.device("cuda")
    model = DepthNet().to(device)
    optimizer, lr_scheduler = utils.build_optimizer(args, model)
    train_loader = DataLoader(NYUDepth(args.data, "train"), args.batch_size, shuffle=True, num_workers=4, drop_last=True)
    val_loader = DataLoader(NYUDepth(args.data, "val"), 1, num_workers=2)

    start = time.time()
    for epoch in range(args.epochs):
        train_stats = train_one_epoch(model, train_loader, optimizer, lr_scheduler, device, epoch, args.clip_max_norm)
        test_stats = evaluate(model, val_loader, device)
        utils.save_on_master({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                              "lr_scheduler": lr_scheduler.state_dict(), "epoch": epoch},
                             os.path.join(args.output_dir, "checkpoint.pth"))
        utils.log_stats(os.path.join(args.output_dir, "log.txt"), {"epoch": epoch, **train_stats, **test_stats})
    print(f"Training time {(time.time() - start) / 3600:.2f}h")


if __name__ == "__main__":
    parser = argparse.ArgumentParser("Depth training script", parents=[get_args_parser()])
    main(parser.parse_args())
