"""Non-learned baselines of implicit-feedback recommendation, in numpy/scipy: the collaborative
filtering the documents describe (user-based and item-based, document 001 §1.1 and §1.1.2;
document 004 §2.1) and the popularity ranking every model must beat.

All three score pairs from the binary training matrix R (n_users, n_items):

* :class:`ItemPop` — score(u, i) = number of training users of i (the same list for everyone).
* :class:`ItemKNN` — item-based CF (Sarwar et al. 2001; Deshpande & Karypis 2004): cosine
  similarity of item columns of R, each item keeps its ``k`` most similar items (S_k), and
  score(u, i) = Σ_j R[u, j] S_k[i, j] — how similar i is to what u already has.
* :class:`UserKNN` — user-based CF (Herlocker et al. 1999): cosine similarity of user rows, each
  user keeps its ``k`` most similar users, score(u, i) = Σ_v S_k[u, v] R[v, i].

The similarity of two binary vectors a, b is |a ∩ b| / (sqrt|a| sqrt|b| + shrink): plain cosine
for ``shrink=0`` (the default), damped towards 0 for pairs with little support otherwise.
Each model's ``score(users, items)`` is a score function for :mod:`adrec.ranking`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _binary_csr(train) -> sp.csr_matrix:
    if hasattr(train, "matrix"):  # adrec.graph.Interactions
        R = train.matrix(dtype=np.float32)
    else:
        R = sp.csr_matrix(train, dtype=np.float32)
    R = R.tocsr()
    R.data[:] = 1.0
    return R


def cosine_similarity(X: sp.csr_matrix, shrink: float = 0.0) -> np.ndarray:
    """Dense cosine similarity of the rows of a binary sparse matrix, |a ∩ b| / (|a|^½ |b|^½ + shrink),
    with a zero diagonal (an item is not its own neighbour)."""
    X = sp.csr_matrix(X, dtype=np.float32)
    co = np.asarray((X @ X.T).toarray(), dtype=np.float32)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel()).astype(np.float32)
    denom = np.outer(norms, norms) + np.float32(shrink)
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = np.where(denom > 0, co / denom, 0.0).astype(np.float32)
    np.fill_diagonal(sim, 0.0)
    return sim


def keep_top_k(sim: np.ndarray, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries, zero the rest (CSR). Equal similarities are common
    (binary data: many pairs share the same counts), so ties across the k-th place go to the lower
    column index, by a stable sort: argpartition's choice among ties differs between CPUs (its SIMD
    paths), which moved ItemKNN's NDCG@10 in the fourth decimal from one machine to another."""
    n, m = sim.shape
    k = min(int(k), m)
    cols = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    vals = np.take_along_axis(sim, cols, axis=1)
    rows = np.repeat(np.arange(n), k)
    out = sp.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n, m))
    out.eliminate_zeros()
    return out


class _PairScorer:
    """Holds a dense (n_users, n_items) score matrix and looks pairs up in it."""

    scores: np.ndarray

    def score(self, users, items) -> np.ndarray:
        return self.scores[np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)]

    def __call__(self, users, items):
        return self.score(users, items)


class ItemPop(_PairScorer):
    def __init__(self, train):
        R = _binary_csr(train)
        self.popularity = np.asarray(R.sum(axis=0)).ravel().astype(np.float64)
        self.n_users = R.shape[0]

    def score(self, users, items) -> np.ndarray:
        return self.popularity[np.asarray(items, dtype=np.int64)]


class ItemKNN(_PairScorer):
    def __init__(self, train, k: int = 100, shrink: float = 0.0):
        R = _binary_csr(train)
        self.similarity = keep_top_k(cosine_similarity(R.T.tocsr(), shrink), k)  # (items, items)
        self.scores = np.asarray((R @ self.similarity.T).toarray(), dtype=np.float32)


class UserKNN(_PairScorer):
    def __init__(self, train, k: int = 100, shrink: float = 0.0):
        R = _binary_csr(train)
        self.similarity = keep_top_k(cosine_similarity(R, shrink), k)  # (users, users)
        self.scores = np.asarray((self.similarity @ R).toarray(), dtype=np.float32)


BASELINES = {"itempop": ItemPop, "itemknn": ItemKNN, "userknn": UserKNN}
