import json
import os

import torch
from torch.utils.data import Dataset


class RatingsDataset(Dataset):
    """Synthetic (user, item, rating) triples for a matrix-factorisation model."""

    def __init__(self, n_users, n_items, n_ratings, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.users = torch.randint(0, n_users, (n_ratings,), generator=g)
        self.items = torch.randint(0, n_items, (n_ratings,), generator=g)
        self.ratings = torch.rand(n_ratings, generator=g) * 4 + 1

    def __len__(self):
        return len(self.ratings)

    def __getitem__(self, i):
        return self.users[i], self.items[i], self.ratings[i]


def dump_history(history, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "history.json"), "w") as f:
        json.dump(history, f, indent=2)
