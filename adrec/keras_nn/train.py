"""The one Keras training loop of the companion: ``model.compile`` + ``model.fit`` (so it runs on
every backend), wrapped to return the same :class:`adrec.history.History` as the PyTorch loop.

``evaluate(model)`` (optional) returns a dict of metrics after each epoch, as in
:func:`adrec.torch_nn.train.fit`. ``x`` may also be a function ``x(epoch, rng) -> (inputs,
targets)`` (``y`` None) giving fresh training data every epoch — e.g. resampled negatives — with
``rng = numpy.random.default_rng([seed, epoch])``, the rng the PyTorch loop hands its ``batches``;
the model is compiled once, so the optimizer state carries over between epochs. With
``restore_best="hr@10"`` the model ends holding the weights of the epoch with the highest value of
that ``evaluate`` metric (the first of equal bests), as in the PyTorch loop.
"""
from __future__ import annotations

import time

import keras
import numpy as np

from ..history import History


class _EpochEval(keras.callbacks.Callback):
    def __init__(self, evaluate, history, t0, restore_best=None):
        super().__init__()
        self.evaluate, self.hist, self.t0, self.restore_best = evaluate, history, t0, restore_best
        self.best = None  # (value, epoch, weights) of restore_best

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

    def restore(self):
        """Load the best epoch's weights into the model (after the last epoch)."""
        if self.best is not None:
            self.model.set_weights(self.best[2])
            self.hist.best_epoch = self.best[1]


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
        adam_beta2: float = 0.999, restore_best: str | None = None) -> History:
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if restore_best is not None and evaluate is None:
        raise ValueError(f"restore_best={restore_best!r} needs an evaluate function that returns it")
    keras.utils.set_random_seed(seed)
    opt = {"adam": lambda: _dense_gradients(keras.optimizers.Adam)(lr, beta_2=adam_beta2),
           "adamw": lambda: _dense_gradients(keras.optimizers.AdamW)(lr, weight_decay=weight_decay,
                                                                     beta_2=adam_beta2),
           "sgd": lambda: _dense_gradients(keras.optimizers.SGD)(lr)}[optimizer]()
    model.compile(optimizer=opt, loss=loss, metrics=metrics or [], jit_compile=jit_compile)
    history = History()
    per_epoch = _EpochEval(evaluate, history, time.perf_counter(), restore_best)
    if callable(x):  # fresh data every epoch: x(epoch, rng) -> (inputs, targets), as torch's batches
        for epoch in range(epochs):
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
