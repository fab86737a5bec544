"""The rows of the notebooks' studies: one runner (:mod:`adrec.experiments.runner`, ``python -m
adrec.experiments STUDY``), one row type (:mod:`adrec.experiments.row`) and a recipe per study
(:mod:`.ncf`, :mod:`.lightgcn`, :mod:`.next_item`). Nothing here runs at import time."""
from __future__ import annotations

HOURS = 3600.0


def plot_rows(row_files, metrics: tuple, published: dict | None = None, wall_time: bool = False,
              marker: str | None = None):
    """``metrics`` of trained rows (their JSON files' ``history``) by epoch, one line per file
    labelled with its stem, epochs without the metric skipped; ``wall_time``: a second column by
    training wall time (hours). One metric per panel: side by side, or one row each with
    ``wall_time``. ``published``: {metric: value} drawn as dashed lines."""
    import json
    from pathlib import Path

    import matplotlib.pyplot as plt

    xs = (("epoch", 1.0, "epoch"),) + ((("wall_time_s", HOURS, "training wall time (h, evaluation included)"),)
                                       if wall_time else ())
    if wall_time:
        fig, axes = plt.subplots(len(metrics), 2, figsize=(10, 3.2 * len(metrics)), squeeze=False)
    else:
        fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
        axes = axes.T  # axes[metric, column]
    for path in row_files:
        history = json.loads(Path(path).read_text())["history"]
        for m, metric in enumerate(metrics):
            points = [r for r in history if metric in r]
            for c, (key, scale, _) in enumerate(xs):
                axes[m, c].plot([r[key] / scale for r in points], [r[metric] for r in points],
                                *([f"{marker}-"] if marker else []), **({"ms": 3} if marker else {}),
                                label=Path(path).stem)
    for m, metric in enumerate(metrics):
        for c, (_, _, xlabel) in enumerate(xs):
            ax = axes[m, c]
            if published and metric in published:
                ax.axhline(published[metric], color="grey", linestyle="--", label=f"published {published[metric]}")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(metric.upper() if not wall_time else metric)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig
