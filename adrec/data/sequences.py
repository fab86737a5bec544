"""User item sequences for next-item recommendation, split as in SASRec (Kang & McAuley, ICDM 2018).

Items are numbered 1..n_items (0 is the padding id); users 0..n_users-1. Per user, in time order:
the last item is the test target, the second-to-last the validation target, the rest is training.
Every evaluated target is ranked among itself and ``n_negatives`` (100) items the user never
interacted with (:func:`adrec.ranking.sample_candidates`, drawn once and seeded).

* :func:`load_amazon_games` — ``amazon-games/Video.txt`` (SASRec's file: one ``user item`` pair a
  line, a user's pairs in time order);
* :func:`load_amazon_beauty` — ``amazon-beauty/Beauty.txt`` (S3-Rec's file: one user a line, the
  user id then its items in time order);
* :func:`load_ml100k_sequences` — MovieLens-100K ratings ordered by timestamp (the quick profile).

Your own data: :func:`load_sequences_file` reads a file of yours by path, in either of the two
layouts above (the same rule reads both): plain text, ``user item [item ...]`` per line,
whitespace-separated integer ids, each user's items in time order (across lines, in file order).
Items are re-numbered 1..n_items in id order (0 stays padding), users 0..n_users-1 in id order;
``Sequences.item_ids`` / ``user_ids`` map them back to the file's ids.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .registry import fetch, user_file


@dataclass
class Sequences:
    name: str
    n_items: int
    sequences: list  # per user: int64 array of item ids (1..n_items), time order
    item_ids: np.ndarray | None = None  # own data: the file's id of item j at position j - 1 (None: ids are the file's)
    user_ids: np.ndarray | None = None  # own data: the file's id of each user, in sequence order

    @property
    def n_users(self) -> int:
        return len(self.sequences)

    @property
    def n_actions(self) -> int:
        return int(sum(len(s) for s in self.sequences))

    def split(self):
        """(train, valid, test, eval_users): train = per-user arrays without the last two items;
        valid, test = int64 (n_users,) targets. As in SASRec's ``data_partition``, a user with
        fewer than 3 items keeps them all for training and is not evaluated (target 0);
        ``eval_users`` are the others."""
        long_enough = np.array([len(s) >= 3 for s in self.sequences])
        train = [s[:-2] if ok else s for s, ok in zip(self.sequences, long_enough)]
        valid = np.array([s[-2] if ok else 0 for s, ok in zip(self.sequences, long_enough)], dtype=np.int64)
        test = np.array([s[-1] if ok else 0 for s, ok in zip(self.sequences, long_enough)], dtype=np.int64)
        return train, valid, test, np.flatnonzero(long_enough)

    def rated(self) -> sp.csr_matrix:
        """(n_users, n_items + 1) boolean matrix of every item each user has; column 0 (padding)
        counts as rated for everyone so that it is never drawn as a negative."""
        rows = np.repeat(np.arange(self.n_users), [len(s) + 1 for s in self.sequences])
        cols = np.concatenate([np.concatenate([[0], s]) for s in self.sequences])
        m = sp.csr_matrix((np.ones(rows.size, dtype=np.bool_), (rows, cols)), shape=(self.n_users, self.n_items + 1))
        m.sum_duplicates()
        return m

    def stats(self) -> dict:
        lengths = np.array([len(s) for s in self.sequences])
        return {"users": self.n_users, "items": self.n_items, "actions": self.n_actions,
                "mean_length": float(lengths.mean()), "min_length": int(lengths.min())}


@dataclass
class SequenceTask:
    """A split dataset with its evaluation candidates (target in column 0)."""
    data: Sequences
    train: list
    valid: np.ndarray
    test: np.ndarray
    eval_users: np.ndarray  # users with >= 3 items, the rows of the candidate arrays
    valid_candidates: np.ndarray  # (len(eval_users), 1 + n_negatives), target in column 0
    test_candidates: np.ndarray

    def history(self, until: str) -> list:
        """Input sequences: ``"valid"`` -> train items; ``"test"`` -> train items + valid target."""
        if until == "valid":
            return self.train
        if until == "test":
            return [np.append(s, v) for s, v in zip(self.train, self.valid)]
        raise ValueError(f"until must be 'valid' or 'test', got {until!r}")


def sequence_task(data: Sequences, n_negatives: int = 100, seed: int = 0) -> SequenceTask:
    from ..ranking import sample_candidates

    train, valid, test, users = data.split()
    rated = data.rated()[users]
    return SequenceTask(data=data, train=train, valid=valid, test=test, eval_users=users,
                        valid_candidates=sample_candidates(rated, valid[users], n_negatives=n_negatives, seed=seed),
                        test_candidates=sample_candidates(rated, test[users], n_negatives=n_negatives, seed=seed + 1))


def left_pad(seqs, maxlen: int) -> np.ndarray:
    """The last ``maxlen`` items of each sequence, left-padded with 0: int64 (n, maxlen)."""
    out = np.zeros((len(seqs), maxlen), dtype=np.int64)
    for r, s in enumerate(seqs):
        s = np.asarray(s[-maxlen:], dtype=np.int64)
        if s.size:
            out[r, maxlen - s.size:] = s
    return out


def next_item_examples(train, rated, maxlen: int, rng):
    """One training example per user, SASRec style: inputs = the train sequence without its last
    item, positives = the sequence shifted by one, negatives = one item per position the user never
    had (drawn uniformly with ``rng``); all left-padded to ``maxlen`` (0 = padding, no loss).
    Returns int64 arrays (seq, pos, neg), each (n_users, maxlen)."""
    seq = left_pad([s[:-1] for s in train], maxlen)  # a 1-item user: all padding, no loss
    pos = left_pad([s[1:] for s in train], maxlen)
    n_items = rated.shape[1] - 1
    neg = rng.integers(1, n_items + 1, size=pos.shape)
    users = np.repeat(np.arange(len(train))[:, None], maxlen, axis=1)
    bad = np.asarray(rated[users.ravel(), neg.ravel()]).reshape(neg.shape)
    while bad.any():
        neg[bad] = rng.integers(1, n_items + 1, size=int(bad.sum()))
        bad[bad] = np.asarray(rated[users[bad], neg[bad]]).ravel()
    neg[pos == 0] = 0
    return seq, pos, neg


def _from_pairs(name, users, items) -> Sequences:
    order = np.argsort(users, kind="stable")  # keep each user's file order (time order)
    users, items = users[order], items[order]
    bounds = np.flatnonzero(np.diff(users)) + 1
    return Sequences(name=name, n_items=int(items.max()), sequences=np.split(items.astype(np.int64), bounds))


def load_sequences_file(path, name: str | None = None) -> Sequences:
    """Your own next-item data by path: a :class:`Sequences` for GRU4Rec / SASRec / the LSTM.

    Format: plain text, ``user item [item ...]`` per line, whitespace-separated integer ids
    (SASRec's ``user item`` pairs and S3-Rec's one-user-a-line files are both read by this rule).
    A user's items are taken in file order, across all its lines: write them in time order. Users
    are ordered by id, items re-numbered 1..n_items in id order (``item_ids[j - 1]`` is the
    file's id of item ``j``; a file already numbered 1..n keeps its numbers). The file passes
    :func:`adrec.data.registry.user_file` (hash recorded; :func:`adrec.data.registry.file_identity`
    keys a row). ``name`` defaults to the file name. A missing, empty or malformed file (a
    non-integer id, no ``user item`` line) is one ``DataError`` naming the file and line."""
    from .gowalla import read_user_item_lines

    path = user_file(path)
    users, items = read_user_item_lines(path, require=True)
    user_ids, users = np.unique(users, return_inverse=True)
    item_ids, items = np.unique(items, return_inverse=True)
    data = _from_pairs(name or path.name, users, items + 1)
    data.item_ids, data.user_ids = item_ids, user_ids
    return data


def load_amazon_games() -> Sequences:
    """Amazon Video Games as preprocessed by SASRec: 31,013 users, 23,715 items, 287,107 actions."""
    pairs = np.loadtxt(fetch("amazon-games", "Video.txt"), dtype=np.int64)
    return _from_pairs("amazon-games", pairs[:, 0], pairs[:, 1])


def load_amazon_beauty() -> Sequences:
    """Amazon Beauty as preprocessed by S3-Rec: 22,363 users, 12,101 items, 198,502 actions."""
    seqs = []
    with open(fetch("amazon-beauty", "Beauty.txt")) as f:
        for line in f:
            ids = line.split()
            if ids:
                seqs.append(np.array(ids[1:], dtype=np.int64))
    return Sequences(name="amazon-beauty", n_items=int(max(s.max() for s in seqs)), sequences=seqs)


def load_ml100k_sequences(min_rating: int = 1) -> Sequences:
    """MovieLens-100K as implicit sequences: each user's rated movies ordered by timestamp (ties by
    movie id); item ids as in the file (1..1,682)."""
    from .movielens import load_ml100k

    r = load_ml100k().ratings
    r = r[r.rating >= min_rating].sort_values(["user", "timestamp", "item"], kind="stable")
    users = r.user.to_numpy() - 1
    return _from_pairs("ml-100k", users, r.item.to_numpy())
