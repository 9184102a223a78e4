import torch
from tqdm import tqdm

from utils import AverageMeter, accuracy


def train_one_epoch(model, loader, criterion, optimizer, device, epoch):
    model.train()
    losses = AverageMeter("loss")
    top1 = AverageMeter("acc@1")
    for images, target in tqdm(loader, desc=f"epoch {epoch}", leave=False):
        images, target = images.to(device), target.to(device)
        output = model(images)
        loss = criterion(output, target)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        losses.update(loss.item(), images.size(0))
        top1.update(accuracy(output, target), images.size(0))
    return losses.avg, top1.avg


@torch.no_grad()
def validate(model, loader, criterion, device):
    model.eval()
    losses = AverageMeter("loss")
    top1 = AverageMeter("acc@1")
    for images, target in loader:
        images, target = images.to(device), target.to(device)
        output = model(images)
        losses.update(criterion(output, target).item(), images.size(0))
        top1.update(accuracy(output, target), images.size(0))
    return losses.avg, top1.avg
