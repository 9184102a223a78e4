import torch
from torch.utils.data import DataLoader, Dataset

N_MELS, N_FRAMES, N_WORDS = 40, 98, 12


class FakeSpeechCommands(Dataset):
    def __init__(self, n, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, N_WORDS, (n,), generator=g)
        self.seeds = torch.randint(0, 2**31 - 1, (n,), generator=g)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(int(self.seeds[i]))
        feats = torch.randn(N_MELS, N_FRAMES, generator=g)
        feats[int(self.labels[i]) * 3] += 2.0  # make it learnable
        return feats, self.labels[i]


def make_loaders(batch_size, num_workers=0):
    train = DataLoader(FakeSpeechCommands(3000), batch_size=batch_size, shuffle=True,
                       num_workers=num_workers)
    val = DataLoader(FakeSpeechCommands(600, seed=1), batch_size=2 * batch_size,
                     num_workers=num_workers)
    return train, val
