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

    def table(self):
        """``(keys, values)``: every metric name (also those only some epochs have), sorted, and a
        float64 array of one row per epoch with NaN where an epoch lacks a metric — how both
        training loops store a history in a checkpoint."""
        import numpy as np

        keys = sorted(set().union(*self.rows)) if self.rows else []
        return keys, np.array([[r.get(k, np.nan) for k in keys] for r in self.rows], dtype=np.float64)

    @classmethod
    def from_table(cls, keys, values) -> "History":
        """The inverse of :meth:`table` (``values``: a numpy array or torch tensor; NaN entries
        dropped; epochs as ints)."""
        import math

        rows = [{k: (int(v) if k == "epoch" else float(v)) for k, v in zip(keys, r) if not math.isnan(v)}
                for r in values.tolist()]
        return cls(rows=rows)
