import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import imgcls.engine as engine
from imgcls.optim_factory import build_optimizer, build_scheduler


def conv_bn(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def make_model(num_classes=10):
    return nn.Sequential(conv_bn(3, 32), nn.MaxPool2d(2), conv_bn(32, 64), nn.MaxPool2d(2),
                         conv_bn(64, 128), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                         nn.Linear(128, num_classes))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--max-lr", type=float, default=0.4)
    parser.add_argument("--div-factor", type=float, default=20.0)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--amp", action="store_true")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x, y = torch.randn(2048, 3, 32, 32), torch.randint(0, 10, (2048,))
    train_loader = DataLoader(TensorDataset(x[:1792], y[:1792]), batch_size=args.batch_size,
                              shuffle=True, drop_last=True)
    test_loader = DataLoader(TensorDataset(x[1792:], y[1792:]), batch_size=512)

    model = make_model().to(device)
    optimizer = build_optimizer(model, args)
    scheduler = build_scheduler(optimizer, args, steps_per_epoch=len(train_loader))
    scaler = torch.amp.GradScaler("cuda", enabled=args.amp and device.type == "cuda")

    for epoch in range(args.epochs):
        train_loss, train_acc = engine.train_one_epoch(model, train_loader, optimizer,
                                                       scheduler, scaler, device, epoch)
        test_acc = engine.evaluate(model, test_loader, device)
        print(f"epoch {epoch:2d} loss {train_loss:.3f} train {train_acc:.3f} test {test_acc:.3f}")


if __name__ == "__main__":
    main()
