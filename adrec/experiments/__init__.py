"""Experiments of the notebooks that need more than one framework or Keras backend, and the
framework-neutral pieces they share. Nothing here runs at import time."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..metrics import log_loss, roc_auc


def click_metrics(labels, probs) -> dict:
    """AUC and log-loss (adrec.metrics) of click probabilities."""
    return {"auc": roc_auc(labels, probs), "logloss": log_loss(labels, probs)}


@dataclass
class BestEpoch:
    """Epoch selection on the validation log-loss: after every epoch ``update`` gets the validation
    and test probabilities; the test numbers reported are those of the epoch with the lowest
    validation log-loss (the test set never chooses anything)."""

    y_valid: np.ndarray
    y_test: np.ndarray
    epoch: int = 0
    best_valid_logloss: float = float("inf")
    test_probs: np.ndarray | None = None
    test: dict = field(default_factory=dict)
    n_seen: int = 0

    def update(self, p_valid, p_test) -> dict:
        self.n_seen += 1
        v = click_metrics(self.y_valid, p_valid)
        t = click_metrics(self.y_test, p_test)
        if v["logloss"] < self.best_valid_logloss:
            self.best_valid_logloss = v["logloss"]
            self.epoch, self.test_probs, self.test = self.n_seen, np.asarray(p_test), t
        return {"valid_auc": v["auc"], "valid_logloss": v["logloss"],
                "test_auc": t["auc"], "test_logloss": t["logloss"]}


@dataclass
class ClickRun:
    """One trained click model: its per-epoch history and the test result at the selected epoch."""

    framework: str
    model: str
    seed: int
    history: object  # adrec.history.History
    best: BestEpoch

    @property
    def test_auc(self) -> float:
        return self.best.test["auc"]

    @property
    def test_logloss(self) -> float:
        return self.best.test["logloss"]
