"""The notebook run: what a notebook's first cell starts and its last cell records.

>>> run = adrec.run.start("00_overview", profile=profile, seed=seed, device=device)
... # work, reading data through adrec.data and saving figures through run.save_figure
>>> run.record({"auc": 0.71, "ml100k": {"n_users": 943}})

``start`` checks the parameters (an unknown profile or a bad size fails here, before any work),
seeds everything, picks the device and prints the environment. ``record`` writes
``results/<profile>/<notebook>/metrics.json``: the metrics plus a ``provenance`` object (git commit,
package versions, device, profile, seed, sha256 of every dataset file read, wall time).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import data, env, paths, profiles


# what runs write (executed notebooks, results, figures, the rendered paper): a change there does not
# make the code that produced a number differ from the commit, so it does not mark the commit dirty
_OUTPUTS = (":!notebooks/*.ipynb", ":!results", ":!figures", ":!paper/adrec.md")


def save_png(fig, target) -> Path:
    """Write a matplotlib figure as a byte-stable PNG (no timestamp metadata), the one way figures are saved."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110, bbox_inches="tight", metadata={"Software": None})
    return target


def write_json(target, obj: dict, sort_keys: bool = False) -> Path:
    """Write ``obj`` as indented JSON, atomically (a temporary file renamed over ``target``: a run
    killed while writing leaves the previous file), the one way results are written."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")
    os.replace(tmp, target)
    return target


def git_commit() -> str | None:
    """HEAD's commit, with ``-dirty`` when tracked source files differ from it; where the checkout
    has no git history (a copy of the working tree sent to a GPU machine), ``ADREC_GIT_COMMIT``
    as the sender set it, else None."""
    fallback = os.environ.get("ADREC_GIT_COMMIT") or None
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.project_root(),
                             capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            return fallback
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *_OUTPUTS],
                               cwd=paths.project_root(), capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return fallback


def _check_metrics(obj, where="metrics"):
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: metric names must be strings, got {key!r}")
            _check_metrics(value, f"{where}.{key}")
    elif isinstance(obj, bool) or not isinstance(obj, (int, float)):
        raise TypeError(f"{where}: a metric must be a number or a dict of metrics, got {obj!r}")
    elif not math.isfinite(obj):
        raise ValueError(f"{where}: metric is not finite ({obj!r})")


def _plain(obj):
    """numpy scalars -> Python numbers, recursively."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if hasattr(obj, "item") and not isinstance(obj, (int, float)):
        return obj.item()
    return obj


def flatten(metrics: dict, prefix: str = "") -> dict[str, float]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


@dataclass
class Run:
    notebook: str
    profile: str
    seed: int
    device: str
    settings: dict
    environment: dict
    started: float = field(default_factory=time.time)
    commit: str | None = field(default_factory=git_commit)  # at the start: a long run outlives commits

    @property
    def out_dir(self) -> Path:
        return paths.results_dir() / self.profile / self.notebook

    def save_figure(self, fig, name: str, caption: str | None = None) -> Path:
        """Save a matplotlib figure as ``figures/<name>.png`` (byte-stable: no timestamp metadata);
        outside the quick profile the name ends with ``_<profile>``, so a full run never overwrites
        the figures the committed quick notebooks show."""
        if self.profile != "quick" and not name.endswith(f"_{self.profile}"):
            name = f"{name}_{self.profile}"
        target = save_png(fig, paths.figures_dir() / f"{name}.png")
        if caption:
            print(f"Figure {target.name}: {caption}")
        return target

    def provenance(self) -> dict:
        return {
            "notebook": self.notebook,
            "profile": self.profile,
            "seed": self.seed,
            "settings": self.settings,
            "git_commit": self.commit,
            "device": self.environment["device"],
            "device_name": self.environment["device_name"],
            "versions": {k: self.environment[k] for k in ("python", *env.REPORTED_PACKAGES)},
            "keras_backend": self.environment["keras_backend"],
            "threads": self.environment["threads"],
            "datasets": dict(sorted(data.files_read().items())),
            "wall_time_s": round(time.time() - self.started, 1),
        }

    def record(self, metrics: dict, show: bool = True) -> None:
        """Write metrics + provenance to ``results/<profile>/<notebook>/metrics.json`` and show them."""
        metrics = _plain(metrics)
        _check_metrics(metrics)
        if "provenance" in metrics:
            raise ValueError("'provenance' is reserved; choose another metric name")
        write_json(self.out_dir / "metrics.json", {**metrics, "provenance": self.provenance()}, sort_keys=True)
        if show:
            flat = flatten(metrics)
            width = max(len(k) for k in flat) if flat else 0
            print(f"metrics of {self.notebook} ({self.profile} profile, seed {self.seed}):")
            for key, value in flat.items():
                shown = f"{value:.4f}" if isinstance(value, float) else f"{value}"
                print(f"  {key:<{width}}  {shown}")
            print(f"written to results/{self.profile}/{self.notebook}/metrics.json")


def start(notebook: str, profile: str = "quick", seed: int = 0, device: str = "auto",
          keras_backend: str | None = None, settings_from: str | None = None, **overrides) -> Run:
    """Validate parameters, seed, choose the device and print the environment report.

    Sizes come from ``profiles.PROFILES[settings_from or notebook][profile]``; results are written
    under the notebook's own name.
    """
    settings = profiles.resolve(settings_from or notebook, profile, **overrides)
    dev = env.pick_device(device)
    env.pin_threads()
    env.set_keras_backend(keras_backend, dev)
    env.seed_everything(seed)
    report = env.environment(dev)
    print(env.format_environment(report))
    return Run(notebook=notebook, profile=profile, seed=int(seed), device=dev, settings=settings,
               environment=report)
