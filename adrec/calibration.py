"""Calibration of click probabilities: reliability-diagram bins, expected calibration error (ECE)
and a plotting helper (numpy; matplotlib only inside :func:`plot_reliability`).

A model is calibrated when, among impressions it gives probability ``p``, a share ``p`` is
clicked. Bin the predictions; in bin ``b`` compare the mean prediction ``conf_b`` with the observed
click rate ``rate_b``. ECE is the share-weighted mean gap ``sum_b (n_b / N) * |rate_b - conf_b|``
(Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017).

Bins: ``"uniform"`` splits [0, 1] into equal widths (bin ``b`` holds ``edges[b] <= p < edges[b+1]``,
the last bin also holds ``p == 1``); ``"quantile"`` puts about the same number of predictions in
each bin (click rates are small, so most uniform bins on ad data are empty).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ReliabilityBins:
    edges: np.ndarray  # (B + 1,)
    count: np.ndarray  # (B,) predictions in each bin
    mean_pred: np.ndarray  # (B,) mean predicted probability (nan for an empty bin)
    rate: np.ndarray  # (B,) observed positive rate (nan for an empty bin)

    @property
    def nonempty(self) -> np.ndarray:
        return self.count > 0

    def ece(self) -> float:
        ok = self.nonempty
        w = self.count[ok] / self.count.sum()
        return float(np.sum(w * np.abs(self.rate[ok] - self.mean_pred[ok])))

    def frame(self):
        import pandas as pd

        return pd.DataFrame({"lo": self.edges[:-1], "hi": self.edges[1:], "count": self.count,
                             "mean_pred": self.mean_pred, "rate": self.rate})


def reliability_bins(labels, probs, n_bins: int = 10, strategy: str = "uniform") -> ReliabilityBins:
    """Bin ``probs`` and return counts, mean prediction and observed rate per bin."""
    y = np.asarray(labels, dtype=np.float64).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and probs {p.shape} differ in shape")
    if p.size == 0:
        raise ValueError("no predictions")
    if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise ValueError("probabilities must be finite and in [0, 1]")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1))
        edges[0], edges[-1] = min(edges[0], 0.0), max(edges[-1], 1.0)
        edges = np.unique(edges)  # tied quantiles merge bins
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    nb = len(edges) - 1
    count = np.bincount(idx, minlength=nb).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.bincount(idx, weights=p, minlength=nb) / count
        rate = np.bincount(idx, weights=y, minlength=nb) / count
    return ReliabilityBins(edges=edges, count=count, mean_pred=mean_pred, rate=rate)


def expected_calibration_error(labels, probs, n_bins: int = 10, strategy: str = "uniform") -> float:
    """ECE: ``sum_b (n_b / N) * |rate_b - mean_pred_b|`` over non-empty bins."""
    return reliability_bins(labels, probs, n_bins, strategy).ece()


def plot_reliability(ax, bins: ReliabilityBins, label: str | None = None, show_diagonal: bool = True,
                     **kwargs):
    """Draw observed rate against mean prediction (non-empty bins; marker area ~ bin count)."""
    ok = bins.nonempty
    if show_diagonal:
        ax.plot([0, 1], [0, 1], color="0.7", lw=1, ls="--", zorder=0)
    style = {"marker": "o", "ms": 4, **kwargs}
    line, = ax.plot(bins.mean_pred[ok], bins.rate[ok],
                    label=label if label is None else f"{label} (ECE {bins.ece():.3f})", **style)
    ax.set_xlabel("mean predicted click probability")
    ax.set_ylabel("observed click rate")
    return line
