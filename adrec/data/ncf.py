"""Implicit feedback with one held-out item per user: the leave-one-out protocol of Neural
Collaborative Filtering (He et al., WWW 2017), and the negative sampling its training uses.

Every rating is an interaction (label 1); each user's latest interaction is held out for testing.

* :func:`load_ml1m_loo` — MovieLens-1M as the ``ml-1m-implicit-loo`` split (6,040 users, 3,706
  items, 994,169 training pairs + one held-out item per user), optionally a seeded user subset.
* :func:`load_ml100k_loo` — MovieLens-100K split here by :func:`leave_one_out` on the timestamps.
* :func:`subset_users` — a seeded subset of users, items re-indexed to those the subset touched.
* :func:`sample_negatives` / :func:`sample_pointwise` — vectorised uniform negatives that are not
  training positives of their user (rejection, resampled until none collides), and one epoch of
  (user, item, label) examples: every positive with ``negatives`` negatives, shuffled.

Ids are 0-based and compact; ``user_ids`` / ``item_ids`` map them back to the dataset's own ids.

Your own data: :func:`load_interactions_file` reads a CSV/TSV of yours by path (header
``user,item[,timestamp]``, integer ids and times) and holds out each user's latest interaction.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

import numpy as np

from ..graph import Interactions
from .registry import fetch, integer_column, malformed, read_table

ML1M_USERS = 6_040
ML1M_ITEMS = 3_706
ML1M_TRAIN = 994_169


@dataclass
class LeaveOneOut:
    """A leave-one-out split: the training interactions and one held-out item per user."""

    train: Interactions  # unique (user, item) training pairs
    test_items: np.ndarray  # (n_users,) int64: the held-out item of user u at position u
    user_ids: np.ndarray  # (n_users,) the dataset's id of each user
    item_ids: np.ndarray  # (n_items,) the dataset's id of each item
    name: str = ""

    def __post_init__(self):
        self.test_items = np.asarray(self.test_items, dtype=np.int64)
        if self.test_items.shape != (self.n_users,):
            raise ValueError(f"need one held-out item per user: {self.test_items.shape} vs {self.n_users} users")
        if self.train.contains(np.arange(self.n_users), self.test_items).any():
            raise ValueError("a held-out item is also a training item of its user")

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items

    def rated(self) -> Interactions:
        """Everything each user rated (training pairs plus the held-out item)."""
        return Interactions.from_pairs(np.concatenate([self.train.users, np.arange(self.n_users)]),
                                       np.concatenate([self.train.items, self.test_items]),
                                       self.n_users, self.n_items)

    def stats(self) -> dict:
        n = len(self.train) + self.n_users
        return {"n_users": self.n_users, "n_items": self.n_items, "n_train": len(self.train),
                "n_test": self.n_users, "density": n / (self.n_users * self.n_items)}


def _compact(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique values, each value's index among them)."""
    ids, index = np.unique(values, return_inverse=True)
    return ids, index.astype(np.int64)


def from_id_pairs(train_users, train_items, test_users, test_items, name: str = "") -> LeaveOneOut:
    """A split from dataset ids (any integers): users and items re-indexed 0..n-1 in id order.

    Every user needs exactly one test row; items are those seen in training or test."""
    train_users, train_items = np.asarray(train_users, np.int64), np.asarray(train_items, np.int64)
    test_users, test_items = np.asarray(test_users, np.int64), np.asarray(test_items, np.int64)
    user_ids, u_all = _compact(np.concatenate([train_users, test_users]))
    item_ids, i_all = _compact(np.concatenate([train_items, test_items]))
    n_tr = train_users.size
    tu, ti, su, si = u_all[:n_tr], i_all[:n_tr], u_all[n_tr:], i_all[n_tr:]
    if np.bincount(su, minlength=user_ids.size).tolist() != [1] * user_ids.size:
        raise ValueError("every user needs exactly one held-out (test) item")
    held = np.empty(user_ids.size, dtype=np.int64)
    held[su] = si
    train = Interactions.from_pairs(tu, ti, user_ids.size, item_ids.size)
    return LeaveOneOut(train, held, user_ids, item_ids, name)


def leave_one_out(users, items, timestamps, name: str = "") -> LeaveOneOut:
    """Hold out each user's latest interaction (ties: the later row of the input), train on the rest.

    Users with a single interaction are dropped (they would have nothing to train on); repeated
    (user, item) pairs are kept once."""
    u = np.asarray(users, np.int64)
    i = np.asarray(items, np.int64)
    t = np.asarray(timestamps, np.int64)
    order = np.lexsort((np.arange(u.size), t, u))  # by user, then time, then input row
    u, i = u[order], i[order]
    last = np.r_[u[1:] != u[:-1], True]  # the final row of each user's run
    _, group, counts = np.unique(u, return_inverse=True, return_counts=True)
    keep_user = (counts >= 2)[group]
    test = last & keep_user
    # a pair repeated earlier cannot be a training item as well as the held-out one
    train = ~last & keep_user & (i != i[last][group])
    return from_id_pairs(u[train], i[train], u[test], i[test], name)


def load_interactions_file(path, user: str = "user", item: str = "item", timestamp: str | None = None,
                           sep: str | None = None, name: str | None = None) -> LeaveOneOut:
    """Your own implicit feedback by path, split leave-one-out (:func:`leave_one_out`), for the
    scoring models (MF / GMF / MLP / NeuMF).

    Format: a CSV (or TSV: a tab in the header line) with a header row; columns ``user`` and
    ``item`` (integer ids, any values, up to 18 digits) and optionally ``timestamp`` (integers,
    e.g. Unix seconds); other columns are ignored. Each row is one interaction. Each user's latest
    row is held out (ties, or no ``timestamp`` column: the later row of the file); users with one
    interaction are dropped; repeated pairs count once. ``user`` / ``item`` / ``timestamp`` name
    the columns when yours are named otherwise (``timestamp=None``: the column ``timestamp`` if
    the header has one, else file order). Users and items are re-indexed 0..n-1 in id order
    (``user_ids`` / ``item_ids`` map back). The file passes
    :func:`adrec.data.registry.user_file` (hash recorded; :func:`adrec.data.registry.file_identity`
    keys a row); ``name`` defaults to the file name.

    A missing or empty file, a missing column, a value that is not an integer, or no user with
    two interactions is one ``DataError`` naming the file (and line), before any work."""
    path, df = read_table(path, required=[user, item] + ([timestamp] if timestamp else []), sep=sep)
    time_col = timestamp or ("timestamp" if "timestamp" in df.columns else None)
    users = integer_column(df, user, path)
    items = integer_column(df, item, path)
    times = integer_column(df, time_col, path) if time_col else np.zeros(users.size, np.int64)
    if np.unique(users, return_counts=True)[1].max() < 2:
        raise malformed(path, "no user has two or more interactions: leave-one-out needs one to hold "
                              "out and one to train on")
    return leave_one_out(users, items, times, name=name or path.name)


def subset_users(split: LeaveOneOut, n_users: int | None, seed: int = 0) -> LeaveOneOut:
    """``n_users`` users drawn without replacement (seeded); items re-indexed to the ones they touched.

    ``None`` or a number >= the split's users returns the split unchanged."""
    if n_users is None or n_users >= split.n_users:
        return split
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(split.n_users, size=int(n_users), replace=False))
    mask = np.isin(split.train.users, chosen)
    return from_id_pairs(split.user_ids[split.train.users[mask]], split.item_ids[split.train.items[mask]],
                         split.user_ids[chosen], split.item_ids[split.test_items[chosen]],
                         name=f"{split.name}, {int(n_users)} users (seed {seed})")


_ML1M_ROW = re.compile(rb"^(\d+)-[^,\n]*,(\d+)", re.M)


def _read_ml1m_member(zf: zipfile.ZipFile, member: str) -> np.ndarray:
    """(rows, 2) of (MovieLens UserID, MovieID): the first number of each of the two fields."""
    rows = _ML1M_ROW.findall(zf.read(member))
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def load_ml1m_loo(n_users: int | None = None, seed: int = 0) -> LeaveOneOut:
    """MovieLens-1M implicit, leave-one-out (``ml-1m-implicit-loo/ml-1m.zip``).

    All 6,040 users and 3,706 items by default; ``n_users`` draws a seeded subset."""
    with zipfile.ZipFile(fetch("ml-1m-implicit-loo", "ml-1m.zip")) as zf:
        train = _read_ml1m_member(zf, "ml-1m/train.csv")
        test = _read_ml1m_member(zf, "ml-1m/test.csv")
    split = from_id_pairs(train[:, 0], train[:, 1], test[:, 0], test[:, 1], name="ML-1M implicit (leave-one-out)")
    return subset_users(split, n_users, seed)


def load_ml100k_loo(n_users: int | None = None, seed: int = 0) -> LeaveOneOut:
    """MovieLens-100K as implicit feedback, each user's latest rating held out (943 users)."""
    from .movielens import load_ml100k

    r = load_ml100k().ratings
    split = leave_one_out(r.user.to_numpy(), r.item.to_numpy(), r.timestamp.to_numpy(),
                          name="ML-100K implicit (leave-one-out)")
    return subset_users(split, n_users, seed)


LOADERS = {"ml-1m": load_ml1m_loo, "ml-100k": load_ml100k_loo}


def load_loo(dataset: str, n_users: int | None = None, seed: int = 0) -> LeaveOneOut:
    """``"ml-1m"`` or ``"ml-100k"`` as a leave-one-out split (optionally a user subset)."""
    if dataset not in LOADERS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(LOADERS)}")
    return LOADERS[dataset](n_users=n_users, seed=seed)


# --------------------------------------------------------------------------------------------
# negative sampling for training


def sample_negatives(train: Interactions, users, rng, max_rounds: int = 100) -> np.ndarray:
    """One uniform item per entry of ``users`` that is not a training positive of that user.

    Draw all at once, redraw only the collisions, until none is left (vectorised rejection)."""
    users = np.asarray(users, np.int64)
    items = rng.integers(0, train.n_items, size=users.size)
    bad = np.flatnonzero(train.contains(users, items))
    for _ in range(max_rounds):
        if bad.size == 0:
            return items
        items[bad] = rng.integers(0, train.n_items, size=bad.size)
        bad = bad[train.contains(users[bad], items[bad])]
    raise RuntimeError(f"{bad.size} negatives still collide after {max_rounds} rounds: "
                       "does some user rate (almost) every item?")


def sample_pointwise(train: Interactions, negatives: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One epoch of pointwise examples: every training pair (label 1) plus ``negatives`` sampled
    negatives of the same user (label 0), shuffled. Returns users, items (int64), labels (float32)."""
    neg_users = np.repeat(train.users, negatives)
    neg_items = sample_negatives(train, neg_users, rng)
    users = np.concatenate([train.users, neg_users])
    items = np.concatenate([train.items, neg_items])
    labels = np.concatenate([np.ones(len(train), np.float32), np.zeros(neg_users.size, np.float32)])
    order = rng.permutation(users.size)
    return users[order], items[order], labels[order]
