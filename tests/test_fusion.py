"""User-profile fusion (notebook 01): the formulas of document 000 §4.2 and document 003 §4.3.1
against hand computation, the history builders against brute force, the click tasks against
published dataset statistics, and the PyTorch model against the numpy reference.

Keras parity is in tests/test_fusion_keras.py (run once per backend with -m keras).
"""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from adrec.data.histories import ad_world_task, build_histories, key_split, tokenize
from adrec.metrics import click_metrics_from_logits
from adrec.ref import fusion as ref
from adrec.torch_nn import fusion as tfu

# ----------------------------------------------------------------------------- formulas by hand


def test_interaction_is_elementwise_and_profile_is_weighted_sum():
    b = np.array([[1.0, 2.0], [0.5, 1.0]])
    c = np.array([[3.0, -1.0], [2.0, 4.0]])
    x = np.array([[2.0, 1.0], [1.0, 0.5]])
    e = ref.interaction_embedding(b, c, x)
    np.testing.assert_allclose(e, [[6.0, -2.0], [1.0, 2.0]])  # 1*3*2, 2*-1*1; .5*2*1, 1*4*.5
    np.testing.assert_allclose(ref.user_profile(e, np.array([0.25, 0.75])), [1.5 + 0.75, -0.5 + 1.5])


def test_document_003_mean_as_written_is_off_by_one():
    W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    h = np.array([1.0, 3.0])
    H = np.stack([h, h, h])  # h_0, h_1, h_2: n = 2, three terms
    Wh = np.array([1.0, 6.0, 4.0])
    np.testing.assert_allclose(ref.user_vector_mean(W, H), Wh)
    np.testing.assert_allclose(ref.user_vector_as_written(W, H), 1.5 * Wh)  # 3 terms / 2
    H2 = np.array([[1.0, 0.0], [0.0, 1.0]])  # n = 1: as written doubles the mean
    np.testing.assert_allclose(ref.user_vector_as_written(W, H2), [1.0, 2.0, 2.0])
    np.testing.assert_allclose(ref.user_vector_mean(W, H2), [0.5, 1.0, 1.0])
    lone = ref.user_vector_as_written(W, h[None, :])  # n = 0: division by zero
    assert np.all(np.isinf(lone))
    # the same divisor as fusion weights over k real events: 1/(k-1) each
    mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool)
    w = ref.as_written_weights(mask)
    np.testing.assert_allclose(w[0], [0.5, 0.5, 0.5, 0.0])
    assert np.isinf(w[1, 0]) and (w[1, 1:] == 0).all() and (w[2] == 0).all()


def test_uniform_and_recency_weights_by_hand():
    mask = np.array([[True, True, True, False], [False, False, False, False]])
    np.testing.assert_allclose(ref.uniform_weights(mask), [[1 / 3, 1 / 3, 1 / 3, 0], [0, 0, 0, 0]])
    age = np.array([[0, 1, 2, 0], [0, 0, 0, 0]])
    # decay 0 -> rate softplus(0) = ln 2 -> weights proportional to 1, 1/2, 1/4
    w = ref.recency_weights(age, mask, 0.0)
    np.testing.assert_allclose(w, [[4 / 7, 2 / 7, 1 / 7, 0], [0, 0, 0, 0]], rtol=1e-6, atol=1e-7)
    assert math.isclose(float(ref.softplus(0.0)), math.log(2.0))


def test_din_scores_match_a_loop():
    rng = np.random.default_rng(3)
    d, a = 3, 4
    e, q = rng.normal(size=(2, 5, d)), rng.normal(size=(2, d))
    w1, b1, w2, b2 = rng.normal(size=(4 * d, a)), rng.normal(size=a), rng.normal(size=(a, 1)), rng.normal(size=1)
    got = ref.din_scores(e, q, w1, b1, w2, b2)
    for n in range(2):
        for i in range(5):
            z = np.concatenate([e[n, i], q[n], e[n, i] * q[n], e[n, i] - q[n]])
            want = np.maximum(z @ w1 + b1, 0) @ w2[:, 0] + b2[0]
            assert math.isclose(got[n, i], want, rel_tol=1e-12)
    mask = np.array([[1, 1, 0, 0, 1], [1, 0, 0, 0, 0]], bool)
    w = ref.din_weights(e, q, mask, w1, b1, w2, b2)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert np.all(w[~mask] == 0) and w[1, 0] == pytest.approx(1.0)


def test_content_table_is_mean_over_real_tokens():
    content = np.array([[100.0, 100.0], [1.0, 2.0], [3.0, 4.0], [5.0, 0.0]])  # row 0 = pad (ignored)
    tokens = np.array([[0, 0, 0], [1, 2, 0], [3, 0, 0], [1, 2, 3]])
    np.testing.assert_allclose(ref.content_table(content, tokens),
                               [[0.0, 0.0], [2.0, 3.0], [5.0, 0.0], [3.0, 2.0]])


# ----------------------------------------------------------------------------- data


def test_tokenize():
    assert tokenize("Usual Suspects, The (1995)") == ["usual", "suspects", "the", "1995"]
    assert tokenize("Schindler's List") == ["schindler's", "list"]


def _brute_history(ev, user, key, max_len):
    prev = ev[(ev.user == user) & (ev.key < key)].sort_values("key", ascending=False).head(max_len)
    return prev.item.tolist(), prev.beh.tolist()


def test_build_histories_against_brute_force():
    rng = np.random.default_rng(0)
    n = 300
    ev = pd.DataFrame({"user": rng.integers(0, 7, n), "key": rng.permutation(n) * 2,
                       "item": rng.integers(1, 50, n), "beh": rng.integers(1, 4, n)})
    ctx = rng.integers(1, 9, (n, 2))
    rows_user, rows_key = rng.integers(0, 8, 100), rng.integers(0, 2 * n + 2, 100)  # user 7 has no events
    hi, hb, hc, ha = build_histories(ev.user, ev.key, ev.item, ev.beh, ctx, rows_user, rows_key, 5)
    ev_ctx = {k: c for k, c in zip(ev.key, ctx)}
    for j in range(100):
        items, behs = _brute_history(ev, rows_user[j], rows_key[j], 5)
        m = len(items)
        assert hi[j, :m].tolist() == items and hb[j, :m].tolist() == behs
        assert (hi[j, m:] == 0).all() and (hb[j, m:] == 0).all() and (hc[j, m:] == 0).all()
        assert ha[j, :m].tolist() == list(range(m)) and (ha[j, m:] == 0).all()
        keys = ev[(ev.user == rows_user[j]) & (ev.key < rows_key[j])].sort_values("key", ascending=False).key[:5]
        for i, k in enumerate(keys):
            assert hc[j, i].tolist() == ev_ctx[k].tolist()


def test_key_split_is_ordered_and_complete():
    keys = np.repeat(np.arange(1000), 3)  # three rows per key stay together
    tr, va, te = key_split(keys, (0.7, 0.2, 0.1))
    assert (tr.sum(), va.sum(), te.sum()) == (2100, 600, 300)
    assert keys[tr].max() < keys[va].min() and keys[va].max() < keys[te].min()
    assert not (tr & va).any() and (tr | va | te).all()


@pytest.fixture(scope="module")
def ml_task():
    from adrec.data.ml100k_click import ml100k_click_task

    return ml100k_click_task(max_len=20)


def test_ml100k_click_task(ml_task):
    from adrec.data.ml100k_click import ml100k_click_frame

    s = ml_task
    assert (len(s.train), len(s.valid), len(s.test)) == (80_000, 10_000, 10_000)
    # ratings 4 and 5 in ML-100K: 34,174 + 21,201 = 55,375 of 100,000 (GroupLens u.data)
    assert int(sum(p.y.sum() for p in (s.train, s.valid, s.test))) == 55_375
    assert s.train.key.max() < s.valid.key.min() and s.valid.key.max() < s.test.key.min()
    r, _ = ml100k_click_frame()
    assert r.timestamp.is_monotonic_increasing
    rng = np.random.default_rng(1)
    for part in (s.train, s.test):
        for j in rng.choice(len(part), 50, replace=False):
            items, behs = _brute_history(r, part.user[j], part.key[j], 20)
            m = len(items)
            assert part.hist_item[j, :m].tolist() == items and part.hist_beh[j, :m].tolist() == behs
            earlier = r.timestamp[(r.user == part.user[j]) & (r.key < part.key[j])]
            assert earlier.empty or earlier.max() <= r.timestamp[part.key[j]]
    # every film has its id token, at least one genre and (mostly) title words
    vocab = np.asarray(s.content_vocab)
    toks = vocab[s.item_tokens[1:]]
    assert all(any(t.startswith("genre=") for t in row) for row in toks)


def test_frappe_published_counts_and_ctr_protocol():
    from adrec.data.frappe import (CONTEXT_FIELDS, N_ITEMS, N_LOG, N_USERS, first_appearance_ordered,
                                   frappe_ctr, load_frappe)

    f = load_frappe()
    assert (len(f.log), f.log.user.nunique(), f.log.item.nunique()) == (96_203, 957, 4_082)
    assert (N_LOG, N_USERS, N_ITEMS) == (96_203, 957, 4_082)
    assert first_appearance_ordered(f.log.user) and first_appearance_ordered(f.log.item)
    rows = frappe_ctr(f, n_neg=2, seed=0)
    assert len(rows) == 288_609 and int(rows.label.sum()) == 96_203  # NFM / BARS Frappe_x1 size
    neg = rows[rows.label == 0]
    used = set(zip(f.log.user, f.log.item))
    assert not any((u, i) in used for u, i in zip(neg.user, neg.item))
    pos = rows[rows.label == 1].set_index("key")
    for field in (*CONTEXT_FIELDS, "user"):
        assert (neg[field].to_numpy() == pos.loc[neg.key, field].to_numpy()).all()
    pair = neg.groupby("key").item.nunique()
    assert (pair == 2).all()


def test_ad_world_task_labels_and_histories():
    from adrec.data.synthetic import make_ad_world

    world = make_ad_world(n_users=100, n_ads=30, n_impressions=3_000, dim=4, seed=1)
    task = ad_world_task(world, max_len=6)
    log = world.log
    for part in (task.train, task.valid, task.test):
        np.testing.assert_array_equal(part.y, log.click.to_numpy()[part.key])
        np.testing.assert_array_equal(part.target_item, log.ad_id.to_numpy()[part.key] + 1)
    ev = pd.DataFrame({"user": log.user_id, "key": np.arange(len(log)), "item": log.ad_id + 1,
                       "beh": 1 + log.click + log.conversion})
    for j in range(0, len(task.test), 37):
        items, behs = _brute_history(ev, task.test.user[j], task.test.key[j], 6)
        assert task.test.hist_item[j, :len(items)].tolist() == items
        assert task.test.hist_beh[j, :len(items)].tolist() == behs


# ----------------------------------------------------------------------------- PyTorch vs numpy


def _toy_task(max_len=6):
    from adrec.data.synthetic import make_ad_world

    return ad_world_task(make_ad_world(n_users=60, n_ads=20, n_impressions=1_500, dim=4, seed=2),
                         max_len=max_len)


@pytest.mark.parametrize("fusion", ref.FUSIONS)
@pytest.mark.parametrize("interaction", ref.INTERACTIONS)
def test_torch_matches_numpy(fusion, interaction):
    task = _toy_task()
    batch = task.train.subset(np.arange(200)).inputs
    assert (batch[2] == 0).all(axis=1).any() and (batch[2] > 0).all(axis=1).any()  # empty and full rows
    p = ref.init_params(task.sizes, 5, fusion, interaction, att_hidden=3, mlp_hidden=4,
                        rng=np.random.default_rng(7), scale=0.3)
    want, w_want = ref.logits(p, batch, task.item_tokens, fusion, interaction, return_weights=True)
    model = tfu.load_params(tfu.FusionCTR(task.sizes, task.item_tokens, 5, fusion, interaction, 3, 4), p)
    with torch.no_grad():
        t = [torch.as_tensor(a) for a in batch]
        got, w_got = model(*t).numpy(), model.fusion_weights(*t).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(w_got, w_want, atol=1e-6)
    back = tfu.model_params(model)
    assert set(back) == set(p)
    for k in p:
        np.testing.assert_array_equal(back[k], p[k])


def test_torch_training_learns_ml100k(ml_task):
    """A short run on 10,000 MovieLens rows beats the per-film baseline (the smoothed rate of
    "liked" of each film in the same training rows, an independent scorer) on the 10,000 test rows."""
    from adrec.metrics import roc_auc
    from adrec.torch_nn.train import predict

    task = ml_task.subsample({"train": 10_000, "valid": 2_000}, seed=0)
    torch.set_num_threads(1)
    from adrec.experiments.click import train_fusion

    model, hist = train_fusion(task, fusion="mean", dim=8, epochs=2, batch_size=256, lr=1e-2, seed=0)
    assert hist.rows[-1]["train_loss"] < hist.rows[0]["train_loss"]
    auc = click_metrics_from_logits(task.test.y, predict(model, task.test.inputs))["auc"]
    tr = task.train  # the same 10,000 training rows
    liked = np.bincount(tr.target_item, weights=tr.y, minlength=task.sizes["n_items"])
    seen = np.bincount(tr.target_item, minlength=task.sizes["n_items"])
    baseline = roc_auc(task.test.y, ((liked + 1) / (seen + 2))[task.test.target_item])
    assert auc > baseline + 0.02, (auc, baseline)
