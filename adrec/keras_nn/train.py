"""The one Keras training loop of the companion: ``model.compile`` + ``model.fit`` (so it runs on
every backend), wrapped to return the same :class:`adrec.history.History` as the PyTorch loop.

``evaluate(model)`` (optional) returns a dict of metrics after each epoch, as in
:func:`adrec.torch_nn.train.fit`. ``x`` may also be a function ``x(epoch, rng) -> (inputs,
targets)`` (``y`` None) giving fresh training data every epoch — e.g. resampled negatives — with
``rng = numpy.random.default_rng([seed, epoch])``, the rng the PyTorch loop hands its ``batches``;
the model is compiled once, so the optimizer state carries over between epochs. With
``restore_best="hr@10"`` the model ends holding the weights of the epoch with the highest value of
that ``evaluate`` metric (the first of equal bests), as in the PyTorch loop. With ``checkpoint``
(a ``.npz`` path; ``x`` must be such a function) the weights, the optimizer's variables, the history
and the best epoch's weights are saved after every epoch, and a rerun resumes after the last
finished epoch (read with ``allow_pickle=False``), as the PyTorch loop's checkpoints.
"""
from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from ..history import History


class _EpochEval(keras.callbacks.Callback):
    def __init__(self, evaluate, history, t0, restore_best=None, checkpoint=None):
        super().__init__()
        self.evaluate, self.hist, self.t0, self.restore_best = evaluate, history, t0, restore_best
        self.best = None  # (value, epoch, weights) of restore_best
        self.checkpoint = checkpoint

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "train_loss": float(logs["loss"])}
        if self.evaluate is not None:
            row.update(self.evaluate(self.model))
        row["wall_time_s"] = time.perf_counter() - self.t0
        self.hist.add(**row)
        if self.restore_best is not None:
            if self.restore_best not in row:
                raise ValueError(f"restore_best={self.restore_best!r}: evaluate returned only {sorted(row)}")
            if self.best is None or row[self.restore_best] > self.best[0]:
                self.best = (float(row[self.restore_best]), epoch + 1, self.model.get_weights())
        if self.checkpoint is not None:
            self.save(epoch + 1)

    def save(self, epoch):
        """Write the state after ``epoch`` epochs to the checkpoint (a killed save keeps the last one)."""
        keys, values = self.hist.table()
        optimizer = [keras.ops.convert_to_numpy(v) for v in self.model.optimizer.variables]
        arrays = {"epoch": np.array(epoch), "history_keys": np.array(keys, dtype=str), "history_rows": values,
                  **_numbered("weight", self.model.get_weights()), **_numbered("optimizer", optimizer)}
        if self.best is not None:
            arrays.update({"best_metric": np.array(self.restore_best), "best_value": np.array(self.best[0]),
                           "best_epoch": np.array(self.best[1]), **_numbered("best_weight", self.best[2])})
        partial = Path(self.checkpoint).with_name(Path(self.checkpoint).name + ".tmp")
        with open(partial, "wb") as f:
            np.savez(f, **arrays)
        partial.replace(self.checkpoint)

    def load(self):
        """Restore model, optimizer, history and best epoch from the checkpoint; returns its epoch."""
        with np.load(self.checkpoint, allow_pickle=False) as state:
            if self.restore_best is not None and ("best_metric" not in state
                                                  or str(state["best_metric"]) != self.restore_best):
                raise ValueError(f"checkpoint {self.checkpoint} keeps no best weights by {self.restore_best!r} (it "
                                 f"was written without restore_best, or by another metric); delete it to train "
                                 f"that row again")
            self.model.set_weights(_unnumbered(state, "weight"))
            optimizer = self.model.optimizer
            optimizer.build(self.model.trainable_variables)
            saved = _unnumbered(state, "optimizer")
            if len(saved) != len(optimizer.variables):
                raise ValueError(f"checkpoint {self.checkpoint} holds {len(saved)} optimizer variables, the "
                                 f"optimizer has {len(optimizer.variables)}: not this run's; delete it")
            for variable, value in zip(optimizer.variables, saved):
                variable.assign(value)
            if self.restore_best is not None:
                self.best = (float(state["best_value"]), int(state["best_epoch"]), _unnumbered(state, "best_weight"))
            self.hist.rows = History.from_table(state["history_keys"].tolist(), state["history_rows"]).rows
            epoch = int(state["epoch"])
        self.t0 = time.perf_counter() - (self.hist.rows[-1]["wall_time_s"] if self.hist.rows else 0.0)
        print(f"resumed from {self.checkpoint} after epoch {epoch}")
        return epoch

    def restore(self):
        """Load the best epoch's weights into the model (after the last epoch)."""
        if self.best is not None:
            self.model.set_weights(self.best[2])
            self.hist.best_epoch = self.best[1]


def _numbered(prefix, arrays) -> dict:
    return {f"{prefix}_{i}": np.asarray(a) for i, a in enumerate(arrays)}


def _unnumbered(state, prefix) -> list:
    arrays = []
    while f"{prefix}_{len(arrays)}" in state.files:
        arrays.append(state[f"{prefix}_{len(arrays)}"])
    return arrays


def _dense_gradients(optimizer_cls):
    """``optimizer_cls`` with sparse (``IndexedSlices``) gradients summed into a dense tensor
    before each update. Keras 3.15's TensorFlow backend squares an embedding gradient's rows
    *per occurrence* (``ops.square`` keeps the ``IndexedSlices``), so Adam's second moment for a
    row used n times in a batch is the sum of squares instead of the square of the sum and its
    step grows up to sqrt(n) times (tests/test_bce.py; notebook 03). PyTorch and Keras's torch
    backend already pass dense gradients; this makes TensorFlow do the same."""

    class DenseGradients(optimizer_cls):
        def update_step(self, gradient, variable, learning_rate):
            if type(gradient).__name__ == "IndexedSlices":
                gradient = keras.ops.add(keras.ops.zeros_like(variable), gradient)
            return super().update_step(gradient, variable, learning_rate)

    DenseGradients.__name__ = optimizer_cls.__name__
    return DenseGradients


def fit(model, x, y, *, epochs: int, loss, lr: float = 1e-3, batch_size: int = 256,
        evaluate=None, seed: int = 0, optimizer: str = "adam", weight_decay: float = 0.0,
        metrics=None, progress: bool = True, shuffle: bool = True, jit_compile="auto",
        adam_beta2: float = 0.999, restore_best: str | None = None,
        checkpoint: str | Path | None = None) -> History:
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if checkpoint is not None and not callable(x):
        raise ValueError("checkpoint needs x(epoch, rng): a run resumes epoch by epoch")
    if restore_best is not None and evaluate is None:
        raise ValueError(f"restore_best={restore_best!r} needs an evaluate function that returns it")
    keras.utils.set_random_seed(seed)
    opt = {"adam": lambda: _dense_gradients(keras.optimizers.Adam)(lr, beta_2=adam_beta2),
           "adamw": lambda: _dense_gradients(keras.optimizers.AdamW)(lr, weight_decay=weight_decay,
                                                                     beta_2=adam_beta2),
           "sgd": lambda: _dense_gradients(keras.optimizers.SGD)(lr)}[optimizer]()
    model.compile(optimizer=opt, loss=loss, metrics=metrics or [], jit_compile=jit_compile)
    history = History()
    per_epoch = _EpochEval(evaluate, history, time.perf_counter(), restore_best, checkpoint)
    per_epoch.set_model(model)
    if callable(x):  # fresh data every epoch: x(epoch, rng) -> (inputs, targets), as torch's batches
        start = per_epoch.load() if checkpoint is not None and Path(checkpoint).exists() else 0
        for epoch in range(start, epochs):
            xe, ye = x(epoch, np.random.default_rng([seed, epoch]))
            model.fit(xe, ye, initial_epoch=epoch, epochs=epoch + 1, batch_size=batch_size,
                      shuffle=shuffle, verbose=2 if progress else 0, callbacks=[per_epoch])
    else:
        model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                  verbose=2 if progress else 0, callbacks=[per_epoch])
    per_epoch.restore()
    return history


def predict(model, inputs, batch_size: int = 8192) -> np.ndarray:
    return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))
