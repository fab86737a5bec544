"""The user–item (user–ad) bipartite graph of document 003 §3.2.1 step 1, and its normalised
adjacency D^-1/2 A D^-1/2 (document 003 §4.2.1), built sparse so that it scales to Gowalla.

* :class:`Interactions`: deduplicated (user, item) pairs with fast membership tests, the per-user
  random split, and vectorised BPR triple sampling (negatives rejected when they are positives).
* :func:`bipartite_adjacency`: A = [[0, R], [R^T, 0]] over n_users + n_items nodes (users first).
* :func:`normalized_adjacency`: D^-1/2 (A [+ I]) D^-1/2 in scipy.sparse; a node of degree 0 gets
  a zero row and column (never inf or nan).
* :func:`normalized_adjacency_torch`: the same matrix built directly as a ``torch.sparse`` tensor
  from an edge list (no scipy), and :func:`to_torch_sparse` to convert a scipy matrix.
* :func:`edge_list`: (rows, cols, values) of a sparse matrix, for ``keras.ops.segment_sum``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class Interactions:
    """Implicit feedback: unique (user, item) pairs, sorted by user then item (0-based ids)."""

    users: np.ndarray  # int64, (n,)
    items: np.ndarray  # int64, (n,)
    n_users: int
    n_items: int

    @classmethod
    def from_pairs(cls, users, items, n_users: int | None = None, n_items: int | None = None):
        u = np.asarray(users, dtype=np.int64).ravel()
        i = np.asarray(items, dtype=np.int64).ravel()
        if u.shape != i.shape:
            raise ValueError(f"users {u.shape} and items {i.shape} differ in shape")
        n_users = int(u.max()) + 1 if n_users is None else int(n_users)
        n_items = int(i.max()) + 1 if n_items is None else int(n_items)
        if u.size and (u.min() < 0 or i.min() < 0 or u.max() >= n_users or i.max() >= n_items):
            raise ValueError("ids must lie in [0, n_users) and [0, n_items)")
        keys = np.unique(u * n_items + i)
        return cls(keys // n_items, keys % n_items, n_users, n_items)

    def __len__(self) -> int:
        return int(self.users.size)

    def __post_init__(self):
        self.keys = self.users * self.n_items + self.items  # sorted: from_pairs stores them so
        if self.keys.size > 1 and not (np.diff(self.keys) > 0).all():
            raise ValueError("pairs must be unique and sorted by (user, item); use Interactions.from_pairs")

    def contains(self, users, items) -> np.ndarray:
        """Boolean array: is each (user, item) a stored pair? (binary search, vectorised)"""
        q = np.asarray(users, dtype=np.int64) * self.n_items + np.asarray(items, dtype=np.int64)
        if self.keys.size == 0:
            return np.zeros(q.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self.keys, q), self.keys.size - 1)
        return self.keys[pos] == q

    def matrix(self, dtype=np.float32) -> sp.csr_matrix:
        """R: the (n_users, n_items) 0/1 interaction matrix (CSR)."""
        data = np.ones(len(self), dtype=dtype)
        return sp.csr_matrix((data, (self.users, self.items)), shape=(self.n_users, self.n_items))

    def user_degree(self) -> np.ndarray:
        return np.bincount(self.users, minlength=self.n_users)

    def item_degree(self) -> np.ndarray:
        return np.bincount(self.items, minlength=self.n_items)

    def user_bounds(self) -> np.ndarray:
        """(n_users + 1,) offsets: user u's pairs are rows bounds[u]:bounds[u + 1] (pairs are sorted by user)."""
        return np.searchsorted(self.users, np.arange(self.n_users + 1))

    def per_user(self) -> list[np.ndarray]:
        """The items of each user (a list of n_users arrays; empty for users without pairs)."""
        bounds = self.user_bounds()
        return [self.items[bounds[u]:bounds[u + 1]] for u in range(self.n_users)]

    def split_per_user(self, test_fraction: float = 0.2, seed: int = 0) -> tuple["Interactions", "Interactions"]:
        """Per-user random split: each user keeps round((1 - f) * n_u) pairs (at least one) for
        training and the rest for testing, chosen uniformly at random (seeded)."""
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        rng = np.random.default_rng(seed)
        order = np.lexsort((rng.random(len(self)), self.users))  # random order within each user
        bounds = self.user_bounds()
        deg, start = np.diff(bounds), bounds[:-1]
        rank = np.arange(len(self)) - np.repeat(start, deg)  # position within the user's shuffled list
        n_train = np.maximum(np.rint((1.0 - test_fraction) * deg).astype(np.int64), np.minimum(deg, 1))
        is_train = np.empty(len(self), dtype=bool)
        is_train[order] = rank < np.repeat(n_train, deg)
        make = lambda m: Interactions.from_pairs(self.users[m], self.items[m], self.n_users, self.n_items)  # noqa: E731
        return make(is_train), make(~is_train)

    def sample_bpr(self, rng: np.random.Generator, n: int | None = None, draw: str = "pairs"):
        """BPR triples (user, positive item, negative item), vectorised.

        ``draw="pairs"``: each stored pair is used once per epoch in random order (``n`` = its
        count by default; a smaller ``n`` takes a random subset, a larger one draws pairs with
        replacement). ``draw="users"``: ``n`` (default: the number of pairs) draws of a user
        uniform over the users that have pairs, each with one of that user's items, uniform — the
        sampler of LightGCN's reference code (a busy user is drawn as often as a quiet one). Each
        negative is drawn uniformly from all items and redrawn while it is one of the user's
        positives (rejection sampling, all rows at once).
        """
        m = len(self)
        n = m if n is None else int(n)
        bounds = self.user_bounds()
        deg = np.diff(bounds)
        if draw == "pairs":
            idx = rng.permutation(m)[:n] if n <= m else rng.integers(0, m, size=n)
        elif draw == "users":
            active = np.flatnonzero(deg)
            if active.size == 0:
                raise ValueError("no user has a pair: nothing to sample")
            u = active[rng.integers(0, active.size, size=n)]
            idx = bounds[u] + (rng.random(n) * deg[u]).astype(np.int64)
        else:
            raise ValueError(f"unknown BPR draw {draw!r}; choose 'pairs' or 'users'")
        u, i = self.users[idx], self.items[idx]
        j = rng.integers(0, self.n_items, size=n)
        if deg.max(initial=0) >= self.n_items:
            raise ValueError("a user has interacted with every item: no negative exists")
        bad = self.contains(u, j)
        while bad.any():
            j[bad] = rng.integers(0, self.n_items, size=int(bad.sum()))
            bad[bad] = self.contains(u[bad], j[bad])
        return u, i, j


def bipartite_adjacency(R: sp.spmatrix) -> sp.csr_matrix:
    """A = [[0, R], [R^T, 0]]: users are nodes 0..n_users-1, items n_users..n_users+n_items-1."""
    R = sp.csr_matrix(R)
    return sp.bmat([[None, R], [R.T, None]], format="csr", dtype=R.dtype)


def inverse_sqrt_degree(degree) -> np.ndarray:
    """d^-1/2 with 0 for degree 0 (an isolated node contributes nothing and receives nothing)."""
    d = np.asarray(degree, dtype=np.float64)
    out = np.zeros_like(d)
    np.power(d, -0.5, out=out, where=d > 0)
    return out


def normalized_adjacency(A: sp.spmatrix, self_loops: bool = False, dtype=np.float32) -> sp.csr_matrix:
    """Â = D^-1/2 (A + I) D^-1/2 with self_loops, else D^-1/2 A D^-1/2; D = the row sums."""
    A = sp.csr_matrix(A, dtype=np.float64)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"adjacency must be square, got {A.shape}")
    if self_loops:
        A = A + sp.identity(A.shape[0], dtype=np.float64, format="csr")
    s = sp.diags(inverse_sqrt_degree(np.asarray(A.sum(axis=1)).ravel()))
    out = (s @ A @ s).tocsr().astype(dtype)
    out.eliminate_zeros()
    out.sort_indices()
    return out


def edge_list(M: sp.spmatrix):
    """(rows, cols, values) of a sparse matrix, sorted by row: M @ H = segment_sum(v * H[cols], rows)."""
    coo = sp.csr_matrix(M).tocoo()
    return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data


def to_torch_sparse(M: sp.spmatrix, device="cpu", dtype=None):
    """A scipy sparse matrix as a coalesced ``torch.sparse_coo_tensor``."""
    import torch

    rows, cols, vals = edge_list(M)
    t = torch.sparse_coo_tensor(np.vstack([rows, cols]), vals, size=M.shape,
                                dtype=dtype or torch.float32, device=device, check_invariants=True)
    return t.coalesce()


def normalized_adjacency_torch(users, items, n_users: int, n_items: int, self_loops: bool = False,
                               device="cpu", dtype=None):
    """Â of the user–item graph built directly in torch from (user, item) pairs (deduplicated).

    The symmetric edge list (u -> n_users + i and back), degrees by ``bincount``, values
    d_r^-1/2 d_c^-1/2; degree-0 nodes get no entries. Equal to :func:`normalized_adjacency` of
    :func:`bipartite_adjacency` (a test checks it).
    """
    import torch

    dtype = dtype or torch.float32
    u = torch.as_tensor(np.asarray(users), dtype=torch.int64, device=device)
    i = torch.as_tensor(np.asarray(items), dtype=torch.int64, device=device)
    keys = torch.unique(u * n_items + i)
    u, i = keys // n_items, keys % n_items + n_users
    n = n_users + n_items
    rows, cols = torch.cat([u, i]), torch.cat([i, u])
    if self_loops:
        loop = torch.arange(n, device=device)
        rows, cols = torch.cat([rows, loop]), torch.cat([cols, loop])
    deg = torch.bincount(rows, minlength=n).to(torch.float64)
    inv = torch.where(deg > 0, deg.clamp(min=1).rsqrt(), torch.zeros_like(deg))
    vals = (inv[rows] * inv[cols]).to(dtype)
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, size=(n, n),
                                   check_invariants=True).coalesce()
