"""Reliability bins and expected calibration error (adrec.calibration)."""
import numpy as np
import pytest

from adrec.calibration import expected_calibration_error, reliability_bins


def test_ece_by_hand():
    p = [0.1, 0.2, 0.3, 0.8, 0.9]
    y = [0, 0, 1, 1, 1]
    bins = reliability_bins(y, p, n_bins=2)
    np.testing.assert_array_equal(bins.count, [3, 2])
    np.testing.assert_allclose(bins.mean_pred, [0.2, 0.85])
    np.testing.assert_allclose(bins.rate, [1 / 3, 1.0])
    # 3/5 * |1/3 - 0.2| + 2/5 * |1 - 0.85| = 0.08 + 0.06
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.14, abs=1e-12)


def test_uniform_bins_equal_sklearn_calibration_curve():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(0)
    p = rng.beta(1, 4, size=5000)
    y = rng.random(5000) < p ** 1.3
    bins = reliability_bins(y, p, n_bins=10)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(bins.rate[bins.nonempty], prob_true, rtol=1e-12)
    np.testing.assert_allclose(bins.mean_pred[bins.nonempty], prob_pred, rtol=1e-12)


def test_calibrated_scores_have_small_ece_and_distorted_ones_do_not():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, size=200_000)
    y = rng.random(p.size) < p
    assert expected_calibration_error(y, p) < 0.01
    # squaring probabilities: E|p - p^2| over uniform p = 1/6, binned ECE close to it
    assert expected_calibration_error(y, p ** 2) == pytest.approx(1 / 6, abs=0.02)


def test_quantile_bins_are_balanced_and_edges_are_checked():
    rng = np.random.default_rng(2)
    p = rng.beta(1, 9, size=1000)
    y = rng.random(1000) < p
    bins = reliability_bins(y, p, n_bins=5, strategy="quantile")
    assert bins.count.sum() == 1000 and bins.count.min() >= 190
    assert reliability_bins(y, np.ones(1000), n_bins=3).count.tolist() == [0, 0, 1000]  # p = 1 in the last bin
    with pytest.raises(ValueError):
        reliability_bins([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError):
        reliability_bins([0, 1], [0.5, 0.5], strategy="equal")
