"""The NCF protocol: leave-one-out splits (adrec.data.ncf), training negatives, candidate sampling
and the one vectorised sampled-ranking evaluation (adrec.ranking), checked against hand-worked
cases, an independent loop implementation of NCF's evaluate.py logic, the binomial law of a
random scorer, the dataset's published statistics and the published popularity baseline."""
import heapq
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from adrec.data import ncf
from adrec.graph import Interactions
from adrec.ranking import evaluate_sampled, sample_candidates, score_candidates

# --------------------------------------------------------------------------- leave-one-out


def test_leave_one_out_by_hand():
    users = [5, 5, 5, 9, 9, 7, 5]
    items = [10, 11, 12, 10, 13, 10, 14]
    times = [1, 3, 3, 8, 2, 4, 0]
    s = ncf.leave_one_out(users, items, times)
    # user 7 has a single rating: dropped. user 5: time 3 tied between items 11 and 12 -> the later
    # row (item 12) is held out. user 9: item 10 (time 8) held out.
    assert s.user_ids.tolist() == [5, 9]
    assert s.item_ids[s.test_items].tolist() == [12, 10]
    train = sorted(zip(s.user_ids[s.train.users].tolist(), s.item_ids[s.train.items].tolist()))
    assert train == [(5, 10), (5, 11), (5, 14), (9, 13)]


def test_leave_one_out_never_trains_on_the_held_out_item():
    s = ncf.leave_one_out([1, 1, 1], [4, 5, 4], [1, 2, 3])  # item 4 rated twice, latest held out
    assert s.item_ids[s.test_items].tolist() == [4]
    assert s.item_ids[s.train.items].tolist() == [5]


def test_ml100k_leave_one_out_holds_out_each_users_latest_rating():
    from adrec.data import load_ml100k

    s = ncf.load_ml100k_loo()
    assert s.stats()["n_users"] == 943 and s.stats()["n_items"] == 1682
    assert len(s.train) == 100_000 - 943  # every user has >= 20 ratings, each pair rated once
    r = load_ml100k().ratings
    latest = r.groupby("user").timestamp.max()
    held = pd.DataFrame({"user": s.user_ids, "item": s.item_ids[s.test_items]}).merge(r, on=["user", "item"])
    assert (held.set_index("user").timestamp == latest.loc[held.user].to_numpy()).all()


def test_ml1m_implicit_split_matches_its_published_statistics():
    s = ncf.load_ml1m_loo()
    assert (s.n_users, s.n_items, len(s.train)) == (6040, 3706, 994_169)
    assert len(s.train) + s.n_users == 1_000_209  # all of MovieLens-1M
    assert s.user_ids[0] == 1 and s.user_ids[-1] == 6040
    assert not s.train.contains(np.arange(s.n_users), s.test_items).any()


def test_user_subset_is_seeded_and_keeps_every_pair():
    full = ncf.load_ml100k_loo()
    a = ncf.subset_users(full, 100, seed=3)
    b = ncf.subset_users(full, 100, seed=3)
    c = ncf.subset_users(full, 100, seed=4)
    assert a.user_ids.tolist() == b.user_ids.tolist() != c.user_ids.tolist()
    assert a.n_users == 100 and a.n_items == np.unique(np.r_[a.train.items, a.test_items]).size
    # the same (dataset user, dataset item) pairs as in the full split, for the chosen users
    pos = np.searchsorted(full.user_ids, a.user_ids)
    mask = np.isin(full.train.users, pos)
    want = set(zip(full.user_ids[full.train.users[mask]].tolist(), full.item_ids[full.train.items[mask]].tolist()))
    got = set(zip(a.user_ids[a.train.users].tolist(), a.item_ids[a.train.items].tolist()))
    assert got == want
    assert (a.item_ids[a.test_items] == full.item_ids[full.test_items[pos]]).all()
    assert ncf.subset_users(full, None) is full


# --------------------------------------------------------------------------- training negatives


def test_training_negatives_avoid_positives_and_are_uniform():
    train = Interactions.from_pairs([0, 0, 0, 1], [0, 1, 2, 5], 2, 8)
    rng = np.random.default_rng(0)
    users = np.zeros(70_000, dtype=np.int64)
    items = ncf.sample_negatives(train, users, rng)
    assert not train.contains(users, items).any()
    counts = np.bincount(items, minlength=8)
    assert counts[:3].sum() == 0
    expected = users.size / 5  # uniform over the 5 items user 0 never had
    chi2 = float(((counts[3:] - expected) ** 2 / expected).sum())
    assert chi2 < 20.5  # chi-square, 4 degrees of freedom: P(> 20.5) < 0.0004


def test_pointwise_epoch_counts_and_shuffle():
    train = Interactions.from_pairs([0, 0, 1, 2, 2, 2], [0, 1, 2, 3, 4, 5], 3, 40)
    u, i, y = ncf.sample_pointwise(train, 4, np.random.default_rng(1))
    assert u.size == 6 * 5 and y.sum() == 6 and y.dtype == np.float32
    assert np.bincount(u[y == 0], minlength=3).tolist() == [8, 4, 12]  # 4 per positive
    assert set(zip(u[y == 1].tolist(), i[y == 1].tolist())) == set(zip(train.users.tolist(), train.items.tolist()))
    assert not train.contains(u[y == 0], i[y == 0]).any()
    assert not (y[:6] == 1).all()  # shuffled, positives not all first


# --------------------------------------------------------------------------- candidates


def _toy_rated(n_users=30, n_items=150, seed=0):
    rng = np.random.default_rng(seed)
    R = (rng.random((n_users, n_items)) < 0.15).astype(np.float32)
    held = np.array([rng.choice(np.flatnonzero(row)) for row in R])
    return sp.csr_matrix(R), held


def test_candidates_are_held_out_plus_distinct_unrated_items():
    R, held = _toy_rated()
    c = sample_candidates(R, held, n_negatives=99, seed=5)
    assert c.shape == (30, 100) and c.dtype == np.int64
    assert (c[:, 0] == held).all()
    dense = R.toarray().astype(bool)
    for u in range(30):
        assert len(set(c[u, 1:].tolist())) == 99
        assert not dense[u, c[u, 1:]].any()
    np.testing.assert_array_equal(c, sample_candidates(R, held, 99, seed=5))
    assert not np.array_equal(c, sample_candidates(R, held, 99, seed=6))
    # the block size changes memory use, not the draw's law; a different blocking still obeys it
    c2 = sample_candidates(R, held, 99, seed=5, block_cells=300)
    assert not dense[np.arange(30)[:, None], c2[:, 1:]].any()


def test_candidates_are_uniform_over_unrated_items():
    R = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=np.float32))
    hits = np.zeros(10)
    for seed in range(4000):
        hits[sample_candidates(R, [0], n_negatives=4, seed=seed)[0, 1:]] += 1
    assert hits[:2].sum() == 0
    p = 4 / 8  # each of the 8 unrated items is in a 4-subset with probability 1/2
    expected = 4000 * p
    assert np.abs(hits[2:] - expected).max() < 5 * math.sqrt(4000 * p * (1 - p))


def test_candidates_refuse_impossible_requests():
    R, held = _toy_rated(n_users=3, n_items=40)
    with pytest.raises(ValueError, match="fewer than n_negatives"):
        sample_candidates(R, held, n_negatives=39)
    bad = held.copy()
    bad[0] = np.flatnonzero(R.toarray()[0] == 0)[0]  # an item user 0 never rated
    with pytest.raises(ValueError, match="held-out item must be among"):
        sample_candidates(R, bad, 5)


# --------------------------------------------------------------------------- evaluation


def _ncf_evaluate_loop(score, candidates, k):
    """NCF's evaluate.py logic, per user: top-k of the candidates, hit if the held-out item is in
    it, NDCG = log(2) / log(position + 2). Ties: the held-out item loses (ours: pessimistic)."""
    hits, ndcgs = [], []
    for u, row in enumerate(candidates):
        scored = [(score(u, it), -(j == 0), j) for j, it in enumerate(row)]
        top = heapq.nlargest(k, scored)
        pos = [j for _, _, j in top]
        hits.append(1.0 if 0 in pos else 0.0)
        ndcgs.append(math.log(2) / math.log(pos.index(0) + 2) if 0 in pos else 0.0)
    return float(np.mean(hits)), float(np.mean(ndcgs))


def test_evaluation_by_hand():
    cands = np.arange(4 * 100).reshape(4, 100)
    rank_of_held = {0: 0, 1: 3, 2: 9, 3: 10}  # 0-based rank of column 0 among the 100

    def score(users, items):
        col = items % 100
        held_score = np.array([100 - rank_of_held[u] - 0.5 for u in users])
        return np.where(col == 0, held_score, 100 - col)  # negatives: 99, 98, ..., 1

    got = evaluate_sampled(score, cands, k=10)
    # hits: ranks 0, 3, 9 are in the top 10, rank 10 is not
    assert got["hr@10"] == pytest.approx(3 / 4)
    assert got["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5) + 1 / math.log2(11)) / 4)


def test_evaluation_matches_ncf_loop_and_batching():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 300))
    cands = np.stack([rng.choice(300, 100, replace=False) for _ in range(50)])
    score = lambda u, i: table[u, i]  # noqa: E731
    want = _ncf_evaluate_loop(lambda u, i: table[u, i], cands, 10)
    got = evaluate_sampled(score, cands, k=10, batch_size=37)
    assert (got["hr@10"], got["ndcg@10"]) == pytest.approx(want, abs=1e-12)
    np.testing.assert_array_equal(score_candidates(score, cands, batch_size=7), score_candidates(score, cands))
    users = rng.permutation(50)
    np.testing.assert_array_equal(score_candidates(score, cands, users=users), table[users[:, None], cands])


def test_ties_count_against_the_held_out_item():
    cands = np.zeros((5, 100), dtype=np.int64)
    got = evaluate_sampled(lambda u, i: np.zeros(len(u)), cands, k=10)
    assert got == {"hr@10": 0.0, "ndcg@10": 0.0}


def test_random_scores_hit_at_the_binomial_rate():
    rng = np.random.default_rng(1)
    n = 20_000
    cands = np.zeros((n, 100), dtype=np.int64)
    got = evaluate_sampled(lambda u, i: rng.random(len(u)), cands, k=10)
    assert abs(got["hr@10"] - 0.10) < 4 * math.sqrt(0.1 * 0.9 / n)
    ndcg = sum(1 / math.log2(r + 2) for r in range(10)) / 100  # rank uniform on 0..99
    assert abs(got["ndcg@10"] - ndcg) < 0.01


def test_popularity_on_ml1m_reproduces_the_published_baseline():
    """Rendle et al. (RecSys 2020) report Popularity HR@10 0.4535, NDCG@10 0.2543 under this
    protocol; our held-out items differ for tied timestamps and our negatives are our own draw
    (standard error of HR@10 over 6,040 users about 0.0064), so we allow 3 standard errors."""
    from adrec.baselines import ItemPop

    s = ncf.load_ml1m_loo()
    c = sample_candidates(s.rated(), s.test_items, 99, seed=0)
    got = evaluate_sampled(ItemPop(s.train).score, c, k=10)
    assert got["hr@10"] == pytest.approx(0.4535, abs=0.02)
    assert got["ndcg@10"] == pytest.approx(0.2543, abs=0.015)


# --------------------------------------------------------------------------- several cutoffs, one pass


def test_every_cutoff_and_mrr_from_one_scoring_by_hand():
    """The hand case above (held-out ranks 0, 3, 9, 10) at k = 1, 5, 10 and MRR, scored once."""
    cands = np.arange(4 * 100).reshape(4, 100)
    rank_of_held = {0: 0, 1: 3, 2: 9, 3: 10}
    calls = []

    def score(users, items):
        calls.append(len(users))
        col = items % 100
        held_score = np.array([100 - rank_of_held[u] - 0.5 for u in users])
        return np.where(col == 0, held_score, 100 - col)

    got = evaluate_sampled(score, cands, k=(1, 5, 10), mrr=True)
    assert calls == [400]  # one scoring of the 4 x 100 candidates
    assert list(got) == ["hr@1", "ndcg@1", "hr@5", "ndcg@5", "hr@10", "ndcg@10", "mrr"]
    assert got["hr@1"] == got["ndcg@1"] == pytest.approx(1 / 4)
    assert got["hr@5"] == pytest.approx(2 / 4)
    assert got["ndcg@5"] == pytest.approx((1 + 1 / math.log2(5)) / 4)
    assert got["hr@10"] == pytest.approx(3 / 4)
    assert got["mrr"] == pytest.approx((1 + 1 / 4 + 1 / 10 + 1 / 11) / 4)
    # one int k: exactly today's output (same keys, same values), and no "mrr" unless asked
    one = evaluate_sampled(score, cands, k=10)
    assert one == {"hr@10": got["hr@10"], "ndcg@10": got["ndcg@10"]}
    assert evaluate_sampled(score, cands, k=10, mrr=True) == {**one, "mrr": got["mrr"]}


def test_bad_cutoffs_fail_before_scoring():
    never = lambda u, i: pytest.fail("scored despite a bad k")  # noqa: E731
    for bad in (0, (), (5, 0), 2.5, (True,), "10"):
        with pytest.raises(ValueError, match="k must be"):
            evaluate_sampled(never, np.zeros((2, 5), np.int64), k=bad)


def test_several_cutoffs_match_sklearn_and_a_loop():
    """sklearn's top_k_accuracy_score is HR@k (its tie rule, the higher column first, puts the
    held-out item in column 0 behind its ties: our pessimistic rule); label_ranking_average_precision
    with one relevant label is the reciprocal rank with ties counted against it (our MRR), both on
    tied scores too. ndcg_score averages over tied orders, so it is compared on untied scores only."""
    from sklearn.metrics import label_ranking_average_precision_score, ndcg_score, top_k_accuracy_score

    rng = np.random.default_rng(7)
    n, c = 300, 51
    untied = rng.normal(size=(n, c))
    tied = rng.integers(0, 6, size=(n, c)).astype(float)
    relevant = np.zeros((n, c), dtype=int)
    relevant[:, 0] = 1
    ks = (1, 3, 10, 20)
    for table in (untied, tied):
        got = evaluate_sampled(lambda u, i: table[u, i], np.tile(np.arange(c), (n, 1)), k=ks, mrr=True)
        for k in ks:
            want = top_k_accuracy_score(np.zeros(n, int), table, k=k, labels=np.arange(c))
            assert got[f"hr@{k}"] == pytest.approx(want, abs=1e-12)
            loop = _ncf_evaluate_loop(lambda u, i: table[u, i], np.tile(np.arange(c), (n, 1)), k)
            assert (got[f"hr@{k}"], got[f"ndcg@{k}"]) == pytest.approx(loop, abs=1e-12)
        assert got["mrr"] == pytest.approx(label_ranking_average_precision_score(relevant, table), abs=1e-12)
    got = evaluate_sampled(lambda u, i: untied[u, i], np.tile(np.arange(c), (n, 1)), k=ks)
    for k in ks:
        assert got[f"ndcg@{k}"] == pytest.approx(ndcg_score(relevant, untied, k=k), abs=1e-12)


def _full_ranking_loop(scores, train, test, k):
    """Recall@k and NDCG@k by a plain loop over users: rank unmasked items by score (ties: lower id
    first), hits against the test set, IDCG over min(|test|, k)."""
    recalls, ndcgs = [], []
    for u in range(scores.shape[0]):
        if not test[u]:
            continue
        ranked = sorted((i for i in range(scores.shape[1]) if i not in train[u]), key=lambda i: (-scores[u, i], i))[:k]
        hits = [i in test[u] for i in ranked]
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(test[u]), k)))
        recalls.append(sum(hits) / len(test[u]))
        ndcgs.append(dcg / idcg)
    return float(np.mean(recalls)), float(np.mean(ndcgs))


def test_full_ranking_every_cutoff_from_one_ranking():
    """Several cutoffs equal one call per cutoff, a plain loop, and sklearn's ndcg_score (with
    training items scored lowest and untied scores, its definition is LightGCN's)."""
    from sklearn.metrics import ndcg_score

    from adrec.ranking import evaluate_full_ranking, full_ranking_evaluator

    rng = np.random.default_rng(8)
    n_users, n_items = 60, 90
    U, V = rng.normal(size=(n_users, 6)).astype(np.float32), rng.normal(size=(n_items, 6)).astype(np.float32)
    pairs = Interactions.from_pairs(rng.integers(0, n_users, 1200), rng.integers(0, n_items, 1200), n_users, n_items)
    train, test = pairs.split_per_user(0.3, seed=0)
    ks = (1, 5, 20, 50)
    got = evaluate_full_ranking(U, V, train, test, k=ks)
    assert list(got) == [f"{m}@{k}" for k in ks for m in ("recall", "ndcg")]
    scores = U.astype(np.float64) @ V.T.astype(np.float64)
    tr, te = [set(t.tolist()) for t in train.per_user()], [set(t.tolist()) for t in test.per_user()]
    users = [u for u in range(n_users) if te[u]]
    relevance = np.zeros((len(users), n_items))
    masked = scores[users].copy()
    for r, u in enumerate(users):
        relevance[r, list(te[u])] = 1
        masked[r, list(tr[u])] = -1e9
    for k in ks:
        one = evaluate_full_ranking(U, V, train, test, k=k)
        assert one == {f"recall@{k}": got[f"recall@{k}"], f"ndcg@{k}": got[f"ndcg@{k}"]}
        want = _full_ranking_loop(scores, tr, te, k)
        assert (got[f"recall@{k}"], got[f"ndcg@{k}"]) == pytest.approx(want, abs=1e-6)
        assert got[f"ndcg@{k}"] == pytest.approx(ndcg_score(relevance, masked, k=k), abs=1e-6)

    class Model:
        def embeddings(self):
            return U, V

    evaluate = full_ranking_evaluator(train, test, k=ks, every=1)
    assert evaluate(Model()) == got
    with pytest.raises(ValueError, match="k must be"):
        full_ranking_evaluator(train, test, k=(0, 5))
