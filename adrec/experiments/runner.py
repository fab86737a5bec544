"""One runner for every row: a study's :class:`Recipe` says what a row needs (settings, data, model,
epoch data and loss, evaluation, metrics); :func:`train_row` runs it in either framework through
the framework's one ``fit`` (:mod:`adrec.torch_nn.train`, :mod:`adrec.keras_nn.train`, the same
contract), checkpointed, resumed, saved as a :class:`~adrec.experiments.row.Row`.

    python -m adrec.experiments ncf --model gmf --seed 0 [--framework keras] [--epochs N]
    python -m adrec.experiments lightgcn --model lightgcn [--bpr-draw pairs] [--threads 2]
    python -m adrec.experiments next_item --model sasrec --dataset amazon-games
    python -m adrec.experiments ncf --plot results/full/02_dot_product_scoring/rows/*.json --figure F.png
    torchrun --nproc_per_node 2 -m adrec.experiments lightgcn --model lightgcn   # DDP: PyTorch rows, rank 0 writes
"""
from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .row import Row

PACKAGES = {"torch": "torch_nn", "keras": "keras_nn"}  # framework -> the mirror package that implements it
STUDIES = ("ncf", "lightgcn", "next_item", "click")
FAMILIES = ("train", "scoring", "sequence", "gcn", "bce", "fusion")  # the modules each framework package mirrors


def backend(framework: str, module: str = "train"):
    """The framework's module ``module`` (``adrec.torch_nn.<module>`` or ``adrec.keras_nn.<module>``):
    the one place a framework name becomes code."""
    if framework not in PACKAGES:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(PACKAGES)}")
    for family in FAMILIES:  # all at once, before any seeding: a first import may draw random numbers
        importlib.import_module(f"adrec.{PACKAGES[framework]}.{family}")
    return importlib.import_module(f"adrec.{PACKAGES[framework]}.{module}")


@dataclass(frozen=True)
class Recipe:
    """What a study's rows need; nothing about how a row is run."""

    study: str
    notebook: str                       # the profile table the settings come from, and results/<profile>/<notebook>/
    models: tuple
    frameworks: tuple
    row_settings: Callable              # (model, cfg) -> {setting: value} the row depends on (epochs excepted)
    epochs: Callable                    # (model, cfg) -> the profile's epochs for the model
    task: Callable                      # (cfg, dataset, data_seed) -> (task, dataset name); dataset None: profile's
    build: Callable                     # (nn, model, task, cfg, seed, opts) -> a fresh model; nn: module name -> module
    training: Callable                  # (nn, model, task, cfg, device) -> fit options: loss, data, lr, ...
    evaluator: Callable                 # (nn, model, task, cfg, device, epochs, done, opts) -> evaluate(model)
    metrics: Callable                   # (history, cfg, model, epochs, opts) -> the row's metrics
    baselines: tuple = ()               # models with nothing to train (framework "numpy", no seed)
    untrained: Callable | None = None   # (model, task, cfg) -> metrics of a baseline
    plotted: tuple = ()                 # what --plot draws
    plot: Callable | None = None        # (files, published) -> figure
    default_dataset: str | None = None  # a row on a dataset other than this or the profile's names it in its file name
    options: tuple = ()                 # recipe-specific command-line options: (flag, argparse kwargs)
    variant: Callable = lambda opts, cfg: ""  # noqa: E731  non-default choices, for the file name
    configure: Callable = lambda opts, cfg: {}  # noqa: E731  profile overrides the options imply
    extra: Callable = lambda opts: {}   # noqa: E731  fields kept in the row's JSON
    rows_dir: Callable = lambda out, opts: out / "rows"  # noqa: E731
    run_name: Callable = lambda model, opts, cfg: model  # noqa: E731  the row's model name


def _torchrun_rank() -> tuple[int, int]:
    """``(this process's rank, the number of processes)`` of a torchrun launch; ``(0, 1)`` alone."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def recipe(study: str) -> Recipe:
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose one of {', '.join(STUDIES)}")
    return importlib.import_module(f"adrec.experiments.{study}").RECIPE


def data_identity(dataset: str, arrays=None) -> dict:
    """What a row's key hashes of its data: a registered dataset's canonical files and sha256
    (the registry's, so the same in every process), a user file's name and sha256, or for data made
    in memory (``arrays``: the data itself) the sha256 of its bytes."""
    from ..data.registry import REGISTRY, file_identity

    if dataset in REGISTRY:
        return {"name": dataset, "files": dict(sorted(REGISTRY[dataset].files.items()))}
    if arrays is not None:
        import hashlib

        import numpy as np

        digest = hashlib.sha256()
        for a in arrays:
            digest.update(np.ascontiguousarray(a).tobytes())
        return {"name": dataset, "sha256": digest.hexdigest()}
    return file_identity(dataset)


def dataset_label(dataset: str) -> str:
    """How a row names its dataset: a registered name as it is, a file by its stem in file-name-safe
    characters (``~/logs/my clicks.csv`` -> ``my-clicks``)."""
    import re

    from ..data.registry import REGISTRY

    if dataset in REGISTRY or not any(c in dataset for c in "/\\.") and not Path(dataset).exists():
        return dataset
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(dataset).stem).strip("-") or "data"


class _Modules:
    """``nn.scoring`` -> ``adrec.<framework package>.scoring``: a recipe names modules, never a framework."""

    def __init__(self, framework: str):
        self.framework = framework

    def __getattr__(self, name):
        return backend(self.framework, name)


def row_for(rec: Recipe, model: str, framework: str, seed: int, cfg: dict, dataset: str, rows_dir: Path,
            opts: dict, arrays=None) -> Row:
    """The row of ``model`` trained by ``framework`` with ``seed`` on ``dataset`` under ``cfg``
    (``arrays``: the data itself, for data that is neither registered nor a file)."""
    data = data_identity(dataset, arrays)
    dataset = dataset_label(dataset)
    untrained = model in rec.baselines
    tag = "numpy" if untrained else backend(framework).framework_tag()
    return Row(study=rec.study, model=rec.run_name(model, opts, cfg), framework="numpy" if untrained else framework,
               tag=tag,
               dataset=dataset, seed=None if untrained else seed,
               settings=rec.row_settings(model, cfg), data=data, rows_dir=Path(rows_dir),
               named_dataset=dataset not in (rec.default_dataset, cfg.get("dataset")), variant=rec.variant(opts, cfg),
               extra=rec.extra(opts))


def fit_row(rec: Recipe, row: Row, task, cfg: dict, *, epochs: int | None = None, device: str = "cpu",
            restart: bool = False, progress: bool = True, checkpoint: bool = True, opts: dict | None = None,
            model=None):
    """Build (unless ``model`` is given) and train ``row``; returns ``(model, history)``. With
    ``checkpoint`` the row's checkpoint is resumed when its key matches (``restart``: discarded first)."""
    opts = {} if opts is None else opts  # the caller may read what the recipe leaves in it
    nn, fw = _Modules(row.framework), backend(row.framework)
    epochs = rec.epochs(row.model, cfg) if epochs is None else epochs
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1 (omit it for the profile's), got {epochs!r}")
    path = row.checkpoint_path if checkpoint else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if restart and path.exists():
            path.unlink(missing_ok=True)  # under torchrun every rank discards it: one of them first
            print(f"--restart: discarded {path}")
    if model is None:
        def train_part(part):  # a model built from other trained rows (NeuMF from GMF and MLP)
            part_row = replace(row, model=part, settings=rec.row_settings(part, cfg), variant="")
            return fit_row(rec, part_row, task, cfg, device=device, progress=progress, checkpoint=checkpoint,
                           opts={**opts, "model": part})

        opts["train_part"] = train_part
        fw.set_seed(row.seed or 0)
        model = rec.build(nn, row.model, task, cfg, row.seed or 0, opts)
    options = rec.training(nn, row.model, task, cfg, device)
    evaluate = rec.evaluator(nn, row.model, task, cfg, device, epochs, fw.checkpoint_epoch(path), opts)
    history = fw.fit(model, options.pop("loss"), options.pop("data"), epochs=epochs, evaluate=evaluate,
                     checkpoint=path, settings_key=row.key, seed=row.seed or 0, device=device,
                     progress=progress, desc=row.stem, **options)
    return model, history


def train_row(study: str, model: str, *, framework: str = "torch", seed: int = 0, profile: str = "full",
              epochs: int | None = None, dataset: str | None = None, data_seed: int = 0, device: str = "auto",
              restart: bool = False, reuse: bool = True, progress: bool = True, opts: dict | None = None,
              **overrides) -> dict:
    """Train (or resume, or load when finished) one row and write its JSON; returns the row's JSON
    object. Every check runs before any data is read."""
    from .. import paths, run

    rec, opts = recipe(study), {**(opts or {}), "model": model, "data_seed": data_seed, "profile": profile}
    if model not in rec.models:
        raise ValueError(f"{study}: unknown model {model!r}; choose one of {', '.join(rec.models)}")
    if framework not in rec.frameworks:
        raise ValueError(f"{study}: framework {framework!r} has no {study} rows; choose one of "
                         f"{', '.join(rec.frameworks)}")
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"--epochs must be a whole number >= 1 (omit it for the profile's), got {epochs!r}")
    rank, world = _torchrun_rank()
    if world > 1 and not getattr(backend(framework), "DDP", False):
        raise ValueError(f"{framework} rows do not train under torchrun ({world} processes): only the PyTorch "
                         f"loop splits its batches over processes (DDP); run one process")
    from ..profiles import resolve

    overrides = {**rec.configure(opts, resolve(rec.notebook, profile)), **overrides}
    nb = run.start(rec.notebook, profile=profile, seed=data_seed, device=device, **overrides)
    cfg = nb.settings
    task, name = rec.task(cfg, dataset, data_seed)
    out = rec.rows_dir(paths.results_dir() / profile / rec.notebook, opts)
    row = row_for(rec, model, framework, seed, cfg, name, out, opts)
    if model in rec.baselines:  # nothing to train: score and save
        metrics = rec.untrained(model, task, cfg)
        if rank == 0:  # under torchrun every rank holds the row; one writes it
            row.save(metrics, [], nb.provenance())
            print(json.dumps({"row": row.stem, **metrics}))
        return row.record(metrics, [], nb.provenance())
    want = rec.epochs(model, cfg) if epochs is None else epochs
    if reuse and not restart and row.json_path.exists():
        from .row import load

        saved = load(row.json_path)
        if row.matches(saved) and saved["metrics"].get("epochs", 0) >= want:
            print(f"{row.stem}: finished row loaded from {row.json_path} (key {row.key})")
            return saved
    _, history = fit_row(rec, row, task, cfg, epochs=want, device=nb.device, restart=restart,
                         progress=progress, opts=opts)
    metrics = rec.metrics(history, cfg, model, want, opts)
    prov = nb.provenance()
    prov.update(invocation_s=prov["wall_time_s"], wall_time_s=round(float(history.last("wall_time_s")), 1),
                epochs=want, **({"processes": world} if world > 1 else {}))
    if rank == 0:
        row.save(metrics, history.rows, prov)
        print(json.dumps({"row": row.stem, "key": row.key, **metrics}))
    return row.record(metrics, history.rows, prov)


def main(argv=None) -> int:
    import argparse

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in STUDIES:
        print(__doc__.split("\n\n")[1] if argv and argv[0] in ("-h", "--help") else
              f"usage: python -m adrec.experiments {{{','.join(STUDIES)}}} --model M [options]; "
              f"python -m adrec.experiments STUDY --help", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    study, rec = argv[0], recipe(argv[0])
    from ..profiles import PROFILES

    p = argparse.ArgumentParser(prog=f"python -m adrec.experiments {study}",
                                description=sys.modules[f"adrec.experiments.{study}"].__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=rec.models)
    p.add_argument("--framework", choices=rec.frameworks, default=rec.frameworks[0])
    p.add_argument("--seed", type=int, default=0, help="the model's seed (weights, negatives, dropout)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the data split / sample (the notebook's seed)")
    p.add_argument("--epochs", type=int, default=None, help="default: the profile's (fewer: a budget, more: go on)")
    p.add_argument("--profile", choices=sorted(PROFILES[rec.notebook]), default="full")
    p.add_argument("--dataset", default=None, help="a registered dataset or a file path (default: the profile's)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: $ADREC_THREADS, else 2)")
    p.add_argument("--restart", action="store_true", help="discard the row's checkpoint and train from scratch")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a profile setting (VALUE a Python literal), e.g. --set lr=0.002; repeatable")
    for flag, kwargs in rec.options:
        p.add_argument(flag, **kwargs)
    if rec.plot is not None:
        p.add_argument("--plot", nargs="+", metavar="ROW_JSON", help=f"instead of training: draw these rows' "
                       f"{'/'.join(rec.plotted)} by epoch into --figure")
        p.add_argument("--figure", help="with --plot: the PNG to write")
        p.add_argument("--published", nargs=len(rec.plotted), type=float, metavar=tuple(m.upper() for m in rec.plotted),
                       help="with --plot: published values")
    a = p.parse_args(argv[1:])
    if getattr(a, "plot", None):
        if not a.figure:
            p.error("--plot needs --figure")
        from ..run import save_png

        published = dict(zip(rec.plotted, a.published)) if a.published else None
        save_png(rec.plot(a.plot, published=published), a.figure)
        print(f"wrote {a.figure}")
        return 0
    if a.model is None:
        p.error("--model is required (or --plot)")
    if a.epochs is not None and a.epochs < 1:
        p.error(f"--epochs must be >= 1 (omit it for the profile's), got {a.epochs}")
    from ..env import pin_threads
    from ..reproduce import _parse_param

    try:
        pin_threads(a.threads)
        overrides = dict(_parse_param(s) for s in a.set)
    except ValueError as e:
        p.error(str(e))
    opts = {flag.lstrip("-").replace("-", "_"): getattr(a, flag.lstrip("-").replace("-", "_"))
            for flag, _ in rec.options}
    try:
        train_row(study, a.model, framework=a.framework, seed=a.seed, profile=a.profile, epochs=a.epochs,
                  dataset=a.dataset, data_seed=a.data_seed, device=a.device, restart=a.restart, opts=opts,
                  **overrides)
    except ValueError as e:  # settings, data or a checkpoint of other settings: one message, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
