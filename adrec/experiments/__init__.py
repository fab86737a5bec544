"""Experiments of the notebooks that need more than one framework or Keras backend, and the
framework-neutral pieces they share. Nothing here runs at import time."""
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


def framework_tag(framework: str) -> str:
    """How a row's file names say what trained it: ``torch``, or ``keras-<backend>`` (the backend
    ``KERAS_BACKEND`` chose), so a Keras row on torch (the GPU path) neither overwrites a Keras row
    on TensorFlow nor resumes its checkpoint."""
    if framework != "keras":
        return framework
    import keras

    return f"keras-{keras.config.backend()}"


def row_provenance(nb, history, **extra) -> dict:
    """A trained row's provenance: the run's, with ``wall_time_s`` the training time its history holds
    (summed over every resumed run of the row) and ``invocation_s`` the time of the run that wrote it."""
    prov = nb.provenance()
    return {**prov, "invocation_s": prov["wall_time_s"], "wall_time_s": round(float(history.last("wall_time_s")), 1),
            **extra}


def row_runner_parser(doc: str, models: tuple, notebook: str, plotted: tuple, example_figure: str):
    """The options every row runner has: ``--model``, ``--plot ROW_JSON ... --figure F
    [--published A B]``, ``--profile``, ``--epochs`` (fewer than the profile's: a budget), ``--device``."""
    import argparse

    from ..profiles import PROFILES

    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--model", choices=models)
    p.add_argument("--plot", nargs="+", metavar="ROW_JSON", help="instead of training: draw these rows' "
                   f"{'/'.join(plotted)} by epoch into --figure")
    p.add_argument("--figure", help=f"with --plot: the PNG to write (e.g. {example_figure})")
    p.add_argument("--published", nargs=len(plotted), type=float, metavar=tuple(m.upper() for m in plotted),
                   help="with --plot: published values")
    p.add_argument("--profile", choices=sorted(PROFILES[notebook]), default="full")
    p.add_argument("--epochs", type=int, default=None, help="default: the profile's (fewer: a budget)")
    p.add_argument("--device", default="auto")
    return p


def parse_row_args(parser, argv, plot, plotted: tuple):
    """Parse a row runner's arguments. With ``--plot``: draw ``plot(files, published=...)`` into
    ``--figure`` and return None (nothing to train); else the arguments, ``--model`` required."""
    args = parser.parse_args(argv)
    if args.plot:
        if not args.figure:
            parser.error("--plot needs --figure")
        from ..run import save_png

        published = dict(zip(plotted, args.published)) if args.published else None
        save_png(plot(args.plot, published=published), args.figure)
        print(f"wrote {args.figure}")
        return None
    if args.model is None:
        parser.error("--model is required (or --plot)")
    return args
