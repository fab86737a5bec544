"""adrec.metrics against independent references: scikit-learn and hand computation."""
import numpy as np
import pytest
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import roc_auc_score

from adrec import metrics


def test_auc_and_logloss_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.clip(rng.random(500) * 0.5 + y * 0.3, 1e-3, 1 - 1e-3)
    p[:50] = 0.5  # ties
    assert metrics.roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert metrics.log_loss(y, p) == pytest.approx(sk_log_loss(y, p), abs=1e-12)


def test_auc_needs_both_classes():
    with pytest.raises(ValueError, match="one positive and one negative"):
        metrics.roc_auc([1, 1], [0.2, 0.3])


def test_sampled_hr_ndcg_by_hand():
    # user A: held-out scored highest -> rank 0; user B: two negatives above -> rank 2;
    # user C: 11 negatives above -> rank 11 (miss at k=10)
    scores = np.zeros((3, 12))
    scores[0] = np.r_[5.0, np.zeros(11)]
    scores[1] = np.r_[1.0, 2.0, 3.0, np.zeros(9)]
    scores[2] = np.r_[-1.0, np.zeros(11)]
    hr, ndcg = metrics.hit_ratio_ndcg_at_k(scores, k=10)
    assert hr == pytest.approx(2 / 3)
    assert ndcg == pytest.approx((1 / np.log2(2) + 1 / np.log2(4) + 0) / 3)


def test_ties_rank_pessimistically():
    assert metrics.sampled_rank(np.array([[1.0, 1.0, 0.0]]))[0] == 1


def test_full_ranking_recall_ndcg_by_hand():
    top = np.array([[3, 1, 7], [2, 9, 4]])
    test = [{1, 5}, {8}]
    recall, ndcg = metrics.recall_ndcg_at_k(top, test, k=3)
    # user 0: hit at position 1 of 2 relevant -> recall 1/2, dcg 1/log2(3), idcg 1 + 1/log2(3)
    r0, n0 = 0.5, (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert recall == pytest.approx((r0 + 0) / 2)
    assert ndcg == pytest.approx((n0 + 0) / 2)


def test_full_ranking_metrics_equal_a_per_user_loop():
    """The vectorised recall/ndcg against the definition written as a loop over users: test items
    as arrays with duplicates, as sets, and empty (skipped); rows of fewer than k items."""
    rng = np.random.default_rng(4)
    n_users, n_items, k = 300, 50, 10
    top = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    test = [rng.integers(0, n_items, rng.integers(0, 15)) for _ in range(n_users)]
    test[::7] = [set(t.tolist()) for t in test[::7]]
    test[5] = np.array([], dtype=np.int64)

    def loop(top, test, k):
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        recalls, ndcgs = [], []
        for row, truth in zip(top, test):
            truth = set(np.asarray(list(truth)).tolist())
            if truth:
                hits = np.array([int(i) in truth for i in row[:k]])
                recalls.append(hits.sum() / len(truth))
                ndcgs.append((hits * discounts[:len(hits)]).sum() / discounts[:min(len(truth), k)].sum())
        return np.mean(recalls), np.mean(ndcgs)

    for kk, cols in ((k, k), (5, k), (k, 4)):
        np.testing.assert_allclose(metrics.recall_ndcg_at_k(top[:, :cols], test, k=kk),
                                   loop(top[:, :cols], test, kk), rtol=1e-12)
    with pytest.raises(ValueError, match="no user has a test item"):
        metrics.recall_ndcg_at_k(top[:2], [[], set()], k=3)


def test_mean_ci():
    mean, half = metrics.mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302652729911275 * 1.0 / np.sqrt(3))
