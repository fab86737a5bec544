"""Notebook 03's click rows: logistic regression and an MLP on hashed one-hot features of an ad log
(the Avazu and Criteo heads, or a CSV of yours), trained with mean BCE of logits in PyTorch or Keras
through the one runner; the test numbers reported are those of the epoch with the lowest validation
log-loss (:class:`adrec.selection.BestEpoch`: the test set never chooses anything).

    python -m adrec.experiments click --model lr --dataset avazu [--framework keras]
    python -m adrec.experiments click --model mlp --dataset my_clicks.csv --profile quick

A file of yours: a CSV with a header and a 0/1 column ``label``; every other column is a
categorical field (:func:`adrec.data.ctr.load_ctr_file`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .runner import Recipe, backend, fit_row, row_for

MODELS = ("lr", "mlp")
FRAMEWORKS = ("torch", "keras")
NOTEBOOK = "03_bce_training"
DATASETS = {"avazu-head10k": "avazu", "criteo-head10k": "criteo"}  # registry name -> adrec.data.ctr's name


def load_task(dataset: str, cfg: dict):
    """The click task of a registered head (:data:`DATASETS`) or of a CSV file with a 0/1 ``label``
    column, hashed into ``hash_buckets`` with rare values (< ``min_count``) pooled."""
    from ..data import ctr

    if dataset in DATASETS or dataset in DATASETS.values():
        return ctr.ctr_task(DATASETS.get(dataset, dataset), n_buckets=cfg["hash_buckets"], min_count=cfg["min_count"])
    if Path(dataset).suffix or Path(dataset).exists():
        return ctr.load_ctr_file(dataset, label="label", n_buckets=cfg["hash_buckets"], min_count=cfg["min_count"])
    raise ValueError(f"unknown click dataset {dataset!r}; choose one of {', '.join(DATASETS)} or a CSV file path")


def settings(kind: str, cfg: dict) -> dict:
    """What a click row depends on: the hashing, the batch, its learning rate and (MLP) its shape."""
    out = {key: cfg[key] for key in ("hash_buckets", "min_count", "batch_size")}
    out["lr"] = cfg["lr_logreg"] if kind == "lr" else cfg["lr"]
    if cfg.get("l2"):
        out["l2"] = cfg["l2"]
    if kind == "mlp":
        out.update(embed_dim=cfg["embed_dim"], hidden_sizes=list(cfg["hidden_sizes"]))
    return out


def best_epoch(history) -> dict:
    """The test AUC / log-loss at the epoch of the lowest validation log-loss (the first of equals)."""
    best = min(history.rows, key=lambda r: r["valid_logloss"])
    return {"auc": float(best["test_auc"]), "logloss": float(best["test_logloss"]),
            "valid_logloss": float(best["valid_logloss"]), "best_epoch": int(best["epoch"]),
            "epochs": int(history.last("epoch")), "train_time_s": float(history.last("wall_time_s"))}


def train_click_model(task, kind: str, framework: str = "torch", *, epochs: int, batch_size: int, lr: float,
                      embed_dim: int = 8, hidden_sizes=(64, 32), l2: float = 0.0, seed: int = 0,
                      device: str = "cpu"):
    """Train an LR or MLP click model of ``framework`` on a :class:`adrec.data.ctr.CTRTask` through
    the one runner (Adam, mean BCE of logits; ``l2``: the logistic regression's L2 weight, see
    :class:`adrec.torch_nn.bce.LogisticRegression`); returns an :class:`adrec.selection.ClickRun`
    (test metrics at the epoch of lowest validation log-loss)."""
    from ..selection import ClickRun

    cfg = {"hash_buckets": task.encoder.n_buckets, "min_count": getattr(task.encoder, "min_count", None),
           "batch_size": batch_size, "lr": lr, "lr_logreg": lr, "embed_dim": embed_dim,
           "hidden_sizes": list(hidden_sizes), "epochs": epochs, "l2": l2}
    row = row_for(RECIPE, kind, framework, seed, cfg, task.name, Path("."), {},
                  arrays=(task.train.y, *task.train.inputs))
    opts = {}
    _, history = fit_row(RECIPE, row, task, cfg, epochs=epochs, device=device, progress=False, checkpoint=False,
                         opts=opts)
    return ClickRun(backend(framework).framework_tag(), kind, seed, history, opts["best"])


# --- the recipe: what the one runner (adrec.experiments.runner) needs of a click row ---

def _task(cfg: dict, dataset, data_seed: int):
    if dataset is None:
        raise ValueError(f"click rows need --dataset: one of {', '.join(DATASETS)} or a CSV file path")
    registered = {v: k for k, v in DATASETS.items()}.get(dataset, dataset)  # the registry's name keys the row
    return load_task(dataset, cfg), registered


def _build(nn, kind, task, cfg, seed, opts):
    return nn.bce.make_model(kind, task.encoder.n_buckets, task.n_fields, task.n_numeric, cfg["embed_dim"],
                             tuple(cfg["hidden_sizes"]), l2=cfg.get("l2", 0.0))


def _training(nn, kind, task, cfg, device):
    loss, data = nn.bce.click_training(task, cfg["batch_size"])
    return {"loss": loss, "data": data, "lr": settings(kind, cfg)["lr"], "batch_size": cfg["batch_size"]}


def _evaluator(nn, kind, task, cfg, device, epochs, done, opts=None):
    from ..ref.bce import sigmoid
    from ..selection import BestEpoch

    predict = backend(nn.framework).predict
    best = BestEpoch(task.valid.y, task.test.y)
    if opts is not None:
        opts["best"] = best  # the caller's handle on the selected epoch's test probabilities

    def evaluate(m):
        p = {w: sigmoid(predict(m, nn.bce.click_inputs(getattr(task, w)), device=device).astype(np.float64))
             for w in ("valid", "test")}
        return best.update(p["valid"], p["test"])

    return evaluate


RECIPE = Recipe(
    study="click", notebook=NOTEBOOK, models=MODELS, frameworks=FRAMEWORKS,
    row_settings=lambda kind, cfg: settings(kind, cfg), epochs=lambda kind, cfg: cfg["epochs"],
    task=_task, build=_build, training=_training, evaluator=_evaluator,
    metrics=lambda history, cfg, kind, epochs, opts: best_epoch(history), default_dataset=None)


# --- fused-profile click models (notebook 01: mean / recency / DIN fusion of a user's history) ---

def _fusion_task(cfg, dataset, data_seed):
    raise ValueError("fusion rows train on a HistoryTask built in notebook 01 (adrec.data.histories); "
                     "call adrec.experiments.click.train_fusion")


def _fusion_build(nn, name, task, cfg, seed, opts):
    return nn.fusion.build_fusion(task, fusion=cfg["fusion"], interaction=cfg["interaction"], dim=cfg["dim"],
                                  att_hidden=cfg["att_hidden"], mlp_hidden=cfg["mlp_hidden"])


def _fusion_training(nn, name, task, cfg, device):
    loss, data = nn.fusion.fusion_training(task, cfg["batch_size"])
    return {"loss": loss, "data": data, "lr": cfg["lr"], "batch_size": cfg["batch_size"],
            "weight_decay": cfg["weight_decay"]}


def _fusion_evaluator(nn, name, task, cfg, device, epochs, done, opts=None):
    from ..metrics import click_metrics_from_logits

    predict = backend(nn.framework).predict

    def evaluate(m):
        s = predict(m, task.valid.inputs, device=device)
        return {f"valid_{k}": v for k, v in click_metrics_from_logits(task.valid.y, s).items()}

    return evaluate


FUSION_SETTINGS = ("fusion", "interaction", "dim", "att_hidden", "mlp_hidden", "batch_size", "lr", "weight_decay")
FUSION_RECIPE = Recipe(
    study="click", notebook="01_user_profile_fusion", models=("fusion",), frameworks=FRAMEWORKS,
    row_settings=lambda name, cfg: {k: cfg[k] for k in FUSION_SETTINGS}, epochs=lambda name, cfg: cfg["epochs"],
    task=_fusion_task, build=_fusion_build, training=_fusion_training, evaluator=_fusion_evaluator,
    metrics=lambda history, cfg, name, epochs, opts: {"valid_auc": float(history.last("valid_auc"))})


def train_fusion(task, framework: str = "torch", *, fusion: str, interaction: str = "product", dim: int = 16,
                 att_hidden: int = 16, mlp_hidden: int = 32, epochs: int = 2, batch_size: int = 256,
                 lr: float = 2e-3, weight_decay: float = 0.0, seed: int = 0, device: str = "cpu",
                 progress: bool = False):
    """Fit a fused-profile click model (:class:`adrec.torch_nn.fusion.FusionCTR` or its Keras mirror)
    on a :class:`adrec.data.histories.HistoryTask` through the one runner, validating after every
    epoch; returns ``(model, history)``."""
    cfg = dict(fusion=fusion, interaction=interaction, dim=dim, att_hidden=att_hidden, mlp_hidden=mlp_hidden,
               batch_size=batch_size, lr=lr, weight_decay=weight_decay, epochs=epochs)
    row = row_for(FUSION_RECIPE, "fusion", framework, seed, cfg, task.name, Path("."), {},
                  arrays=(task.train.y, *task.train.inputs))
    return fit_row(FUSION_RECIPE, row, task, cfg, epochs=epochs, device=device, progress=progress, checkpoint=False)
