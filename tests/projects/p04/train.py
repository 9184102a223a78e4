import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from engine import train_one_epoch
from utils import build_warmup_scheduler


def get_args_parser():
    parser = argparse.ArgumentParser(description="box-regression training", add_help=True)
    parser.add_argument("--epochs", default=26, type=int)
    parser.add_argument("--lr", default=0.02, type=float)
    parser.add_argument("--momentum", default=0.9, type=float)
    parser.add_argument("--weight-decay", default=1e-4, type=float)
    parser.add_argument("--lr-steps", default=[16, 22], nargs="+", type=int)
    parser.add_argument("--lr-gamma", default=0.1, type=float)
    parser.add_argument("--batch-size", default=4, type=int)
    return parser


def main(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    images = torch.randn(200, 3, 32, 32)
    boxes = torch.rand(200, 4)
    data_loader = DataLoader(TensorDataset(images, boxes), batch_size=args.batch_size, shuffle=True)

    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Flatten(),
                          nn.LazyLinear(4)).to(device)
    model(images[:1].to(device))  # materialise the lazy layer
    criterion = nn.SmoothL1Loss()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum,
                                weight_decay=args.weight_decay)
    lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=args.lr_steps,
                                                        gamma=args.lr_gamma)
    warmup_scheduler = build_warmup_scheduler(optimizer, data_loader)

    for epoch in range(args.epochs):
        loss, elapsed = train_one_epoch(
            model, criterion, optimizer, data_loader, device, epoch,
            warmup_scheduler=warmup_scheduler if epoch == 0 else None,
        )
        lr_scheduler.step()
        print(f"epoch {epoch} done in {elapsed:.1f}s, loss {loss:.4f}")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
