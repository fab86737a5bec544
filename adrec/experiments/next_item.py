"""Notebook 05's next-item experiment: train GRU4Rec or SASRec in one framework and rank each user's
held-out item among 100 sampled negatives (SASRec protocol, :mod:`adrec.data.sequences`).

Both frameworks go through the project's one training loop per framework
(:func:`adrec.torch_nn.train.fit`, :func:`adrec.keras_nn.train.fit`) and the one evaluation
(:func:`adrec.ranking.evaluate_sampled`). Every ``eval_every`` epochs (and after the last) the model is
scored on validation (inputs: the training items) and on test (inputs: training items + the
validation item); the reported test numbers are those of the evaluation with the best validation
NDCG@k, as in SASRec's early stopping on validation.

``python -m adrec.experiments.next_item --dataset amazon-games --model sasrec --profile full``
runs one row outside the notebook (same code, same settings), checkpointing every epoch so an
interrupted run resumes.
"""
from __future__ import annotations


from ..data import sequences as sq
from ..ranking import evaluate_sampled

MODELS = ("gru4rec", "sasrec")
FRAMEWORKS = ("torch", "keras")
LOADERS = {"ml-100k": sq.load_ml100k_sequences, "amazon-games": sq.load_amazon_games,
           "amazon-beauty": sq.load_amazon_beauty}


def load_task(dataset: str, n_negatives: int = 100, seed: int = 0) -> sq.SequenceTask:
    if dataset not in LOADERS:
        raise ValueError(f"unknown sequence dataset {dataset!r}; choose one of {', '.join(LOADERS)}")
    return sq.sequence_task(LOADERS[dataset](), n_negatives=n_negatives, seed=seed)


def build(model: str, framework: str, n_items: int, cfg: dict):
    """A fresh model; ``cfg`` holds maxlen, dim, n_blocks, n_heads, dropout (profile settings)."""
    if model not in MODELS:
        raise ValueError(f"unknown next-item model {model!r}; choose one of {', '.join(MODELS)}")
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    if framework == "torch":
        from ..torch_nn import sequence as nn_seq
    else:
        from ..keras_nn import sequence as nn_seq
    if model == "gru4rec":
        return nn_seq.GRU4Rec(n_items, dim=cfg["dim"], dropout=cfg.get("rnn_dropout", 0.0))
    return nn_seq.SASRec(n_items, maxlen=cfg["maxlen"], dim=cfg["dim"], n_blocks=cfg["n_blocks"],
                         n_heads=cfg["n_heads"], dropout=cfg["dropout"])


def _evaluator(task, score_fn_for, maxlen: int, k: int, eval_every: int, epochs: int, done: int = 0):
    """``evaluate(model)`` for the fit loops, called after each epoch from epoch ``done + 1``."""
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
          seed: int = 0, device: str = "cpu", checkpoint=None, progress: bool = True):
    """Train one next-item model; returns ``(model, history, best_row(history))``."""
    maxlen, k, every = cfg["maxlen"], cfg.get("k", 10), cfg.get("eval_every", 1)
    beta2 = cfg.get("adam_beta2", 0.999)  # the profile's; the fit loops' default for a bare cfg
    rated = task.data.rated()
    if framework == "torch":
        import torch

        from ..torch_nn import sequence as nn_seq
        from ..torch_nn.train import checkpoint_epoch, fit

        torch.manual_seed(seed)
        model = build(model_name, framework, task.data.n_items, cfg)
        done = checkpoint_epoch(checkpoint)  # the evaluation schedule continues from there
        evaluate = _evaluator(task, lambda m, h: nn_seq.score_fn(m, h, device=device), maxlen, k, every, epochs, done)
        history = fit(model, nn_seq.next_item_train_loss,
                      nn_seq.next_item_batches(task.train, rated, maxlen, cfg["batch_size"]),
                      epochs=epochs, lr=cfg["lr"], adam_beta2=beta2, device=device, evaluate=evaluate,
                      seed=seed, checkpoint=checkpoint, progress=progress, desc=f"{model_name} (torch)")
    else:
        import keras

        from ..keras_nn import sequence as nn_seq
        from ..keras_nn.train import fit

        keras.utils.set_random_seed(seed)
        model = build(model_name, framework, task.data.n_items, cfg)
        evaluate = _evaluator(task, nn_seq.score_fn, maxlen, k, every, epochs)
        history = fit(model, nn_seq.next_item_data(task.train, rated, maxlen), None, epochs=epochs,
                      loss=nn_seq.next_item_loss, lr=cfg["lr"], adam_beta2=beta2,
                      batch_size=cfg["batch_size"], evaluate=evaluate, seed=seed, progress=False,
                      jit_compile=False)
    return model, history, best_row(history, k)


def main(argv=None) -> None:
    import argparse
    import json

    from .. import paths, profiles, run
    from . import framework_tag

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=sorted(LOADERS), required=True)
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--framework", choices=FRAMEWORKS, default="torch")
    p.add_argument("--profile", choices=sorted(profiles.PROFILES["05_sequence_models"]), default="full")
    p.add_argument("--epochs", type=int, default=None, help="default: the profile's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    a = p.parse_args(argv)
    # the notebook's run: same settings check, seeding, device choice and provenance as notebook 05
    nb = run.start("05_sequence_models", profile=a.profile, seed=a.seed, device=a.device)
    cfg = nb.settings
    epochs = a.epochs or cfg["epochs" if a.model == "sasrec" else "rnn_epochs"]
    out = paths.results_dir() / a.profile / "05_sequence_models" / "rows"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{a.dataset}_{a.model}_{framework_tag(a.framework)}_seed{a.seed}"
    task = load_task(a.dataset, cfg["n_negatives"], seed=a.seed)
    _, history, best = train(a.model, a.framework, task, cfg, epochs=epochs, seed=a.seed, device=nb.device,
                             checkpoint=out / f"{stem}.ckpt.pt" if a.framework == "torch" else None)
    result = {"dataset": a.dataset, "model": a.model, "framework": a.framework, "metrics": best,
              "history": history.rows, "provenance": {**nb.provenance(), "epochs": epochs}}
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"row": stem, **best}))


if __name__ == "__main__":
    main()
