"""The one PyTorch training loop of the companion.

``fit`` runs epochs of mini-batches produced by ``batches(epoch, rng)``; each batch is a tuple whose
last element is the target (or None for losses that need none, such as BPR); ``loss_fn(model,
batch)`` returns a scalar loss. An optional ``evaluate(model)`` returns a dict of metrics after
each epoch. With ``checkpoint`` set, model and optimizer state are saved after every epoch and a
rerun resumes from the last finished epoch (loaded with ``weights_only=True``). With
``restore_best="hr@10"`` (a metric ``evaluate`` returns) the loop also keeps the weights of the epoch
with the highest value of that metric (the first of equal bests), in the checkpoint too, and leaves
them in the model when it returns, as the NCF authors' code keeps GMF and MLP for pre-training.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..history import History


def to_device(batch, device):
    return tuple(None if b is None else torch.as_tensor(b).to(device) for b in batch)


def fit(model, loss_fn, batches, *, epochs: int, lr: float = 1e-3, weight_decay: float = 0.0,
        device: str = "cpu", evaluate=None, seed: int = 0, checkpoint: str | Path | None = None,
        optimizer: str = "adam", adam_beta2: float = 0.999, progress: bool = True,
        desc: str = "train", restore_best: str | None = None) -> History:
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if restore_best is not None and evaluate is None:
        raise ValueError(f"restore_best={restore_best!r} needs an evaluate function that returns it")
    model.to(device)
    opt_cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[optimizer]
    betas = {"betas": (0.9, adam_beta2)} if optimizer != "sgd" else {}
    opt = opt_cls(model.parameters(), lr=lr, weight_decay=weight_decay, **betas)
    history, start_epoch, best = History(), 0, None  # best: (value, epoch, state_dict) of restore_best
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        if restore_best is not None and state.get("best_metric") != restore_best:
            raise ValueError(f"checkpoint {checkpoint} keeps no best weights by {restore_best!r} (it was written "
                             f"without restore_best, or by another metric); delete it to train that row again")
        if restore_best is not None:
            best = (float(state["best_value"]), int(state["best_epoch"]), state["best_model"])
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch = int(state["epoch"])
        history = History.from_table(state["history_keys"], state["history_rows"])
        print(f"resumed from {checkpoint} after epoch {start_epoch}")
    t0 = time.perf_counter() - (history.rows[-1]["wall_time_s"] if history.rows else 0.0)
    bar = tqdm(range(start_epoch, epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        rng = np.random.default_rng([seed, epoch])
        model.train()
        # the loss is summed on the device (float64, as a Python float would; mps has no float64):
        # no host sync per batch, so a GPU is fed the next batch while it runs this one
        total = torch.zeros((), dtype=torch.float32 if str(device).startswith("mps") else torch.float64, device=device)
        count = 0
        for batch in batches(epoch, rng):
            batch = to_device(batch, device)
            loss = loss_fn(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n = len(batch[0])
            total += loss.detach().to(total.dtype) * n
            count += n
        row = {"epoch": epoch + 1, "train_loss": float(total) / max(count, 1)}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                row.update(evaluate(model))
        row["wall_time_s"] = time.perf_counter() - t0
        history.add(**row)
        if restore_best is not None:
            if restore_best not in row:
                raise ValueError(f"restore_best={restore_best!r}: evaluate returned only {sorted(row)}")
            if best is None or row[restore_best] > best[0]:
                best = (float(row[restore_best]), epoch + 1,
                        {k: v.detach().clone() for k, v in model.state_dict().items()})
        bar.set_postfix({k: round(v, 4) for k, v in row.items() if k != "epoch"})
        if checkpoint is not None:
            keys, values = history.table()
            partial = Path(checkpoint).with_name(Path(checkpoint).name + ".tmp")
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                        "history_keys": keys,
                        **({} if best is None else {"best_metric": restore_best, "best_value": best[0],
                                                    "best_epoch": best[1], "best_model": best[2]}),
                        "history_rows": torch.from_numpy(values)},
                       partial)
            partial.replace(checkpoint)  # a run killed while saving keeps the previous epoch's file
    if best is not None:
        model.load_state_dict(best[2])
        history.best_epoch = best[1]
    return history


def checkpoint_epoch(checkpoint) -> int:
    """The number of epochs a ``fit`` checkpoint holds (0 when there is none): evaluators that run
    every few epochs continue their schedule from there."""
    if checkpoint is None or not Path(checkpoint).exists():
        return 0
    return int(torch.load(checkpoint, map_location="cpu", weights_only=True)["epoch"])


@torch.no_grad()
def predict(model, inputs, batch_size: int = 8192, device: str = "cpu") -> np.ndarray:
    """Run ``model(*inputs)`` in batches without gradients; returns a numpy array."""
    model.eval().to(device)
    n = len(inputs[0])
    out = []
    for i in range(0, n, batch_size):
        chunk = to_device(tuple(x[i:i + batch_size] for x in inputs), device)
        out.append(model(*chunk).detach().cpu().numpy())
    return np.concatenate(out)
