"""Entry point: python -m textcls.train --epochs 3"""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader

from .engine import evaluate, train_one_epoch
from .optim_factory import build_optimizer, build_scheduler

VOCAB, NUM_CLASSES = 5000, 4


class BagClassifier(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.embed = nn.EmbeddingBag(VOCAB, dim, mode="mean")
        self.fc = nn.Linear(dim, NUM_CLASSES)

    def forward(self, tokens, offsets):
        return self.fc(self.embed(tokens, offsets))


def collate(batch):
    labels = torch.tensor([label for _, label in batch])
    lengths = [len(toks) for toks, _ in batch]
    offsets = torch.tensor([0] + lengths[:-1]).cumsum(0)
    return torch.cat([toks for toks, _ in batch]), offsets, labels


def fake_corpus(n, seed):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, VOCAB, (int(torch.randint(5, 40, (1,), generator=g)),), generator=g),
             int(torch.randint(0, NUM_CLASSES, (1,), generator=g))) for _ in range(n)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--amp", action="store_true")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_loader = DataLoader(fake_corpus(2000, 0), batch_size=args.batch_size,
                              shuffle=True, collate_fn=collate)
    test_loader = DataLoader(fake_corpus(400, 1), batch_size=args.batch_size, collate_fn=collate)
    model = BagClassifier().to(device)
    optimizer = build_optimizer(model, args.lr)
    scheduler = build_scheduler(optimizer, num_training_steps=args.epochs * len(train_loader))
    scaler = torch.amp.GradScaler("cuda", enabled=args.amp and device.type == "cuda")

    for epoch in range(args.epochs):
        loss = train_one_epoch(model, train_loader, optimizer, scheduler, scaler, device)
        acc = evaluate(model, test_loader, device)
        print(f"epoch {epoch}: loss={loss:.4f} acc={acc:.3f} lr={scheduler.get_last_lr()[0]:.2e}")


if __name__ == "__main__":
    main()
