"""The user–item graph (adrec.graph), the Gowalla loader and the full-ranking evaluation: checked
against hand computation, brute force and the published dataset statistics."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from adrec.graph import (Interactions, bipartite_adjacency, edge_list, inverse_sqrt_degree,
                         normalized_adjacency, normalized_adjacency_torch, to_torch_sparse)
from adrec.metrics import recall_ndcg_at_k
from adrec.ranking import evaluate_full_ranking, popularity_embeddings, topk_full_ranking

# 2 users, 3 items: u0-i0, u0-i1, u1-i1 (+ a duplicate u0-i1); item 2 is isolated
TOY_U, TOY_I = [0, 0, 1, 0], [0, 1, 1, 1]


def random_interactions(n_users=30, n_items=40, n=300, seed=0):
    rng = np.random.default_rng(seed)
    return Interactions.from_pairs(rng.integers(0, n_users, n), rng.integers(0, n_items, n), n_users, n_items)


# --------------------------------------------------------------------------------- interactions

def test_from_pairs_deduplicates_sorts_and_answers_membership():
    x = Interactions.from_pairs(TOY_U, TOY_I, 2, 3)
    assert len(x) == 3
    assert x.users.tolist() == [0, 0, 1] and x.items.tolist() == [0, 1, 1]
    assert x.contains([0, 0, 1, 1, 0], [0, 2, 1, 0, 1]).tolist() == [True, False, True, False, True]
    assert x.user_degree().tolist() == [2, 1] and x.item_degree().tolist() == [1, 2, 0]
    assert [a.tolist() for a in x.per_user()] == [[0, 1], [1]]
    with pytest.raises(ValueError):
        Interactions.from_pairs([0, 3], [0, 0], 2, 3)


def test_split_per_user_partitions_each_user_80_20_and_is_seeded():
    x = random_interactions(n=600)
    tr, te = x.split_per_user(0.2, seed=3)
    assert len(tr) + len(te) == len(x)
    assert not te.contains(tr.users, tr.items).any()
    both = np.sort(np.concatenate([tr.keys, te.keys]))
    np.testing.assert_array_equal(both, x.keys)
    deg, deg_tr = x.user_degree(), tr.user_degree()
    expected = np.maximum(np.rint(0.8 * deg), np.minimum(deg, 1))
    np.testing.assert_array_equal(deg_tr, expected)
    tr2, _ = x.split_per_user(0.2, seed=3)
    np.testing.assert_array_equal(tr.keys, tr2.keys)
    tr3, _ = x.split_per_user(0.2, seed=4)
    assert not np.array_equal(tr.keys, tr3.keys)


def test_bpr_sampling_uses_each_pair_once_and_never_a_positive_as_negative():
    x = random_interactions(n_users=20, n_items=12, n=150)  # dense: many rejections needed
    positives = {(int(u), int(i)) for u, i in zip(x.users, x.items)}
    u, i, j = x.sample_bpr(np.random.default_rng(0))
    assert sorted(zip(u.tolist(), i.tolist())) == sorted(positives)  # every pair once
    assert all((a, b) not in positives for a, b in zip(u.tolist(), j.tolist()))
    assert j.min() >= 0 and j.max() < x.n_items
    u2, i2, j2 = x.sample_bpr(np.random.default_rng(0))
    np.testing.assert_array_equal(j, j2)
    # negatives are uniform over the user's non-positives: chi-square on one busy user
    rng = np.random.default_rng(1)
    draws = []
    for _ in range(400):
        uu, _, jj = x.sample_bpr(rng)
        draws.append(jj[uu == 0])
    draws = np.concatenate(draws)
    allowed = np.setdiff1d(np.arange(x.n_items), x.per_user()[0])
    counts = np.bincount(draws, minlength=x.n_items)
    assert counts[np.setdiff1d(np.arange(x.n_items), allowed)].sum() == 0
    from scipy.stats import chisquare
    assert chisquare(counts[allowed]).pvalue > 1e-3


def test_bpr_user_draw_is_uniform_over_users_then_over_their_items():
    """draw="users" (LightGCN's reference sampler): users with pairs equally often whatever their
    degree, a user's items equally often, a user without pairs never, negatives never positives."""
    from scipy.stats import chisquare
    # user 0: 6 items, user 1: 1 item, user 2: none, user 3: 3 items
    x = Interactions.from_pairs([0] * 6 + [1] + [3] * 3, list(range(6)) + [2] + [1, 4, 7], 4, 9)
    u, i, j = x.sample_bpr(np.random.default_rng(5), draw="users")
    assert len(u) == len(x)  # as many triples as pairs by default
    u, i, j = x.sample_bpr(np.random.default_rng(5), n=30_000, draw="users")
    assert x.contains(u, i).all() and not x.contains(u, j).any()
    counts = np.bincount(u, minlength=4)
    assert counts[2] == 0
    assert chisquare(counts[[0, 1, 3]]).pvalue > 1e-3  # 1/3 each, not 6:1:3 as pairs would give
    assert abs(counts[0] / counts[1] - 1) < 0.1
    assert chisquare(np.bincount(i[u == 0], minlength=6)).pvalue > 1e-3
    u2, i2, j2 = x.sample_bpr(np.random.default_rng(5), n=30_000, draw="users")
    np.testing.assert_array_equal(np.stack([u, i, j]), np.stack([u2, i2, j2]))  # seeded
    with pytest.raises(ValueError, match="'pairs' or 'users'"):
        x.sample_bpr(np.random.default_rng(0), draw="items")


def test_bpr_sampling_refuses_a_user_with_every_item():
    x = Interactions.from_pairs([0, 0, 1], [0, 1, 0], 2, 2)
    with pytest.raises(ValueError, match="every item"):
        x.sample_bpr(np.random.default_rng(0))


# ------------------------------------------------------------------------------------ adjacency

def test_normalized_adjacency_matches_hand_computation():
    R = Interactions.from_pairs(TOY_U, TOY_I, 2, 3).matrix()
    A = bipartite_adjacency(R).toarray()
    assert A.shape == (5, 5)
    np.testing.assert_array_equal(A[:2, 2:], R.toarray())
    np.testing.assert_array_equal(A, A.T)
    # degrees: u0 2, u1 1, i0 1, i1 2, i2 0 -> entry (u, i) = 1 / sqrt(d_u d_i)
    N = normalized_adjacency(A).toarray()
    want = np.zeros((5, 5))
    want[0, 2] = want[2, 0] = 1 / np.sqrt(2 * 1)
    want[0, 3] = want[3, 0] = 1 / np.sqrt(2 * 2)
    want[1, 3] = want[3, 1] = 1 / np.sqrt(1 * 2)
    np.testing.assert_allclose(N, want, atol=1e-7)
    # with self-loops the degrees are 3, 2, 2, 3, 1 and the diagonal is 1 / d
    L = normalized_adjacency(A, self_loops=True).toarray()
    d = np.array([3, 2, 2, 3, 1.0])
    want = (A + np.eye(5)) / np.sqrt(np.outer(d, d))
    np.testing.assert_allclose(L, want, atol=1e-7)
    assert L[4, 4] == pytest.approx(1.0)  # the isolated item keeps its own vector


def test_isolated_nodes_give_zero_rows_not_nan():
    assert inverse_sqrt_degree([0, 4, 1]).tolist() == [0.0, 0.5, 1.0]
    A = bipartite_adjacency(Interactions.from_pairs(TOY_U, TOY_I, 2, 3).matrix())
    for loops in (False, True):
        N = normalized_adjacency(A, self_loops=loops)
        assert np.isfinite(N.data).all()
    N = normalized_adjacency(A).toarray()
    assert not N[4].any() and not N[:, 4].any()
    H = np.random.default_rng(0).normal(size=(5, 3))
    assert np.isfinite(N @ H).all() and not (N @ H)[4].any()


@pytest.mark.parametrize("loops", [False, True])
def test_spectrum_is_symmetric_matrix_within_minus_one_one(loops):
    x = random_interactions(n_users=25, n_items=35, n=120, seed=2)
    A = bipartite_adjacency(x.matrix())
    N = normalized_adjacency(A, self_loops=loops, dtype=np.float64).toarray()
    np.testing.assert_array_equal(N, N.T)
    ev = np.linalg.eigvalsh(N)
    assert ev.min() >= -1 - 1e-9 and ev.max() <= 1 + 1e-9
    # each connected component (a non-isolated one without loops) has eigenvalue exactly 1
    n_comp, labels = sp.csgraph.connected_components(A, directed=False)
    isolated = int((np.asarray(A.sum(1)).ravel() == 0).sum())
    n_ones = int(np.sum(np.isclose(ev, 1.0, atol=1e-9)))
    if loops:
        assert n_ones == n_comp  # isolated nodes are components of their own
        assert ev.min() > -1 + 1e-6  # self-loops remove -1: no oscillation
    else:
        assert n_ones == n_comp - isolated
        np.testing.assert_allclose(np.sort(ev), np.sort(-ev), atol=1e-9)  # bipartite: ±λ
        assert int(np.sum(np.isclose(ev, -1.0, atol=1e-9))) == n_comp - isolated


@pytest.mark.parametrize("loops", [False, True])
def test_torch_builder_equals_scipy_builder(loops):
    x = random_interactions(seed=5)
    users = np.concatenate([x.users, x.users[:7]])  # duplicates must not count twice
    items = np.concatenate([x.items, x.items[:7]])
    ref = normalized_adjacency(bipartite_adjacency(x.matrix()), self_loops=loops, dtype=np.float64).toarray()
    got = normalized_adjacency_torch(users, items, x.n_users, x.n_items, self_loops=loops,
                                     dtype=torch.float64).to_dense().numpy()
    np.testing.assert_allclose(got, ref, atol=1e-12)
    conv = to_torch_sparse(normalized_adjacency(bipartite_adjacency(x.matrix()), self_loops=loops))
    np.testing.assert_allclose(conv.to_dense().numpy(), ref, atol=1e-6)
    rows, cols, vals = edge_list(sp.csr_matrix(ref))
    H = np.random.default_rng(0).normal(size=(ref.shape[0], 4))
    seg = np.zeros_like(H)
    np.add.at(seg, rows, vals[:, None] * H[cols])
    np.testing.assert_allclose(seg, ref @ H, atol=1e-12)


# ---------------------------------------------------------------------------------- full ranking

def brute_force_topk(U, V, train, k):
    S = U @ V.T
    S[train.users, train.items] = -np.inf
    # best score first, ties toward the lower item id
    return np.stack([np.lexsort((np.arange(S.shape[1]), -row))[:k] for row in S])


def test_topk_full_ranking_matches_brute_force_and_excludes_training_items():
    x = random_interactions(n_users=50, n_items=60, n=500, seed=7)
    rng = np.random.default_rng(0)
    U, V = rng.normal(size=(50, 8)).astype(np.float32), rng.normal(size=(60, 8)).astype(np.float32)
    top = topk_full_ranking(U, V, x, k=10, batch_size=16)
    np.testing.assert_array_equal(top, brute_force_topk(U.astype(np.float64), V.astype(np.float64), x, 10))
    assert not x.contains(np.repeat(np.arange(50), 10), top.ravel()).any()
    sub = topk_full_ranking(torch.from_numpy(U), torch.from_numpy(V), x.matrix(), k=10, users=[3, 17])
    np.testing.assert_array_equal(sub, top[[3, 17]])


def test_popularity_ties_break_toward_lower_id():
    x = random_interactions(n_users=40, n_items=30, n=200, seed=9)
    U, V = popularity_embeddings(x)
    top = topk_full_ranking(U, V, x, k=12)
    np.testing.assert_array_equal(top, brute_force_topk(U.astype(np.float64), V.astype(np.float64), x, 12))


@pytest.mark.parametrize("n_items", [1_000, 1_007])  # a whole number of groups, and a padded last group
def test_grouped_topk_matches_brute_force_with_ties_and_masked_rows(n_items):
    """The two-stage top-k (group maxima, then k groups' items: ranking.GROUP) against a brute force
    sort, where it has many groups: scores rounded so ties cross the k-th place and group maxima
    tie; a user whose training set covers almost every item; popularity (one score for many items)."""
    from adrec.ranking import GROUP

    assert n_items // GROUP > 10  # the grouped path, not the whole-row fallback
    x = random_interactions(n_users=70, n_items=n_items, n=3_000, seed=3)
    heavy = np.setdiff1d(np.arange(n_items), [5, 600, 601, 999])  # user 0 has 4 items left (k = 10)
    x = Interactions.from_pairs(np.r_[x.users, np.zeros(heavy.size, int)], np.r_[x.items, heavy], 70, n_items)
    rng = np.random.default_rng(1)
    U = rng.normal(size=(70, 4)).astype(np.float32)
    V = (np.round(rng.normal(size=(n_items, 4)) * 4) / 4).astype(np.float32)  # quarters: exact sums
    U[1:10] = np.round(U[1:10], 0)  # integer users: exactly equal scores, many of them
    for batch in (None, 16):
        top = topk_full_ranking(U, V, x, k=10, batch_size=batch)
        want = brute_force_topk(U.astype(np.float32), V, x, 10)
        np.testing.assert_array_equal(top[1:], want[1:])
        np.testing.assert_array_equal(np.sort(top[0, :4]), [5, 600, 601, 999])  # then -inf padding
        assert not x.contains(np.repeat(np.arange(1, 70), 10), top[1:].ravel()).any()
    Up, Vp = popularity_embeddings(x)
    np.testing.assert_array_equal(topk_full_ranking(Up, Vp, x, k=10)[1:],
                                  brute_force_topk(Up.astype(np.float64), Vp.astype(np.float64), x, 10)[1:])


def test_evaluate_full_ranking_by_hand():
    # 3 users, 5 items; embeddings 1-d so the ranking is by item value
    train = Interactions.from_pairs([0, 1, 2], [4, 0, 1], 3, 5)
    test = Interactions.from_pairs([0, 0, 1], [3, 0, 4], 3, 5)  # user 2 has no test item: skipped
    U = np.ones((3, 1), np.float32)
    V = np.array([[5.0], [4.0], [3.0], [2.0], [1.0]], np.float32)
    # user 0 ranking (item 4 excluded): 0, 1, 2, 3 -> k=2: hits {0}: recall 1/2, ndcg 1/(1 + 1/log2 3)
    # user 1 ranking (item 0 excluded): 1, 2, 3, 4 -> no hit in top 2
    got = evaluate_full_ranking(U, V, train, test, k=2)
    assert got["recall@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert got["ndcg@2"] == pytest.approx((1.0 / (1.0 + 1.0 / np.log2(3)) + 0.0) / 2)
    r, n = recall_ndcg_at_k([[0, 1], [1, 2]], [[3, 0], [4]], k=2)
    assert (r, n) == pytest.approx((got["recall@2"], got["ndcg@2"]))


# ------------------------------------------------------------------------------------- gowalla

@pytest.fixture(scope="module")
def gowalla():
    from adrec.data import DataError, load_gowalla
    try:
        return load_gowalla()
    except DataError as exc:  # pragma: no cover - no mirror and no network
        pytest.skip(f"Gowalla not available: {exc}")


def test_gowalla_matches_published_lightgcn_statistics(gowalla):
    # LightGCN paper (He et al. 2020), Table 1: 29,858 users, 40,981 items, 1,027,370 interactions
    assert gowalla.n_users == 29_858 and gowalla.n_items == 40_981
    assert len(gowalla.train) == 810_128 and len(gowalla.test) == 217_242
    assert len(gowalla.train) + len(gowalla.test) == 1_027_370
    assert not gowalla.test.contains(gowalla.train.users, gowalla.train.items).any()


def test_gowalla_subgraph_is_seeded_and_consistent(gowalla):
    from adrec.data import sample_subgraph
    a = sample_subgraph(gowalla, 500, seed=1, min_item_train=2)
    b = sample_subgraph(gowalla, 500, seed=1, min_item_train=2)
    np.testing.assert_array_equal(a.train.keys, b.train.keys)
    np.testing.assert_array_equal(a.test.keys, b.test.keys)
    assert a.n_users == 500
    assert a.train.item_degree().min() >= 2  # every kept item has >= 2 training pairs
    assert np.isin(a.test.items, a.train.items).all()
    c = sample_subgraph(gowalla, 500, seed=2, min_item_train=2)
    assert not np.array_equal(a.train.keys, c.train.keys)
    # mapping back: the subgraph's users are a sorted sample and their pairs are original pairs
    rng = np.random.default_rng(1)
    chosen = np.sort(rng.choice(gowalla.n_users, size=500, replace=False))
    kept_items = np.flatnonzero(np.bincount(gowalla.train.items[np.isin(gowalla.train.users, chosen)],
                                            minlength=gowalla.n_items) >= 2)
    assert kept_items.size == a.n_items
    assert gowalla.train.contains(chosen[a.train.users], kept_items[a.train.items]).all()
    assert gowalla.test.contains(chosen[a.test.users], kept_items[a.test.items]).all()


def test_full_ranking_evaluator_evaluates_every_n_calls_and_the_last():
    x = random_interactions(n_users=20, n_items=30, n=150, seed=11)
    train, test = x.split_per_user(0.3, seed=0)
    rng = np.random.default_rng(2)
    U, V = rng.normal(size=(20, 4)), rng.normal(size=(30, 4))

    class Model:
        def embeddings(self):
            return U, V

    from adrec.ranking import full_ranking_evaluator
    evaluate = full_ranking_evaluator(train, test, k=5, every=2, epochs=5)
    got = [evaluate(Model()) for _ in range(5)]
    want = evaluate_full_ranking(U, V, train, test, k=5)
    assert [bool(g) for g in got] == [False, True, False, True, True]
    assert got[1] == pytest.approx(want) and got[4] == pytest.approx(want)
    assert 0 < want["recall@5"] < 1
    # a run resumed after 3 epochs: its first call is epoch 4 (evaluated), then 5 (the last)
    resumed = full_ranking_evaluator(train, test, k=5, every=2, epochs=5, done=3)
    assert [bool(resumed(Model())) for _ in range(2)] == [True, True]
    resumed = full_ranking_evaluator(train, test, k=5, every=4, epochs=9, done=2)
    assert [bool(resumed(Model())) for _ in range(3)] == [False, True, False]
