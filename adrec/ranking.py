"""Ranking evaluation, vectorised, one section per protocol; the metrics themselves live in
:mod:`adrec.metrics`.

* sampled ranking (NCF): a score function takes two equal-length int arrays ``users`` and
  ``items`` and returns one score per pair (``score_fn`` in :mod:`adrec.torch_nn.scoring` /
  :mod:`adrec.keras_nn.scoring`, the baselines' ``score``);
* full ranking (LightGCN): user and item embeddings, scored by their dot products.

Every evaluator takes ``k`` as one cutoff (an int: the output is ``{"hr@k", "ndcg@k"}`` /
``{"recall@k", "ndcg@k"}``) or a sequence of cutoffs, all reported from ONE scoring / ranking
(e.g. ``k=(1, 5, 10)``; the sampled evaluator adds ``"mrr"`` with ``mrr=True``).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .metrics import cutoffs, full_ranking_metrics, sampled_metrics

# --- sampled ranking ---
# The NCF protocol (He et al., WWW 2017): each user's held-out item is ranked among itself and
# ``n_negatives`` items the user never rated, drawn uniformly without replacement (seeded, drawn
# once and reused for every model and epoch); HR@k and NDCG@k of the held-out item.


def _rated_csr(rated) -> sp.csr_matrix:
    if hasattr(rated, "matrix"):  # adrec.graph.Interactions
        return rated.matrix(dtype=np.bool_).tocsr()
    return sp.csr_matrix(rated).astype(np.bool_)


def sample_candidates(rated, held_out, n_negatives: int = 99, seed: int = 0,
                      block_cells: int = 1 << 22) -> np.ndarray:
    """Candidate items of every user: ``[held_out[u], n_negatives items u never rated]``.

    rated: everything each user rated (``Interactions`` or a (n_users, n_items) sparse matrix),
    including the held-out item. Negatives are distinct and uniform over the user's unrated items:
    each block of users draws a uniform random key per (user, item), rated items get key +inf,
    and the ``n_negatives`` smallest keys win. Returns int64 (n_users, 1 + n_negatives).
    """
    R = _rated_csr(rated)
    n_users, n_items = R.shape
    held_out = np.asarray(held_out, dtype=np.int64)
    if held_out.shape != (n_users,):
        raise ValueError(f"held_out must have one item per user ({n_users}), got shape {held_out.shape}")
    if not np.asarray(R[np.arange(n_users), held_out]).ravel().all():
        raise ValueError("every held-out item must be among the user's rated items")
    unrated = n_items - np.diff(R.indptr)
    if (unrated < n_negatives).any():
        u = int(np.argmax(unrated < n_negatives))
        raise ValueError(f"user {u} has only {unrated[u]} unrated items, fewer than n_negatives={n_negatives}")
    rng = np.random.default_rng(seed)
    out = np.empty((n_users, 1 + n_negatives), dtype=np.int64)
    out[:, 0] = held_out
    step = max(1, block_cells // max(n_items, 1))
    for start in range(0, n_users, step):
        stop = min(start + step, n_users)
        keys = rng.random((stop - start, n_items))
        keys[R[start:stop].toarray()] = np.inf
        out[start:stop, 1:] = np.argpartition(keys, n_negatives - 1, axis=1)[:, :n_negatives]
    return out


def score_candidates(score_fn, candidates, users=None, batch_size: int = 1 << 16) -> np.ndarray:
    """Scores (n_users, C) of ``score_fn`` on each user's candidate items, in batches of pairs.

    ``users`` (default 0..n_users-1) is the user id of each row of ``candidates``."""
    cand = np.asarray(candidates, dtype=np.int64)
    n, c = cand.shape
    users = np.arange(n, dtype=np.int64) if users is None else np.asarray(users, dtype=np.int64)
    flat_u = np.repeat(users, c)
    flat_i = cand.ravel()
    out = np.empty(flat_u.size, dtype=np.float64)
    for start in range(0, flat_u.size, batch_size):
        sl = slice(start, start + batch_size)
        got = np.asarray(score_fn(flat_u[sl], flat_i[sl]), dtype=np.float64).reshape(-1)
        if got.size != flat_u[sl].size:
            raise ValueError(f"score_fn returned {got.size} scores for {flat_u[sl].size} pairs")
        out[sl] = got
    return out.reshape(n, c)


def evaluate_sampled(score_fn, candidates, users=None, k=10, batch_size: int = 1 << 16,
                     mrr: bool = False) -> dict:
    """``{"hr@k": ..., "ndcg@k": ...}`` of ``score_fn`` on the candidates (held-out item in column 0),
    via :func:`adrec.metrics.sampled_metrics` (ties counted against the held-out item).

    ``k``: one cutoff (int) or several (e.g. ``(1, 5, 10)``: ``hr@1, ndcg@1, hr@5, ...``), all
    from one scoring of the candidates; ``mrr=True`` adds ``"mrr"`` (mean reciprocal rank)."""
    cutoffs(k)  # a bad k fails before any scoring
    scores = score_candidates(score_fn, candidates, users=users, batch_size=batch_size)
    return sampled_metrics(scores, k=k, mrr=mrr)


# --- full ranking ---
# The LightGCN protocol (He et al., SIGIR 2020): every item the user has no training pair with is
# ranked; recall@k and ndcg@k against the user's test items (adrec.metrics.recall_ndcg_at_k), over
# the users with at least one test item. Scores are dot products of user and item embeddings.


def _as_float_tensor(x, device):
    import torch

    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.array(x, dtype=np.float32))  # a writable copy
    return t.detach().to(device=device, dtype=torch.float32)


GROUP = 32  # items per group of the two-stage top-k (see topk_full_ranking)


def topk_full_ranking(user_emb, item_emb, train, k: int = 20, users=None, batch_size: int | None = None,
                      device: str | None = None) -> np.ndarray:
    """Top-``k`` items of each user over ALL items, the user's training items excluded.

    user_emb (n_users, d), item_emb (n_items, d): numpy arrays or torch tensors; the score of
    (u, i) is their dot product. ``train``: an :class:`adrec.graph.Interactions` or a scipy
    (n_users, n_items) matrix whose non-zeros are excluded. ``users``: which users (default all).
    Equal scores rank the lower item id first. Returns int64 (len(users), k), best first.

    Batched over users (``batch_size``; default 256 on CPU, where a block then stays in cache, 8192
    on a GPU): a (batch, n_items) score block written into one reused buffer, training entries set
    to -inf, then an exact two-stage top-k. The items are cut into groups of :data:`GROUP`
    consecutive ids; the row's top k lie in the k groups with the largest maxima (an item outside
    them is beaten by k group maxima), so one max per group, a top-k over the group maxima and a
    top-k over those k·GROUP candidates replace a top-k over the whole row. Rows where the k-th
    and (k+1)-th group maxima tie (where that argument needs a tie rule) take the whole row.
    """
    import torch

    R = sp.csr_matrix(train.matrix() if hasattr(train, "matrix") else train)
    dev = device or (user_emb.device if isinstance(user_emb, torch.Tensor) else "cpu")
    U, V = _as_float_tensor(user_emb, dev), _as_float_tensor(item_emb, dev)
    if R.shape != (U.shape[0], V.shape[0]):
        raise ValueError(f"train matrix {R.shape} does not match {U.shape[0]} users x {V.shape[0]} items")
    n_items = V.shape[0]
    if k > n_items:
        raise ValueError(f"k={k} exceeds the {n_items} items")
    users = np.arange(U.shape[0]) if users is None else np.asarray(users, dtype=np.int64)
    batch_size = batch_size or (256 if torch.device(dev).type == "cpu" else 8192)
    width = -(-n_items // GROUP) * GROUP  # padded with zero items scored -inf: a whole number of groups
    if width > n_items:
        V = torch.cat([V, V.new_zeros(width - n_items, V.shape[1])])
    grouped = width // GROUP > k
    buffer = torch.empty(min(batch_size, max(users.size, 1)), width, device=dev)
    out = np.empty((users.size, k), dtype=np.int64)
    with torch.no_grad():
        for s in range(0, users.size, batch_size):
            b = users[s:s + batch_size]
            scores = buffer[:b.size]
            torch.mm(U[torch.as_tensor(b, device=dev)], V.T, out=scores)
            scores[:, n_items:] = -torch.inf
            block = R[b].tocoo()
            if block.nnz:
                flat = torch.as_tensor(block.row.astype(np.int64) * width + block.col, device=dev)
                scores.view(-1)[flat] = -torch.inf
            top = _topk_grouped(scores, k) if grouped else _topk_lowest_id_first(scores, k)
            out[s:s + b.size] = top.cpu().numpy()
    return out


def _topk_grouped(scores, k: int):
    """:func:`_topk_lowest_id_first` of each row of ``scores`` (width a multiple of :data:`GROUP`),
    through the maxima of its groups of GROUP consecutive columns (see :func:`topk_full_ranking`)."""
    import torch

    n, width = scores.shape
    groups = scores.view(n, width // GROUP, GROUP)
    maxima, best = torch.topk(groups.amax(dim=2), k + 1, dim=1)
    chosen = torch.sort(best[:, :k], dim=1).values  # ascending group ids: candidates in item-id order
    candidates = groups.gather(1, chosen[:, :, None].expand(-1, -1, GROUP)).reshape(n, k * GROUP)
    pos = _topk_lowest_id_first(candidates, k)
    top = torch.gather(chosen, 1, pos // GROUP) * GROUP + pos % GROUP
    tied = torch.nonzero(maxima[:, k] == maxima[:, k - 1]).flatten()
    if tied.numel():  # the k-th group is not unique: rank those rows whole
        top[tied] = _topk_lowest_id_first(scores[tied], k)
    return top


def _topk_lowest_id_first(scores, k: int):
    """Indices of the k largest scores per row, ties broken toward the lower item id (so the
    result does not depend on torch.topk's internal order: item popularity has many ties)."""
    import torch

    if k < scores.shape[1]:
        # a tie across the cut exists iff the (k+1)-th largest score equals the k-th: one topk of
        # k + 1 finds it without another pass over the block (a bool-sum pass costs more than topk)
        vals, idx = torch.topk(scores, k + 1, dim=1)
        tied = torch.nonzero(vals[:, k] == vals[:, k - 1]).flatten()
        vals, idx = vals[:, :k].contiguous(), idx[:, :k].contiguous()
    else:
        vals, idx = torch.topk(scores, k, dim=1)
        tied = torch.zeros(0, dtype=torch.int64, device=scores.device)
    if tied.numel():
        full = torch.sort(scores[tied], dim=1, descending=True, stable=True)
        vals[tied], idx[tied] = full.values[:, :k], full.indices[:, :k]
    idx, order = torch.sort(idx, dim=1)  # within the top k: by id, then stably by score
    vals = torch.gather(vals, 1, order)
    return torch.gather(idx, 1, torch.sort(vals, dim=1, descending=True, stable=True).indices)


def evaluate_full_ranking(user_emb, item_emb, train, test, k=20, batch_size: int | None = None,
                          device: str | None = None) -> dict:
    """``{"recall@k": ..., "ndcg@k": ...}`` (:func:`adrec.metrics.full_ranking_metrics`) over the users
    with at least one test item; ``test``: an ``Interactions`` or a list of per-user item arrays.
    ``k``: one cutoff (int) or several (e.g. ``(10, 20, 50)``), all from one top-max(k) ranking."""
    top_k = max(cutoffs(k))
    test_lists = test.per_user() if hasattr(test, "per_user") else list(test)
    users = np.flatnonzero([len(t) > 0 for t in test_lists])
    top = topk_full_ranking(user_emb, item_emb, train, k=top_k, users=users, batch_size=batch_size, device=device)
    return full_ranking_metrics(top, [test_lists[u] for u in users], k=k)


def popularity_embeddings(train):
    """Item popularity as a rank-1 'model': every user gets [1], item i gets [its training count],
    so the dot product ranks items by popularity for every user (itempop baseline)."""
    counts = train.item_degree() if hasattr(train, "item_degree") else np.asarray(train.sum(axis=0)).ravel()
    n_users = train.n_users if hasattr(train, "n_users") else train.shape[0]
    return np.ones((n_users, 1), dtype=np.float32), np.asarray(counts, dtype=np.float32)[:, None]


def full_ranking_evaluator(train, test, k=20, every: int = 1, epochs: int | None = None,
                           batch_size: int | None = None, done: int = 0):
    """``evaluate(model)`` for the training loops of both frameworks: every ``every``-th call (and
    at call ``epochs``, the last) it ranks with ``model.embeddings()`` (a (user, item) pair of
    arrays or tensors) and returns ``{"recall@k", "ndcg@k"}`` for each cutoff of ``k`` (an int or a
    sequence, see :func:`evaluate_full_ranking`); other calls return ``{}``. ``done``: epochs a
    resumed run has already trained (its first call is epoch ``done + 1``)."""
    cutoffs(k)  # a bad k fails now, not after the first epoch
    calls = [done]

    def evaluate(model):
        calls[0] += 1
        if calls[0] % every and calls[0] != epochs:
            return {}
        user_emb, item_emb = model.embeddings()
        return evaluate_full_ranking(user_emb, item_emb, train, test, k=k, batch_size=batch_size)

    return evaluate
