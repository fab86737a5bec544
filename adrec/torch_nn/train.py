"""The one PyTorch training loop of the companion; :mod:`adrec.keras_nn.train` is its mirror image
(same public names, same signatures: ``tests/test_backend_contract.py``).

``fit(model, loss, data, ...)`` runs epochs. ``data`` is either a function ``data(epoch, rng)``
yielding mini-batches (tuples whose last element is the target, or None for losses that need none,
such as BPR), with ``rng = numpy.random.default_rng([seed, epoch])``, or a tuple ``(inputs, y)`` of
arrays cut into shuffled batches of ``batch_size``. ``loss(model, batch)`` returns a scalar loss. An
optional ``evaluate(model)`` returns a dict of metrics after each epoch.

With ``checkpoint`` set, the model, the optimizer, the history and every random-number generator
state the loop touches (torch's, CUDA's, numpy's and Python's global ones) are saved after every
epoch, together with ``settings_key`` (a hash of the settings the run was made with). A rerun with
the same key resumes after the last finished epoch and ends bit-identical to an uninterrupted run
(dropout included); a checkpoint written under another key is refused with one error
(:class:`CheckpointMismatch`). Files are read with ``weights_only=True``. With
``restore_best="hr@10"`` (a metric ``evaluate`` returns) the loop also keeps the weights of the
epoch with the highest value of that metric (the first of equal bests), in the checkpoint too, and
leaves them in the model when it returns, as the NCF authors' code keeps GMF and MLP for pre-training.

Under ``torchrun --nproc_per_node N`` (``WORLD_SIZE`` > 1, with ``RANK`` and ``LOCAL_RANK``) the loop
is PyTorch DistributedDataParallel: the process group is initialised once (gloo on cpu, nccl on
cuda, each process on ``cuda:LOCAL_RANK``), every rank draws the same batches from the same seeded
``rng`` and takes its contiguous slice of each, and the loss of a slice is weighted by its share of
the batch, so that DDP's gradient average is the gradient of the whole batch's loss: N processes make
the update one process makes, up to float32 summation order. This holds for losses that are means
over the batch's rows (every loss of adrec). ``loss(model, batch)`` runs as the forward of the
module DDP wraps, so a loss may call any method of the model (``model.logits_and_l2``). The
epoch's train loss is the all-reduced mean over the whole batch; every rank evaluates (its weights
are the same, so are its metrics: no broadcast, and each rank keeps the same best epoch); only rank
0 writes the checkpoint and shows progress. Every parameter must get a gradient in each step (DDP's
``find_unused_parameters=False``).
"""
from __future__ import annotations

import atexit
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..history import History

BACKEND = "torch"
DDP = True  # fit trains under torchrun as one DistributedDataParallel run (module docstring)


class CheckpointMismatch(ValueError):
    """A checkpoint made under other settings (or another kind of run) than the one resuming it."""


def framework_tag() -> str:
    """What trained a row, as its file names say: ``torch``."""
    return BACKEND


def set_seed(seed: int) -> None:
    """Seed the generators a fresh model draws its weights from (torch's, on every device)."""
    torch.manual_seed(seed)


class _LossModule(torch.nn.Module):
    """``loss(model, batch)`` as a module's forward: the module DDP wraps, so that the whole loss (and
    whatever method of the model it calls) runs inside DDP's forward, which readies the gradient
    all-reduce for the backward pass."""

    def __init__(self, model, loss):
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, batch):
        return self.loss(self.model, batch)


def _launch() -> tuple[int, int, int] | None:
    """``(rank, world size, local rank)`` of a torchrun launch of several processes, else None."""
    if int(os.environ.get("WORLD_SIZE", "1")) < 2:
        return None
    missing = [v for v in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise ValueError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} unset: start several "
                         f"processes with torchrun --nproc_per_node N, or unset WORLD_SIZE for one process")
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])


def _distributed(device: str) -> tuple[int, int, str]:
    """``(rank, world size, this rank's device)``; under torchrun the process group is initialised
    here (once per process): gloo on cpu, nccl on cuda with rank r on ``cuda:LOCAL_RANK``."""
    launch = _launch()
    if launch is None:
        return 0, 1, device
    rank, world, local = launch
    kind = str(device).split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"torchrun runs on cpu (gloo) or cuda (nccl), not on device {device!r}")
    if kind == "cuda":
        torch.cuda.set_device(local)  # "cuda" now means this rank's GPU, for the batches and evaluators too
        device = f"cuda:{local}"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if kind == "cuda" else "gloo", rank=rank, world_size=world)
        atexit.register(torch.distributed.destroy_process_group)
    elif torch.distributed.get_world_size() != world:
        raise ValueError(f"a process group of {torch.distributed.get_world_size()} processes is initialised, "
                         f"but WORLD_SIZE={world}")
    return rank, world, device


def _share(batch, rank: int, world: int):
    """Rank ``rank``'s contiguous slice of a global batch, and the weight of its mean loss, its rows
    times ``world`` over the batch's rows (1 for equal slices): DDP averages the ranks' gradients, so
    the weighted slice losses average to the batch's mean loss. A rank left without rows (a last
    batch smaller than ``world``) computes the whole batch with weight 0: it still joins the
    all-reduce, and adds nothing."""
    n = len(batch[0])
    lo, hi = n * rank // world, n * (rank + 1) // world
    if lo == hi:
        return batch, 0.0, 0
    return tuple(None if b is None else b[lo:hi] for b in batch), (hi - lo) * world / n, hi - lo


def _to_device(batch, device):
    return tuple(None if b is None else torch.as_tensor(b).to(device) for b in batch)


def _array_batches(inputs, y, batch_size: int, shuffle: bool = True):
    """``data(epoch, rng)`` over arrays: tuples ``(*inputs, y)`` of ``batch_size`` rows, in the order
    of ``rng.permutation`` when ``shuffle``."""
    arrays = [np.asarray(a) for a in (*inputs, y)]
    n = len(arrays[-1])

    def batches(epoch, rng):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            yield tuple(a[idx] for a in arrays)

    return batches


def _rng_state() -> dict:
    """Every global generator a training epoch may draw from, as tensors (``weights_only`` loads them)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {"rng_torch": torch.get_rng_state(),
             "rng_numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
             "rng_numpy_pos": torch.tensor([np_state[2], np_state[3]], dtype=torch.int64),
             "rng_numpy_gauss": torch.tensor(np_state[4], dtype=torch.float64),
             "rng_python": torch.tensor(py_state[1], dtype=torch.int64),
             "rng_python_gauss": torch.tensor(float("nan") if py_state[2] is None else py_state[2],
                                              dtype=torch.float64)}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["rng_cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["rng_torch"].cpu())
    pos, has_gauss = (int(v) for v in state["rng_numpy_pos"])
    np.random.set_state(("MT19937", state["rng_numpy_keys"].numpy().astype(np.uint32), pos, has_gauss,
                         float(state["rng_numpy_gauss"])))
    gauss = float(state["rng_python_gauss"])
    random.setstate((3, tuple(int(v) for v in state["rng_python"]), None if np.isnan(gauss) else gauss))
    if "rng_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["rng_cuda"].cpu()))


def _read_checkpoint(checkpoint, settings_key, restore_best, device) -> dict:
    state = torch.load(checkpoint, map_location=device, weights_only=True)
    found = state.get("settings_key")
    if found != settings_key:
        raise CheckpointMismatch(
            f"checkpoint {checkpoint} was written under settings {found!r}, this run's are {settings_key!r}: "
            f"resuming it would train one row under two settings. Rerun with --restart (or delete the file) "
            f"to train this row from scratch.")
    if restore_best is not None and state.get("best_metric") != restore_best:
        raise CheckpointMismatch(
            f"checkpoint {checkpoint} keeps no best weights by {restore_best!r} (it was written without "
            f"restore_best, or by another metric); rerun with --restart (or delete it) to train that row again")
    return state


def fit(model, loss, data, *, epochs: int, lr: float = 1e-3, optimizer: str = "adam",
        weight_decay: float = 0.0, adam_beta2: float = 0.999, batch_size: int = 256, shuffle: bool = True,
        evaluate=None, restore_best: str | None = None, checkpoint: str | Path | None = None,
        settings_key: str | None = None, seed: int = 0, device: str = "cpu", progress: bool = True,
        desc: str = "train", jit_compile="auto") -> History:
    """Train ``model`` for ``epochs`` epochs (module docstring); returns its :class:`History`."""
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}")
    if restore_best is not None and evaluate is None:
        raise ValueError(f"restore_best={restore_best!r} needs an evaluate function that returns it")
    if jit_compile not in ("auto", False):
        raise ValueError(f"jit_compile={jit_compile!r}: the PyTorch loop runs eagerly ('auto' or False)")
    batches = data if callable(data) else _array_batches(*data, batch_size=batch_size, shuffle=shuffle)
    rank, world, device = _distributed(device)
    model.to(device)
    opt_cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[optimizer]
    betas = {"betas": (0.9, adam_beta2)} if optimizer != "sgd" else {}
    opt = opt_cls(model.parameters(), lr=lr, weight_decay=weight_decay, **betas)
    history, start_epoch, best = History(), 0, None  # best: (value, epoch, state_dict) of restore_best
    if checkpoint is not None and Path(checkpoint).exists():
        state = _read_checkpoint(checkpoint, settings_key, restore_best, device)
        if restore_best is not None:
            best = (float(state["best_value"]), int(state["best_epoch"]), state["best_model"])
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch = int(state["epoch"])
        history = History.from_table(state["history_keys"], state["history_rows"])
        if "rng_torch" in state:
            _set_rng_state(state)
        if rank == 0:
            print(f"resumed from {checkpoint} after epoch {start_epoch}")
    step = _LossModule(model, loss)
    if world > 1:  # built after the checkpoint is read: no rank writes one before all pass this collective
        step = torch.nn.parallel.DistributedDataParallel(step, device_ids=[device] if str(device).startswith("cuda") else None)
    t0 = time.perf_counter() - (history.rows[-1]["wall_time_s"] if history.rows else 0.0)
    bar = tqdm(range(start_epoch, epochs), desc=desc, disable=not progress or rank != 0, leave=False)
    for epoch in bar:
        rng = np.random.default_rng([seed, epoch])
        model.train()
        # the loss is summed on the device (float64, as a Python float would; mps has no float64):
        # no host sync per batch, so a GPU is fed the next batch while it runs this one
        total = torch.zeros((), dtype=torch.float32 if str(device).startswith("mps") else torch.float64, device=device)
        count = 0
        for batch in batches(epoch, rng):
            weight, n = 1.0, len(batch[0])
            if world > 1:
                batch, weight, n = _share(batch, rank, world)
            value = step(_to_device(batch, device))
            opt.zero_grad(set_to_none=True)
            (value if weight == 1.0 else value * weight).backward()
            opt.step()
            total += value.detach().to(total.dtype) * n
            count += n
        if world > 1:  # the sum of the ranks' slice losses and rows: the mean over every batch's rows
            sums = torch.stack([total, torch.full_like(total, count)])
            torch.distributed.all_reduce(sums)
            total, count = sums[0], int(sums[1])
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
        if checkpoint is not None and rank == 0:
            keys, values = history.table()
            partial = Path(checkpoint).with_name(Path(checkpoint).name + ".tmp")
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                        "settings_key": settings_key, "history_keys": keys, **_rng_state(),
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
        chunk = _to_device(tuple(x[i:i + batch_size] for x in inputs), device)
        out.append(model(*chunk).detach().cpu().numpy())
    return np.concatenate(out)
