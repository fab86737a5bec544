"""Choosing the epoch a click model reports, the same for every framework: the test numbers are those
of the epoch with the lowest validation log-loss, so the test set never chooses anything.

Framework-neutral (numpy only): ``adrec.torch_nn`` and ``adrec.keras_nn`` use it; it imports neither.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .metrics import click_metrics


@dataclass
class BestEpoch:
    """After every epoch ``update`` gets the validation and test probabilities and returns the
    epoch's metrics; ``epoch``, ``test`` and ``test_probs`` follow the lowest validation log-loss."""

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
