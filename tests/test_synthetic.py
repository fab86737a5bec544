"""The synthetic ad world: determinism, consistency of the log with the stated click model, the
exact Bayes ceilings (hand-worked, brute force, Monte Carlo) and a model given the true parameters
reaching them on a sampled log (empirical references: adrec.metrics.roc_auc / log_loss)."""
import math

import numpy as np
import pandas as pd
import pytest

from adrec.data import make_ad_world
from adrec.data.synthetic import (CATEGORIES, DEVICES, GENERIC_TAGS, TAG_VOCAB, AdWorld, bayes_auc,
                                  bayes_log_loss)
from adrec.metrics import log_loss, roc_auc

SMALL = dict(n_users=300, n_ads=40, n_impressions=5_000, dim=4)


@pytest.fixture(scope="module")
def world():
    return make_ad_world(n_users=2_000, n_ads=200, n_impressions=50_000, dim=8, seed=0)


@pytest.fixture(scope="module")
def big_world():
    return make_ad_world(n_users=2_000, n_ads=200, n_impressions=200_000, dim=8, seed=3)


def _cols(log):
    return log.user_id, log.ad_id, log.hour, log.device, log.slot


def _hanley_mcneil_se(auc, n_pos, n_neg):
    """Standard error of an empirical AUC (Hanley & McNeil 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc ** 2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc ** 2) + (n_neg - 1) * (q2 - auc ** 2)) / (n_pos * n_neg)
    return math.sqrt(var)


# --------------------------------------------------------------------------- determinism / shape


def test_same_seed_same_world_different_seed_different():
    a, b, c = make_ad_world(**SMALL, seed=7), make_ad_world(**SMALL, seed=7), make_ad_world(**SMALL, seed=8)
    assert isinstance(a, AdWorld)
    for name in ("users", "ads", "log"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.user_latent, b.user_latent)
    np.testing.assert_array_equal(a.ad_latent, b.ad_latent)
    for key, value in a.params.items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(b.params[key]), err_msg=key)
    assert a.bayes_auc == b.bayes_auc and a.bayes_log_loss == b.bayes_log_loss
    assert not np.array_equal(a.user_latent, c.user_latent)
    assert not np.array_equal(a.log.p_click.to_numpy(), c.log.p_click.to_numpy())
    assert not a.log[["user_id", "ad_id"]].equals(c.log[["user_id", "ad_id"]])
    # separate streams: more impressions keep the same users, ads and parameters
    d = make_ad_world(**{**SMALL, "n_impressions": 6_000}, seed=7)
    pd.testing.assert_frame_equal(a.ads, d.ads)
    np.testing.assert_array_equal(a.user_latent, d.user_latent)
    np.testing.assert_array_equal(a.params["demo_category"], d.params["demo_category"])


def test_tables_have_the_documented_columns_and_values(world):
    users, ads, log = world.users, world.ads, world.log
    assert list(users.columns) == ["user_id", "age_group", "gender"]
    assert list(ads.columns) == ["ad_id", "category", "tags"]
    assert list(log.columns) == ["t", "user_id", "ad_id", "hour", "device", "slot", "p_click", "click",
                                 "p_conversion", "conversion"]
    assert len(users) == 2_000 and len(ads) == 200 and len(log) == 50_000
    assert world.user_latent.shape == (2_000, 8) and world.ad_latent.shape == (200, 8)
    np.testing.assert_array_equal(users.user_id, np.arange(2_000))
    np.testing.assert_array_equal(ads.ad_id, np.arange(200))
    assert set(users.gender.astype(str)) == {"F", "M"} and 3 <= users.age_group.nunique() <= 6
    assert set(ads.category.astype(str)) <= set(CATEGORIES) and ads.category.nunique() >= 8
    for category, tags in zip(ads.category.astype(str), ads.tags):
        words = tags.split(" ")
        assert len(set(words)) == len(words)
        n_own, n_generic = sum(w in TAG_VOCAB[category] for w in words), sum(w in GENERIC_TAGS for w in words)
        assert 3 <= n_own <= 5 and n_generic <= 1 and n_own + n_generic == len(words)
    t = log.t.to_numpy()
    assert np.all(np.diff(t) >= 0)
    np.testing.assert_array_equal(log.hour, (t // 3600) % 24)
    assert set(log.device.astype(str)) == set(DEVICES)
    assert log.slot.min() == 1 and log.slot.max() == world.params["n_slots"]
    assert log.user_id.between(0, 1_999).all() and log.ad_id.between(0, 199).all()
    # the log is not uniform: skewed user activity and ad exposure
    per_user = np.bincount(log.user_id, minlength=2_000)
    assert np.sort(per_user)[-200:].sum() > 0.3 * len(log)  # the top 10 % of users make > 30 %
    # interest-driven exposure: shown (user, ad) pairs have a higher <u, v> than random pairs
    shown = np.einsum("nd,nd->n", world.user_latent[log.user_id], world.ad_latent[log.ad_id]).mean()
    assert shown > 0.3


# --------------------------------------------------------------------------- the click model


def test_probabilities_recomputed_from_params(world):
    log, P = world.log, world.params
    p = log.p_click.to_numpy()
    assert np.all((p > 0) & (p < 1))
    assert np.all((log.p_conversion > 0) & (log.p_conversion < 1))
    np.testing.assert_allclose(world.true_click_prob(*_cols(log)), p, rtol=1e-12, atol=0)
    codes = log.device.cat.codes.to_numpy().astype(np.int64)
    np.testing.assert_allclose(world.true_click_prob(log.user_id, log.ad_id, log.hour, codes, log.slot),
                               p, rtol=1e-12, atol=0)
    np.testing.assert_allclose(world.true_conversion_prob(log.user_id, log.ad_id, log.device),
                               log.p_conversion, rtol=1e-12, atol=0)
    # the documented formulas, written out row by row with scalar maths (independent of the code path)
    ages = list(P["age_groups"])
    for i in [0, 17, 4_321, 49_999]:
        r = log.iloc[i]
        u, a = world.user_latent[r.user_id], world.ad_latent[r.ad_id]
        c = CATEGORIES.index(str(world.ads.category[r.ad_id]))
        g = ages.index(str(world.users.age_group[r.user_id]))
        dev = DEVICES.index(str(r.device))
        logit = (P["b0"] + P["scale"] * sum(x * y for x, y in zip(u, a))
                 + P["hour_amp"][c] * math.cos(2 * math.pi * (r.hour - P["hour_peak"][c]) / 24)
                 + (0.0, 0.25, -0.2)[dev] + P["demo_category"][g, c])
        expected = r.slot ** (-P["position_eta"]) / (1 + math.exp(-logit))
        assert r.p_click == pytest.approx(expected, rel=1e-12)
        conv = (P["conv_c0"] + sum(x * y for x, y in zip(u, P["conv_w"])) + P["conv_category"][c]
                + (-0.2, 0.2, 0.0)[dev])
        assert r.p_conversion == pytest.approx(1 / (1 + math.exp(-conv)), rel=1e-12)


def test_clicks_and_conversions_follow_their_probabilities(world):
    log = world.log
    assert (log.conversion <= log.click).all()  # conversion only after a click
    p = log.p_click.to_numpy()
    # sum of independent Bernoulli(p): mean sum(p), variance sum(p(1-p)); 4 standard deviations
    assert abs(log.click.sum() - p.sum()) <= 4 * math.sqrt(np.sum(p * (1 - p)))
    assert 0.03 <= log.click.mean() <= 0.10
    q = log.p_conversion.to_numpy()[log.click.to_numpy() == 1]
    assert abs(log.conversion.sum() - q.sum()) <= 4 * math.sqrt(np.sum(q * (1 - q)))
    assert 0.75 <= world.bayes_auc <= 0.85
    assert world.bayes_auc == pytest.approx(bayes_auc(p))
    assert world.bayes_log_loss == pytest.approx(bayes_log_loss(p))


def test_true_click_prob_checks_inputs(world):
    with pytest.raises(ValueError, match="device"):
        world.true_click_prob([0], [0], [12], ["phone"], [1])
    with pytest.raises(ValueError, match="slot"):
        world.true_click_prob([0], [0], [12], ["mobile"], [0])
    with pytest.raises(ValueError, match="ad_id"):
        world.true_click_prob([0], [200], [12], ["mobile"], [1])
    # broadcasting: one user against every ad
    p = world.true_click_prob(5, np.arange(200), 20, "mobile", 1)
    assert p.shape == (200,) and np.all((p > 0) & (p < 1))


# --------------------------------------------------------------------------- exact Bayes ceilings


def test_bayes_auc_hand_examples():
    # p = [0.9, 0.5, 0.1]: positive weights p, negative weights 1-p, both sum to 1.5 -> 2.25 pairs.
    # wins  (pos 0.9 > neg 0.5) .9*.5 + (0.9 > 0.1) .9*.9 + (0.5 > 0.1) .5*.9 = .45 + .81 + .45 = 1.71
    # ties  (same row) .9*.1 + .5*.5 + .1*.9 = .43, counted half = .215
    # AUC = (1.71 + .215) / 2.25 = 1.925 / 2.25 = 0.855555...
    assert bayes_auc([0.9, 0.5, 0.1]) == pytest.approx(1.925 / 2.25, abs=1e-15)
    # with ties: p = [0.8, 0.8, 0.2]; positive mass 1.8, negative mass 1.2 -> 2.16
    # wins (0.8 > 0.2): 2 rows * .8 * .8 = 1.28; ties among the two 0.8 rows: 4 * .8 * .2 = .64 -> .32;
    # tie of row 0.2 with itself .2 * .8 = .16 -> .08.  AUC = (1.28 + .32 + .08) / 2.16 = 7/9
    assert bayes_auc([0.8, 0.8, 0.2]) == pytest.approx(7 / 9, abs=1e-15)
    assert bayes_auc([1.0, 0.0]) == 1.0 and bayes_auc([0.3, 0.3, 0.3]) == 0.5
    # other scorers under the same truth: reversing the order gives 1 - AUC; a constant gives 0.5
    assert bayes_auc([0.9, 0.5, 0.1], scores=[1, 2, 3]) == pytest.approx(1 - 1.925 / 2.25, abs=1e-15)
    assert bayes_auc([0.9, 0.5, 0.1], scores=[4, 4, 4]) == 0.5
    for bad in ([0.0, 0.0], [1.0, 1.0], [0.5, 1.2], [], [np.nan, 0.5]):
        with pytest.raises(ValueError):
            bayes_auc(bad)


def test_bayes_auc_matches_brute_force_with_ties():
    rng = np.random.default_rng(11)
    p = np.round(rng.beta(1, 8, 300), 2)  # many ties
    s = np.round(p + rng.normal(0, 0.05, 300), 1)  # another scorer, also tied
    for scores in (p, s):
        gt = (scores[:, None] > scores[None, :]) + 0.5 * (scores[:, None] == scores[None, :])
        w = p[:, None] * (1 - p)[None, :]
        assert bayes_auc(p, scores=scores) == pytest.approx((w * gt).sum() / w.sum(), rel=1e-12)


def test_bayes_auc_is_the_mean_auc_over_resampled_clicks(world):
    """Monte Carlo reference: draw clicks ~ Bernoulli(p) 200 times, average roc_auc."""
    p = world.log.p_click.to_numpy()[:20_000]
    rng = np.random.default_rng(5)
    aucs = np.array([roc_auc(rng.random(p.size) < p, p) for _ in range(200)])
    se = aucs.std(ddof=1) / math.sqrt(aucs.size)
    assert abs(aucs.mean() - bayes_auc(p)) <= 4 * se + 1e-4  # + the O(1/n) gap between the two


def test_bayes_log_loss_hand_example():
    # H(0.5) = ln 2 = 0.693147; H(0.9) = -(.9 ln .9 + .1 ln .1) = 0.094825 + 0.230259 = 0.325083;
    # H(0) = H(1) = 0.  Mean over 4 rows = 1.018230 / 4 = 0.254558
    expected = (math.log(2) - 0.9 * math.log(0.9) - 0.1 * math.log(0.1)) / 4
    assert bayes_log_loss([0.5, 0.9, 0.0, 1.0]) == pytest.approx(expected, rel=1e-14)
    assert expected == pytest.approx(0.254558, abs=1e-6)
    with pytest.raises(ValueError):
        bayes_log_loss([0.2, -0.1])


# --------------------------------------------------------------------------- reaching the ceiling


def test_true_parameters_reach_the_stated_bayes_ceiling(big_world):
    log = big_world.log
    y = log.click.to_numpy()
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    p = big_world.true_click_prob(*_cols(log))
    se_auc = _hanley_mcneil_se(big_world.bayes_auc, n_pos, n_neg)
    assert 0.002 < se_auc < 0.004  # 200k impressions, ~13k clicks: tolerance 4 SE ~ +-0.012
    auc = roc_auc(y, p)
    assert abs(auc - big_world.bayes_auc) <= 4 * se_auc
    # log-loss: per-row variance of the loss given p is p(1-p) ln(p/(1-p))^2, exactly
    se_ll = math.sqrt(np.sum(p * (1 - p) * np.log(p / (1 - p)) ** 2)) / y.size
    assert abs(log_loss(y, p) - big_world.bayes_log_loss) <= 4 * se_ll

    # degraded scorer 1: the model ignores position (every impression scored as if in slot 1)
    no_position = big_world.true_click_prob(log.user_id, log.ad_id, log.hour, log.device, 1)
    expected = bayes_auc(p, scores=no_position)
    assert expected < big_world.bayes_auc - 0.01
    auc_np = roc_auc(y, no_position)
    assert abs(auc_np - expected) <= 4 * _hanley_mcneil_se(expected, n_pos, n_neg)
    assert auc_np < auc - 0.01
    # the position-blind scorer is miscalibrated too: worse log-loss than the ceiling
    assert log_loss(y, no_position) > big_world.bayes_log_loss + 10 * se_ll
    # degraded scorer 2: the right probabilities given to the wrong impressions
    shuffled = np.random.default_rng(0).permutation(p)
    auc_sh = roc_auc(y, shuffled)
    assert abs(auc_sh - 0.5) <= 4 * _hanley_mcneil_se(0.5, n_pos, n_neg)
    assert auc_sh < big_world.bayes_auc - 0.2


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name,value", [
    ("n_users", 0), ("n_users", -5), ("n_users", 2.5), ("n_users", 2000.0), ("n_users", True),
    ("n_users", "2000"), ("n_ads", 0), ("n_ads", None), ("n_impressions", 0), ("n_impressions", 1e4),
    ("dim", 0), ("dim", -1), ("dim", 8.0),
])
def test_invalid_sizes_raise(name, value):
    kwargs = {**SMALL, name: value}
    with pytest.raises(ValueError, match=name):
        make_ad_world(**kwargs)


def test_validation_happens_before_any_work():
    # a billion impressions would take minutes and gigabytes; the bad dim must stop it first
    with pytest.raises(ValueError, match="dim"):
        make_ad_world(n_users=10, n_ads=10, n_impressions=10 ** 9, dim=0)
    # the smallest valid world (numpy integers accepted as sizes)
    tiny = make_ad_world(n_users=np.int64(1), n_ads=1, n_impressions=1, dim=1, seed=1)
    assert len(tiny.log) == 1 and tiny.user_latent.shape == (1, 1)
    assert 0 < tiny.bayes_auc == pytest.approx(0.5)  # one row: only its tie with itself
