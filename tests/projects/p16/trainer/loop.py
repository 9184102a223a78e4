import logging
import os

import torch
from tqdm import tqdm

from .optim import make_optimizer, make_scheduler

logger = logging.getLogger(__name__)


class Trainer:
    def __init__(self, model, criterion, cfg, device="cuda"):
        self.model = model.to(device)
        self.criterion = criterion
        self.cfg = cfg
        self.device = device
        self.optimizer = make_optimizer(cfg, self.model)
        self.scheduler = make_scheduler(cfg, self.optimizer)
        self.best_val = float("inf")

    def _run(self, loader, train):
        self.model.train(train)
        total, count = 0.0, 0
        with torch.set_grad_enabled(train):
            for x, y in tqdm(loader, desc="train" if train else "val", leave=False):
                x, y = x.to(self.device), y.to(self.device)
                loss = self.criterion(self.model(x), y)
                if train:
                    self.optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.get("clip", 5.0))
                    self.optimizer.step()
                total += loss.item() * x.size(0)
                count += x.size(0)
        return total / count

    def on_epoch_end(self, epoch, train_loss, val_loss):
        self.scheduler.step()
        lr = self.optimizer.param_groups[0]["lr"]
        logger.info("epoch %d | train %.5f | val %.5f | lr %.2e", epoch, train_loss, val_loss, lr)
        if val_loss < self.best_val:
            self.best_val = val_loss
            os.makedirs(self.cfg["out_dir"], exist_ok=True)
            torch.save(self.model.state_dict(), os.path.join(self.cfg["out_dir"], "best.pt"))

    def fit(self, train_loader, val_loader):
        for epoch in range(self.cfg["epochs"]):
            train_loss = self._run(train_loader, train=True)
            val_loss = self._run(val_loader, train=False)
            self.on_epoch_end(epoch, train_loss, val_loss)
        return self.best_val
