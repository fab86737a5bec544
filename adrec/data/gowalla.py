"""Gowalla check-ins as split by LightGCN (He et al., SIGIR 2020; the NGCF split): each line of
``train.txt`` / ``test.txt`` is a user id followed by that user's item ids (0-based).

:func:`load_gowalla` returns the two splits as :class:`adrec.graph.Interactions` over the same id
space (29,858 users, 40,981 items); :func:`sample_subgraph` draws a seeded, re-indexed subgraph of
it for CPU-sized runs.

Your own data: :func:`load_graph_files` reads a user's interaction file(s) by path into the same
:class:`Split` — either one file split per user at random (seeded, :meth:`Interactions.split_per_user`)
or a train file and a test file (LightGCN's train.txt / test.txt). Format: plain text, one line per
user or per pair, ``user item [item ...]``, integer ids separated by spaces or tabs (a line
``user item`` is one pair; a user may have several lines; a line with a user and no item is
skipped). Ids may be any integers: users and items are re-indexed 0..n-1 in id order, and
``Split.user_ids`` / ``Split.item_ids`` map them back.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Interactions
from .registry import fetch, malformed, user_file

GOWALLA_USERS = 29_858
GOWALLA_ITEMS = 40_981


@dataclass
class Split:
    train: Interactions
    test: Interactions
    name: str = ""
    user_ids: np.ndarray | None = None  # own data: the file's id of each user (None: ids are the file's)
    item_ids: np.ndarray | None = None  # own data: the file's id of each item

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


def read_user_item_lines(path, require: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(users, items) of a file whose lines are ``user item item ...`` (a line may hold no item),
    in file order. A token that is not an integer is one :class:`DataError` naming the file, the
    line and the token; so is a file without any pair when ``require``."""
    tokens, sizes, lines = [], [], []
    with open(path) as fh:
        for number, line in enumerate(fh, start=1):
            ids = line.split()
            if len(ids) >= 2:
                tokens += ids
                sizes.append(len(ids))
                lines.append(number)
            elif ids and not _is_int(ids[0]):  # a user without items is skipped, a bad token is not
                raise _not_an_id(path, ids[0], number)
    try:
        ids = np.fromiter(map(int, tokens), dtype=np.int64, count=len(tokens))
    except (ValueError, OverflowError):
        at = next(n for n, t in enumerate(tokens) if not _is_int(t))
        line = lines[int(np.searchsorted(np.cumsum(sizes), at, side="right"))]
        raise _not_an_id(path, tokens[at], line) from None
    if require and not tokens:
        raise malformed(path, "no (user, item) pair: expected lines 'user item [item ...]'")
    sizes = np.asarray(sizes, dtype=np.int64)
    first = np.zeros(ids.size, dtype=bool)
    first[np.cumsum(sizes) - sizes] = True  # the user id opening each line
    return np.repeat(ids[first], sizes - 1), ids[~first]


def _not_an_id(path, token: str, line: int):
    return malformed(path, f"{token!r} is not an integer id (expected whitespace-separated integers: "
                           "user item [item ...])", line)


def _is_int(token: str) -> bool:
    try:
        return -2 ** 63 <= int(token) < 2 ** 63
    except ValueError:
        return False


def load_graph_files(path, test_path=None, test_fraction: float = 0.2, seed: int = 0,
                     name: str | None = None) -> Split:
    """Your own interactions as a :class:`Split` for the graph models (LightGCN, GCN, MF on BPR).

    Format (both files): plain text, ``user item [item ...]`` per line, whitespace-separated
    integer ids (LightGCN's train.txt / test.txt; a line ``user item`` is one pair, a user may
    span several lines; repeated pairs count once). ``test_path`` given: ``path`` is the training
    file and ``test_path`` the test file. Else each user's pairs of ``path`` are split at random,
    ``1 - test_fraction`` for training (at least one), the rest for testing, seeded by ``seed``
    (:meth:`adrec.graph.Interactions.split_per_user`). Users and items are re-indexed 0..n-1 in
    id order over both files; ``user_ids`` / ``item_ids`` of the split map back. Each file passes
    :func:`adrec.data.registry.user_file` (hash recorded for provenance; key a row with
    :func:`adrec.data.registry.file_identity`). ``name`` defaults to the file name.

    A missing, empty or malformed file (a non-integer id; no pair at all) is one ``DataError``
    naming the file and line, before any work."""
    if test_path is None and not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    paths = [user_file(path)] + ([] if test_path is None else [user_file(test_path)])
    pairs = [read_user_item_lines(p, require=True) for p in paths]
    user_ids, users = np.unique(np.concatenate([u for u, _ in pairs]), return_inverse=True)
    item_ids, items = np.unique(np.concatenate([i for _, i in pairs]), return_inverse=True)
    n_train = pairs[0][0].size
    train = Interactions.from_pairs(users[:n_train], items[:n_train], user_ids.size, item_ids.size)
    if test_path is None:
        train, test = train.split_per_user(test_fraction, seed=seed)
    else:
        test = Interactions.from_pairs(users[n_train:], items[n_train:], user_ids.size, item_ids.size)
    return Split(train, test, name=name or paths[0].name, user_ids=user_ids, item_ids=item_ids)


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

    return Split(restrict(tr), restrict(te), name=f"{split.name}-sub{n_users}-seed{seed}",
                 user_ids=None if split.user_ids is None else split.user_ids[chosen],
                 item_ids=None if split.item_ids is None else split.item_ids[items])
