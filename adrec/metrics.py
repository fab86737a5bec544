"""All evaluation metrics of the companion, in numpy. One home: notebooks and tests import these.

Click metrics (AUC, log-loss) take labels in {0, 1} and scores (probabilities for log-loss).
Ranking metrics come in two protocols:

* sampled ranking (NCF / SASRec): each user's held-out item is scored together with sampled
  negatives; ``scores[:, 0]`` is the held-out item, the other columns are the negatives.
* full ranking (LightGCN): each user's scores over all items, training items masked out, against
  a set of test items per user.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve, ties counted half (Mann-Whitney U over rank averages)."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in shape")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs at least one positive and one negative label")
    ranks = rankdata(s)  # average ranks for ties
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def log_loss(labels, probs, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy of probabilities (clipped to [eps, 1-eps])."""
    y = np.asarray(labels, dtype=np.float64).ravel()
    p = np.clip(np.asarray(probs, dtype=np.float64).ravel(), eps, 1 - eps)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and probs {p.shape} differ in shape")
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def click_metrics(labels, probs) -> dict:
    """AUC and log-loss of click probabilities: the pair every click model is judged by."""
    return {"auc": roc_auc(labels, probs), "logloss": log_loss(labels, probs)}


def click_metrics_from_logits(labels, logits) -> dict:
    """:func:`click_metrics` of logits, turned into probabilities by the sigmoid in float64."""
    prob = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))
    return click_metrics(labels, prob)


def sampled_rank(scores) -> np.ndarray:
    """0-based rank of column 0 among each row (ties counted pessimistically: a tie ranks above)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"scores must be (users, 1 + negatives), got {s.shape}")
    return (s[:, 1:] >= s[:, :1]).sum(axis=1)


def cutoffs(k) -> tuple[int, ...]:
    """The cutoffs asked for: an int ``k`` or a sequence of them, as a tuple of distinct positive
    ints in the order given (a repeat is dropped). Anything else is one ``ValueError``."""
    ks = tuple(k) if isinstance(k, (list, tuple, range, np.ndarray)) else (k,)
    if not ks or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c >= 1 for c in ks):
        raise ValueError(f"k must be a positive int or a non-empty sequence of them, got {k!r}")
    return tuple(dict.fromkeys(int(c) for c in ks))


def sampled_metrics(scores, k=10, mrr: bool = False) -> dict:
    """HR@k and NDCG@k of the held-out item in column 0 (He et al. 2017 protocol) for every cutoff
    of ``k`` (an int or a sequence of ints), from one ranking: ``{"hr@k": ..., "ndcg@k": ...}`` per
    cutoff, in the order given; with ``mrr`` also ``"mrr"``, the mean of 1 / (rank + 1) over all
    rows (no cutoff).

    The rank is :func:`sampled_rank`'s (ties counted against the held-out item). NDCG for one
    relevant item is 1/log2(rank + 2) when rank < k, else 0.
    """
    ks = cutoffs(k)
    rank = sampled_rank(scores)
    out = {}
    for c in ks:
        hit = rank < c
        out[f"hr@{c}"] = float(hit.mean())
        out[f"ndcg@{c}"] = float(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0).mean())
    if mrr:
        out["mrr"] = float((1.0 / (rank + 1.0)).mean())
    return out


def hit_ratio_ndcg_at_k(scores, k: int = 10) -> tuple[float, float]:
    """HR@k and NDCG@k of the held-out item in column 0 (He et al. 2017 protocol): one cutoff of
    :func:`sampled_metrics`.

    NDCG for one relevant item is 1/log2(rank + 2) when rank < k, else 0.
    """
    c = int(k)
    m = sampled_metrics(scores, k=c)
    return m[f"hr@{c}"], m[f"ndcg@{c}"]


def full_ranking_metrics(top_items, test_items, k=20) -> dict:
    """Full-ranking recall@k and ndcg@k (LightGCN's definitions) for every cutoff of ``k`` (an int
    or a sequence of ints) from one ranking: ``{"recall@k": ..., "ndcg@k": ...}`` per cutoff, in
    the order given.

    top_items: (users, >= max(k)) item ids ranked best first (training items already excluded).
    test_items: a list of arrays/sets, the test items of each user (users without any are skipped).
    recall = hits / |test|; ndcg = DCG / IDCG with IDCG over min(|test|, k) ideal hits.
    Vectorised: each (user, item) is one integer key, and a top item is a hit when its key is
    among the test keys (a binary search); duplicates in a user's test items count once.
    """
    ks = cutoffs(k)
    top = np.asarray(top_items, dtype=np.int64)[:, :max(ks)]
    n = min(len(top), len(test_items))
    top = top[:n]
    arrays = [np.fromiter(t, dtype=np.int64) if isinstance(t, (set, frozenset))
              else np.asarray(t, dtype=np.int64).ravel() for t in test_items[:n]]
    sizes = np.fromiter((a.size for a in arrays), dtype=np.int64, count=n)
    items = np.concatenate(arrays or [np.zeros(0, np.int64)])
    width = 1 + max(int(top.max(initial=0)), int(items.max(initial=0)))
    truth = np.sort(np.repeat(np.arange(n, dtype=np.int64), sizes) * width + items)
    truth = truth[np.r_[True, truth[1:] != truth[:-1]]] if truth.size else truth  # each pair once
    counts = np.bincount(truth // width, minlength=n)
    keys = np.arange(n, dtype=np.int64)[:, None] * width + top
    found = np.minimum(np.searchsorted(truth, keys), max(truth.size - 1, 0))
    hits = truth[found] == keys if truth.size else np.zeros(keys.shape, dtype=bool)
    users = counts > 0
    if not users.any():
        raise ValueError("no user has a test item")
    hits, counts = hits[users], counts[users]
    out = {}
    for c in ks:
        discounts = 1.0 / np.log2(np.arange(2, c + 2))
        idcg = np.cumsum(discounts)[np.minimum(counts, c) - 1]
        h = hits[:, :c]
        out[f"recall@{c}"] = float((h.sum(axis=1) / counts).mean())
        out[f"ndcg@{c}"] = float(((h * discounts[:h.shape[1]]).sum(axis=1) / idcg).mean())
    return out


def recall_ndcg_at_k(top_items, test_items, k: int = 20) -> tuple[float, float]:
    """Full-ranking recall@k and ndcg@k (LightGCN's definitions): one cutoff of
    :func:`full_ranking_metrics` (see there).

    top_items: (users, >=k) item ids ranked best first (training items already excluded).
    test_items: a list of arrays/sets, the test items of each user (users without any are skipped).
    recall = hits / |test|; ndcg = DCG / IDCG with IDCG over min(|test|, k) ideal hits.
    """
    c = int(k)
    m = full_ranking_metrics(top_items, test_items, k=c)
    return m[f"recall@{c}"], m[f"ndcg@{c}"]


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of a Student-t confidence interval over independent runs (seeds)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return float(v.mean()), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean()), float(half)


# ---- text generation metrics (character level; notebook 06) --------------------------------------

def bleu4_chars(references, hypotheses) -> float:
    """Corpus BLEU-4 of nltk (uniform weights, 0-1 scale) over characters, one reference per
    hypothesis, smoothing = nltk ``SmoothingFunction().method1`` (epsilon 0.1 for zero n-gram counts)."""
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references vs {len(hypotheses)} hypotheses")
    return float(corpus_bleu([[list(r)] for r in references], [list(h) for h in hypotheses],
                             smoothing_function=SmoothingFunction().method1))


def lcs_length(a, b) -> int:
    """Length of the longest common subsequence (dynamic programme, O(len(a) * len(b)))."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(reference, hypothesis, beta: float = 1.0) -> float:
    """ROUGE-L F-measure of one pair over characters: P = LCS/len(hyp), R = LCS/len(ref),
    F = (1 + beta^2) P R / (R + beta^2 P); 0 when either side is empty or nothing matches."""
    lcs = lcs_length(list(reference), list(hypothesis))
    if lcs == 0:
        return 0.0
    p, r = lcs / len(hypothesis), lcs / len(reference)
    return float((1 + beta ** 2) * p * r / (r + beta ** 2 * p))


def mean_rouge_l(references, hypotheses, beta: float = 1.0) -> float:
    return float(np.mean([rouge_l(r, h, beta) for r, h in zip(references, hypotheses, strict=True)]))


def distinct_n(texts, n: int) -> float:
    """Distinct-n over a corpus: distinct character n-grams / all character n-grams."""
    grams = [tuple(t[i:i + n]) for t in texts for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
