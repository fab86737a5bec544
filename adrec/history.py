"""Training history shared by both frameworks' loops: one row per epoch."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    rows: list = field(default_factory=list)  # dicts: epoch, train_loss, wall_time_s, + eval metrics
    best_epoch: int | None = None  # set by a loop run with restore_best: the epoch whose weights the model holds

    def add(self, **row):
        self.rows.append(row)

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows)

    def last(self, key):
        return self.rows[-1][key]

    def best(self, key, mode="max"):
        values = [r[key] for r in self.rows if key in r]
        return max(values) if mode == "max" else min(values)
