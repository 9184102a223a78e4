import torch
from tqdm import tqdm

from optim_factory import create_optimizer, create_scheduler


class Trainer:
    def __init__(self, model, train_loader, val_loader, epochs, lr, weight_decay, device):
        self.model = model.to(device)
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.epochs = epochs
        self.device = device
        self.criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        self.optimizer = create_optimizer(self.model, lr, weight_decay)
        self.scheduler = create_scheduler(self.optimizer, epochs)
        self.history = []

    def train_epoch(self, epoch):
        self.model.train()
        total = 0.0
        for x, y in tqdm(self.train_loader, desc=f"epoch {epoch}", leave=False):
            x, y = x.to(self.device), y.to(self.device)
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(x), y)
            loss.backward()
            self.optimizer.step()
            total += loss.item()
        return total / len(self.train_loader)

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        correct = 0
        for x, y in self.val_loader:
            pred = self.model(x.to(self.device)).argmax(1).cpu()
            correct += (pred == y).sum().item()
        return correct / len(self.val_loader.dataset)

    def fit(self):
        for epoch in range(self.epochs):
            train_loss = self.train_epoch(epoch)
            val_acc = self.validate()
            self.scheduler.step()
            self.history.append({"epoch": epoch, "loss": train_loss, "acc": val_acc,
                                 "lr": self.scheduler.get_last_lr()[0]})
            print(self.history[-1])
        return self.history
