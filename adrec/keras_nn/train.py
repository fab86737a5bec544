"""The one Keras training loop of the companion: ``model.compile`` + ``model.fit`` (so it runs on
every backend), wrapped to return the same :class:`adrec.history.History` as the PyTorch loop.

``evaluate(model)`` (optional) returns a dict of metrics after each epoch, as in
:func:`adrec.torch_nn.train.fit`.
"""
from __future__ import annotations

import time

import keras
import numpy as np

from ..history import History


class _EpochEval(keras.callbacks.Callback):
    def __init__(self, evaluate, history, t0):
        super().__init__()
        self.evaluate, self.hist, self.t0 = evaluate, history, t0

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "train_loss": float(logs["loss"])}
        if self.evaluate is not None:
            row.update(self.evaluate(self.model))
        row["wall_time_s"] = time.perf_counter() - self.t0
        self.hist.add(**row)


def fit(model, x, y, *, epochs: int, loss, lr: float = 1e-3, batch_size: int = 256,
        evaluate=None, seed: int = 0, optimizer: str = "adam", weight_decay: float = 0.0,
        metrics=None, progress: bool = True, shuffle: bool = True, jit_compile="auto") -> History:
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    keras.utils.set_random_seed(seed)
    opt = {"adam": lambda: keras.optimizers.Adam(lr),
           "adamw": lambda: keras.optimizers.AdamW(lr, weight_decay=weight_decay),
           "sgd": lambda: keras.optimizers.SGD(lr)}[optimizer]()
    model.compile(optimizer=opt, loss=loss, metrics=metrics or [], jit_compile=jit_compile)
    history = History()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
              verbose=2 if progress else 0,
              callbacks=[_EpochEval(evaluate, history, time.perf_counter())])
    return history


def predict(model, inputs, batch_size: int = 8192) -> np.ndarray:
    return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))
