"""Notebook 05's next-item experiment: train GRU4Rec or SASRec in one framework and rank each user's
held-out item among 100 sampled negatives (SASRec protocol, :mod:`adrec.data.sequences`).

Both frameworks go through the one runner (:func:`adrec.experiments.runner.fit_row`) and so the
project's one training loop per framework (:func:`adrec.torch_nn.train.fit`,
:func:`adrec.keras_nn.train.fit`) and the one evaluation (:func:`adrec.ranking.evaluate_sampled`).
Every ``eval_every`` epochs (and after the last) the model is scored on validation (inputs: the
training items) and on test (inputs: training items + the validation item); the reported test
numbers are those of the evaluation with the best validation NDCG@k, as in SASRec's early stopping
on validation.

``python -m adrec.experiments next_item --dataset amazon-games --model sasrec`` runs one row outside
the notebook (same code, same settings), checkpointing every epoch so an interrupted run resumes;
``--dataset`` also takes a file of ``user item`` lines in time order (:func:`load_task`).
"""
from __future__ import annotations

from pathlib import Path

from ..data import sequences as sq
from .runner import Recipe, backend, fit_row, row_for

MODELS = ("gru4rec", "sasrec")
FRAMEWORKS = ("torch", "keras")
NOTEBOOK = "05_sequence_models"
LOADERS = {"ml-100k": sq.load_ml100k_sequences, "amazon-games": sq.load_amazon_games,
           "amazon-beauty": sq.load_amazon_beauty}
# the settings a row depends on (the number of epochs is not one: a row goes on to more)
ROW_SETTINGS = ("maxlen", "dim", "n_blocks", "n_heads", "dropout", "lr", "adam_beta2", "batch_size", "n_negatives",
                "k", "eval_every")


def load_task(dataset: str, n_negatives: int = 100, seed: int = 0) -> sq.SequenceTask:
    """The next-item task of a registered dataset (:data:`LOADERS`) or of a file of ``user item``
    lines in time order (:func:`adrec.data.sequences.load_sequences_file`)."""
    if dataset in LOADERS:
        data = LOADERS[dataset]()
    elif Path(dataset).suffix or Path(dataset).exists():
        data = sq.load_sequences_file(dataset)
    else:
        raise ValueError(f"unknown sequence dataset {dataset!r}; choose one of {', '.join(LOADERS)} or a file path")
    return sq.sequence_task(data, n_negatives=n_negatives, seed=seed)


def build(model: str, framework: str, n_items: int, cfg: dict):
    """A fresh model; ``cfg`` holds maxlen, dim, n_blocks, n_heads, dropout, rnn_dropout (profile settings)."""
    if model not in MODELS:
        raise ValueError(f"unknown next-item model {model!r}; choose one of {', '.join(MODELS)}")
    nn_seq = backend(framework, "sequence")
    if model == "gru4rec":
        return nn_seq.GRU4Rec(n_items, dim=cfg["dim"], dropout=cfg["rnn_dropout"])
    return nn_seq.SASRec(n_items, maxlen=cfg["maxlen"], dim=cfg["dim"], n_blocks=cfg["n_blocks"],
                         n_heads=cfg["n_heads"], dropout=cfg["dropout"])


def evaluator(task, score_fn_for, maxlen: int, k: int, eval_every: int, epochs: int, done: int = 0):
    """``evaluate(model)`` for the fit loops, called after each epoch from epoch ``done + 1``."""
    from ..ranking import evaluate_sampled

    inputs = {w: sq.left_pad(task.history(w), maxlen)[task.eval_users] for w in ("valid", "test")}
    cands = {"valid": task.valid_candidates, "test": task.test_candidates}
    calls = {"n": done}

    def evaluate(model):
        calls["n"] += 1
        if calls["n"] % eval_every and calls["n"] != epochs:
            return {}
        out = {}
        for w in ("valid", "test"):
            m = evaluate_sampled(score_fn_for(model, inputs[w]), cands[w], k=k)
            out.update({f"{w}_{name}": value for name, value in m.items()})
        return out

    return evaluate


def best_row(history, k: int = 10) -> dict:
    """Test HR@k / NDCG@k at the evaluation with the best validation NDCG@k."""
    rows = [r for r in history.rows if f"valid_ndcg@{k}" in r]
    best = max(rows, key=lambda r: r[f"valid_ndcg@{k}"])
    return {f"hr@{k}": float(best[f"test_hr@{k}"]), f"ndcg@{k}": float(best[f"test_ndcg@{k}"]),
            f"valid_ndcg@{k}": float(best[f"valid_ndcg@{k}"]), "best_epoch": int(best["epoch"]),
            "epochs": int(history.rows[-1]["epoch"]), "train_time_s": float(history.rows[-1]["wall_time_s"])}


def train(model_name: str, framework: str, task: sq.SequenceTask, cfg: dict, *, epochs: int,
          seed: int = 0, device: str = "cpu", checkpoint_dir=None, progress: bool = True):
    """Train one next-item model through the one runner; returns ``(model, history, best_row(history))``.
    With ``checkpoint_dir`` the row checkpoints every epoch there and resumes what the same settings made."""
    row = row_for(RECIPE, model_name, framework, seed, cfg, task.data.name, checkpoint_dir or Path("."), {},
                  arrays=None if task.data.name in LOADERS else task.data.sequences)
    model, history = fit_row(RECIPE, row, task, cfg, epochs=epochs, device=device, progress=progress,
                             checkpoint=checkpoint_dir is not None)
    return model, history, best_row(history, cfg["k"])


# --- the recipe: what the one runner (adrec.experiments.runner) needs of a next-item row ---

def _task(cfg: dict, dataset, data_seed: int):
    if dataset is None:
        raise ValueError(f"next_item rows need --dataset: one of {', '.join(LOADERS)} or a file path")
    task = load_task(dataset, cfg["n_negatives"], seed=data_seed)
    return task, dataset


def _training(nn, name, task, cfg, device):
    loss, data = nn.sequence.next_item_training(task.train, task.data.rated(), cfg["maxlen"], cfg["batch_size"])
    return {"loss": loss, "data": data, "lr": cfg["lr"], "adam_beta2": cfg["adam_beta2"],
            "batch_size": cfg["batch_size"], "shuffle": True, "jit_compile": "auto"}


def _evaluator(nn, name, task, cfg, device, epochs, done, opts=None):
    score = lambda m, h: nn.sequence.score_fn(m, h, device=device)  # noqa: E731
    return evaluator(task, score, cfg["maxlen"], cfg["k"], cfg["eval_every"], epochs, done)


RECIPE = Recipe(
    study="next_item", notebook=NOTEBOOK, models=MODELS, frameworks=FRAMEWORKS,
    row_settings=lambda name, cfg: {key: cfg[key] for key in ROW_SETTINGS + (("rnn_dropout",) if name == "gru4rec" else ())},
    epochs=lambda name, cfg: cfg["epochs" if name == "sasrec" else "rnn_epochs"],
    task=_task, build=lambda nn, name, task, cfg, seed, opts: build(name, nn.framework, task.data.n_items, cfg),
    training=_training, evaluator=_evaluator,
    metrics=lambda history, cfg, name, epochs, opts: best_row(history, cfg["k"]),
    default_dataset=None, extra=lambda opts: {"data_seed": opts.get("data_seed", 0)})
