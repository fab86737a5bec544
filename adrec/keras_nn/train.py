"""The one Keras training loop of the companion: ``model.compile`` + ``model.fit`` (so it runs on
every backend), the mirror image of :func:`adrec.torch_nn.train.fit`: same public names, same
signatures (``tests/test_backend_contract.py``), the same :class:`adrec.history.History` back.

``fit(model, loss, data, ...)``: ``loss`` is a Keras loss; ``data`` is a function ``data(epoch, rng)
-> (inputs, targets)`` giving fresh training data every epoch (e.g. resampled negatives), with
``rng = numpy.random.default_rng([seed, epoch])``, the rng the PyTorch loop hands its batches, or a
tuple ``(inputs, targets)`` of arrays. With ``shuffle`` the epoch's rows are put in the order of
``rng.permutation`` (the order the PyTorch loop uses) and Keras's own
shuffle is off: its draws come from a backend-global generator that no checkpoint can restore. The
model is compiled once, so the optimizer state carries over between epochs. ``evaluate(model)``
(optional) returns a dict of metrics after each epoch. With ``restore_best="hr@10"`` the model ends
holding the weights of the epoch with the highest value of that ``evaluate`` metric (the first of
equal bests). With ``checkpoint`` (a ``.npz`` path) every model variable (dropout's seed-generator
states included), the optimizer's variables, Keras's global seed generator, numpy's and Python's
global generators, the history, the best epoch's weights and ``settings_key`` are saved after every
epoch; a rerun with the same key resumes after the last finished epoch and ends as an uninterrupted
run would, and a checkpoint of another key is refused (:class:`CheckpointMismatch`). Files are read
with ``allow_pickle=False``.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

import keras
import numpy as np
from tqdm.auto import tqdm

from ..history import History


class CheckpointMismatch(ValueError):
    """A checkpoint made under other settings (or another kind of run) than the one resuming it."""


def framework_tag() -> str:
    """What trained a row, as its file names say: ``keras-<backend>`` (the backend Keras runs on),
    so a Keras row on torch neither overwrites a Keras row on TensorFlow nor resumes its checkpoint."""
    return f"keras-{keras.config.backend()}"


def set_seed(seed: int) -> None:
    """Seed the generators a fresh model draws its weights from (Keras's, the backend's, numpy's)."""
    keras.utils.set_random_seed(seed)


def _global_seed_state():
    """Keras's global seed generator (draws of ``keras.random`` calls given no seed), if created."""
    from keras.src.random import seed_generator

    return seed_generator.global_seed_generator().state


class _EpochEval(keras.callbacks.Callback):
    def __init__(self, evaluate, history, t0, restore_best=None, checkpoint=None, settings_key=None):
        super().__init__()
        self.evaluate, self.hist, self.t0, self.restore_best = evaluate, history, t0, restore_best
        self.best = None  # (value, epoch, weights) of restore_best
        self.checkpoint, self.settings_key = checkpoint, settings_key
        self.bar = None  # fit's progress bar over epochs, shown the epoch's metrics

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
        if self.bar is not None:
            self.bar.set_postfix({k: round(v, 4) for k, v in row.items() if k != "epoch"})
        if self.checkpoint is not None:
            self.save(epoch + 1)

    def save(self, epoch):
        """Write the state after ``epoch`` epochs to the checkpoint (a killed save keeps the last one)."""
        keys, values = self.hist.table()
        numpy = lambda variables: [keras.ops.convert_to_numpy(v) for v in variables]  # noqa: E731
        np_state, py_state = np.random.get_state(), random.getstate()
        arrays = {"epoch": np.array(epoch), "history_keys": np.array(keys, dtype=str), "history_rows": values,
                  "settings_key": np.array("" if self.settings_key is None else self.settings_key),
                  **_numbered("variable", numpy(self.model.variables)),
                  **_numbered("optimizer", numpy(self.model.optimizer.variables)),
                  "rng_keras": keras.ops.convert_to_numpy(_global_seed_state()),
                  "rng_numpy_keys": np_state[1], "rng_numpy_pos": np.array([np_state[2], np_state[3]]),
                  "rng_numpy_gauss": np.array(np_state[4]), "rng_python": np.array(py_state[1], dtype=np.int64),
                  "rng_python_gauss": np.array(np.nan if py_state[2] is None else py_state[2])}
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
            found = str(state["settings_key"]) if "settings_key" in state.files else None
            if found != ("" if self.settings_key is None else self.settings_key):
                raise CheckpointMismatch(
                    f"checkpoint {self.checkpoint} was written under settings {found!r}, this run's are "
                    f"{self.settings_key!r}: resuming it would train one row under two settings. Rerun with "
                    f"--restart (or delete the file) to train this row from scratch.")
            if self.restore_best is not None and ("best_metric" not in state
                                                  or str(state["best_metric"]) != self.restore_best):
                raise CheckpointMismatch(
                    f"checkpoint {self.checkpoint} keeps no best weights by {self.restore_best!r} (it was written "
                    f"without restore_best, or by another metric); rerun with --restart (or delete it) to train "
                    f"that row again")
            for variable, value in zip(self.model.variables, _unnumbered(state, "variable"), strict=True):
                variable.assign(value)
            optimizer = self.model.optimizer
            optimizer.build(self.model.trainable_variables)
            saved = _unnumbered(state, "optimizer")
            if len(saved) != len(optimizer.variables):
                raise CheckpointMismatch(f"checkpoint {self.checkpoint} holds {len(saved)} optimizer variables, "
                                         f"the optimizer has {len(optimizer.variables)}: not this run's; rerun "
                                         f"with --restart (or delete it)")
            for variable, value in zip(optimizer.variables, saved):
                variable.assign(value)
            if self.restore_best is not None:
                self.best = (float(state["best_value"]), int(state["best_epoch"]), _unnumbered(state, "best_weight"))
            _global_seed_state().assign(state["rng_keras"])
            pos, has_gauss = (int(v) for v in state["rng_numpy_pos"])
            np.random.set_state(("MT19937", state["rng_numpy_keys"], pos, has_gauss, float(state["rng_numpy_gauss"])))
            gauss = float(state["rng_python_gauss"])
            random.setstate((3, tuple(int(v) for v in state["rng_python"]), None if np.isnan(gauss) else gauss))
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


def _epoch_data(data, epoch, rng, shuffle: bool):
    """The epoch's ``(inputs, targets)``, rows in ``rng.permutation`` order when ``shuffle``."""
    inputs, targets = data(epoch, rng) if callable(data) else data
    if not shuffle:
        return inputs, targets
    order = rng.permutation(len(targets))
    pick = lambda a: np.asarray(a)[order]  # noqa: E731
    return (tuple(pick(a) for a in inputs) if isinstance(inputs, (tuple, list)) else pick(inputs)), pick(targets)


def fit(model, loss, data, *, epochs: int, lr: float = 1e-3, optimizer: str = "adam",
        weight_decay: float = 0.0, adam_beta2: float = 0.999, batch_size: int = 256, shuffle: bool = True,
        evaluate=None, restore_best: str | None = None, checkpoint: str | Path | None = None,
        settings_key: str | None = None, seed: int = 0, device: str = "cpu", progress: bool = True,
        desc: str = "train", jit_compile="auto") -> History:
    """Train ``model`` for ``epochs`` epochs (module docstring); returns its :class:`History`. Keras
    places the work on its backend's device; ``device`` is recorded by the caller, not forced here."""
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}")
    if restore_best is not None and evaluate is None:
        raise ValueError(f"restore_best={restore_best!r} needs an evaluate function that returns it")
    if weight_decay and optimizer != "adamw":
        raise ValueError(f"weight_decay={weight_decay} with {optimizer!r}: Keras's {optimizer} has no coupled L2 "
                         f"to mirror PyTorch's; use optimizer='adamw' (decoupled) or weight_decay=0")
    if not callable(data) and not (isinstance(data, tuple) and len(data) == 2):
        raise ValueError("data must be data(epoch, rng) -> (inputs, targets) or a tuple (inputs, targets)")
    keras.utils.set_random_seed(seed)
    opt = {"adam": lambda: _dense_gradients(keras.optimizers.Adam)(lr, beta_2=adam_beta2),
           "adamw": lambda: _dense_gradients(keras.optimizers.AdamW)(lr, weight_decay=weight_decay,
                                                                     beta_2=adam_beta2),
           "sgd": lambda: _dense_gradients(keras.optimizers.SGD)(lr)}[optimizer]()
    model.compile(optimizer=opt, loss=loss, jit_compile=jit_compile)
    history = History()
    per_epoch = _EpochEval(evaluate, history, time.perf_counter(), restore_best, checkpoint, settings_key)
    per_epoch.set_model(model)
    start = per_epoch.load() if checkpoint is not None and Path(checkpoint).exists() else 0
    per_epoch.bar = bar = tqdm(range(start, epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        xe, ye = _epoch_data(data, epoch, np.random.default_rng([seed, epoch]), shuffle)
        model.fit(xe, ye, initial_epoch=epoch, epochs=epoch + 1, batch_size=batch_size, shuffle=False,
                  verbose=0, callbacks=[per_epoch])
    per_epoch.restore()
    return history


def checkpoint_epoch(checkpoint) -> int:
    """The number of epochs a ``fit`` checkpoint holds (0 when there is none), as the PyTorch twin."""
    if checkpoint is None or not Path(checkpoint).exists():
        return 0
    with np.load(checkpoint, allow_pickle=False) as state:
        return int(state["epoch"])


def predict(model, inputs, batch_size: int = 8192, device: str = "cpu") -> np.ndarray:
    """``model.predict`` in batches of ``batch_size``; returns a numpy array (on the backend's device)."""
    return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))
