"""Gowalla check-ins as split by LightGCN (He et al., SIGIR 2020; the NGCF split): each line of
``train.txt`` / ``test.txt`` is a user id followed by that user's item ids (0-based).

:func:`load_gowalla` returns the two splits as :class:`adrec.graph.Interactions` over the same id
space (29,858 users, 40,981 items); :func:`sample_subgraph` draws a seeded, re-indexed subgraph of
it for CPU-sized runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Interactions
from .registry import fetch

GOWALLA_USERS = 29_858
GOWALLA_ITEMS = 40_981


@dataclass
class Split:
    train: Interactions
    test: Interactions
    name: str = ""

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items

    def stats(self) -> dict:
        return {"n_users": self.n_users, "n_items": self.n_items, "n_train": len(self.train),
                "n_test": len(self.test),
                "density": (len(self.train) + len(self.test)) / (self.n_users * self.n_items)}


def read_user_item_lines(path) -> tuple[np.ndarray, np.ndarray]:
    """(users, items) of a file whose lines are ``user item item ...`` (a line may hold no item)."""
    users, items = [], []
    with open(path) as fh:
        for line in fh:
            ids = line.split()
            if len(ids) < 2:
                continue
            row = np.asarray(ids, dtype=np.int64)
            users.append(np.full(row.size - 1, row[0]))
            items.append(row[1:])
    if not users:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(users), np.concatenate(items)


def load_gowalla() -> Split:
    """The LightGCN Gowalla split: 810,128 train and 217,242 test pairs, 29,858 users, 40,981 items."""
    tu, ti = read_user_item_lines(fetch("gowalla", "train.txt"))
    su, si = read_user_item_lines(fetch("gowalla", "test.txt"))
    n_users = int(max(tu.max(), su.max())) + 1
    n_items = int(max(ti.max(), si.max())) + 1
    return Split(Interactions.from_pairs(tu, ti, n_users, n_items),
                 Interactions.from_pairs(su, si, n_users, n_items), name="gowalla")


def sample_subgraph(split: Split, n_users: int, seed: int = 0, min_item_train: int = 1) -> Split:
    """A seeded subgraph: ``n_users`` users drawn uniformly without replacement, with all their
    train and test pairs; items kept when they have at least ``min_item_train`` training pairs
    among the drawn users (test pairs of other items are dropped: no model can rank an item it
    never saw); users and items re-indexed 0..n-1 in their original order."""
    rng = np.random.default_rng(seed)
    n_users = min(int(n_users), split.n_users)
    chosen = np.sort(rng.choice(split.n_users, size=n_users, replace=False))
    user_map = np.full(split.n_users, -1, dtype=np.int64)
    user_map[chosen] = np.arange(n_users)
    tr, te = split.train, split.test
    keep_tr = user_map[tr.users] >= 0
    counts = np.bincount(tr.items[keep_tr], minlength=split.n_items)
    items = np.flatnonzero(counts >= min_item_train)
    item_map = np.full(split.n_items, -1, dtype=np.int64)
    item_map[items] = np.arange(items.size)

    def restrict(x: Interactions) -> Interactions:
        u, i = user_map[x.users], item_map[x.items]
        m = (u >= 0) & (i >= 0)
        return Interactions.from_pairs(u[m], i[m], n_users, items.size)

    return Split(restrict(tr), restrict(te), name=f"{split.name}-sub{n_users}-seed{seed}")
