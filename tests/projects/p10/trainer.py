import torch
from tqdm import tqdm


class Trainer:
    def __init__(self, model, optimizer, scheduler, train_loader, val_loader, device="cpu"):
        self.model = model.to(device)
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.device = device
        self.loss_fn = torch.nn.MSELoss()
        self.history = []

    def _batch_loss(self, batch):
        users, items, ratings = (t.to(self.device) for t in batch)
        return self.loss_fn(self.model(users, items), ratings)

    def train_epoch(self, epoch):
        self.model.train()
        running = 0.0
        for batch in tqdm(self.train_loader, desc=f"epoch {epoch}", leave=False):
            loss = self._batch_loss(batch)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            running += loss.item()
        # end-of-epoch bookkeeping
        lr = self.scheduler.get_last_lr()[0]
        self.scheduler.step()
        return running / len(self.train_loader), lr

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        losses = [self._batch_loss(batch).item() for batch in self.val_loader]
        return (sum(losses) / len(losses)) ** 0.5

    def fit(self, epochs):
        for epoch in range(epochs):
            train_loss, lr = self.train_epoch(epoch)
            val_rmse = self.validate()
            self.scheduler.step()
            self.history.append({"epoch": epoch, "train_mse": train_loss,
                                 "val_rmse": val_rmse, "lr": lr})
            print(self.history[-1])
        return self.history
