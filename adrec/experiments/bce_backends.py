"""Notebook 03's measurements that depend on the Keras backend, runnable in-process (on the backend
Keras was imported with) or in a fresh process for another backend:

    python -m adrec.experiments.bce_backends --backend torch [--epochs 3 --batch-size 32]

prints one JSON object (the last line of stdout) with

* ``loss_grid``: per-sample BCE on a fixed grid of logits (moderate to +-1e4) computed by Keras
  ``BinaryCrossentropy(from_logits=True)`` on logits, ``BinaryCrossentropy()`` on probabilities
  (given as a plain array, and as the output of ``keras.ops.sigmoid``) and
  :func:`adrec.keras_nn.bce.bce_with_logits`, next to the float64 reference;
* ``misuse``: the click model of document 004 §5.2 (Dense(128, relu) -> Dense(1)) trained on the
  Criteo head's numeric features four ways - a sigmoid output with ``from_logits=True`` (the
  document's combination: probabilities where logits are expected), a linear output with
  ``from_logits=False`` (logits where probabilities are expected), and the two correct pairings -
  with the loss Keras reports next to the true log-loss of the probabilities the model would serve,
  AUC, calibration error, reliability bins and the warnings Keras issued.

The backend must be chosen before Keras is imported: :func:`main` sets it, then imports.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np

GRID_LOGITS = (-1e4, -100.0, -20.0, -5.0, -1.0, 0.0, 1.0, 5.0, 20.0, 100.0, 1e4)
SCENARIOS = {
    # name: (output activation, from_logits, what the served probability is)
    "probs_as_logits": ("sigmoid", True, "output"),
    "logits_as_probs": (None, False, "sigmoid(output)"),
    "correct_probs": ("sigmoid", False, "output"),
    "correct_logits": (None, True, "sigmoid(output)"),
}


def grid():
    """Every grid logit with label 1 and with label 0: (y, s) as float32 arrays."""
    s = np.array(GRID_LOGITS * 2, dtype=np.float32)
    y = np.array([1.0] * len(GRID_LOGITS) + [0.0] * len(GRID_LOGITS), dtype=np.float32)
    return y, s


def loss_grid() -> dict:
    """Per-sample losses of every Keras way of computing BCE on :func:`grid` (see module doc)."""
    import keras

    from ..keras_nn.bce import bce_with_logits
    from ..ref import bce as ref

    y, s = grid()
    col = lambda a: np.asarray(a, dtype=np.float32).reshape(-1, 1)  # noqa: E731  (N, 1): one per row
    per_sample = lambda loss, yt, out: np.asarray(keras.ops.convert_to_numpy(  # noqa: E731
        loss(yt, out)), dtype=np.float64).ravel()
    with_logits = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
    with_probs = keras.losses.BinaryCrossentropy(from_logits=False, reduction=None)
    p_array = ref.sigmoid(s.astype(np.float32))  # probabilities as a plain float32 array
    p_op = keras.ops.sigmoid(keras.ops.convert_to_tensor(col(s)))  # probabilities from a Keras op
    return {
        "backend": keras.backend.backend(),
        "y": y.tolist(), "s": s.astype(np.float64).tolist(),
        "reference_float64": ref.bce_with_logits(y.astype(np.float64), s.astype(np.float64)).tolist(),
        "keras_from_logits": per_sample(with_logits, col(y), col(s)).tolist(),
        "keras_probs_array": per_sample(with_probs, col(y), col(p_array)).tolist(),
        "keras_probs_from_sigmoid_op": per_sample(with_probs, col(y), p_op).tolist(),
        "adrec_keras_bce_with_logits": np.asarray(keras.ops.convert_to_numpy(
            bce_with_logits(y, s)), dtype=np.float64).tolist(),
    }


def listing_model(activation):
    """Document 004 §5.2's network: Dense(128, relu) then Dense(1, ``activation``)."""
    import keras
    from keras import layers

    return keras.Sequential([layers.Dense(128, activation="relu"), layers.Dense(1, activation=activation)])


def misuse(epochs: int = 3, batch_size: int = 32, lr: float = 1e-3, seed: int = 0, n_bins: int = 10,
           task=None) -> dict:
    """Train :func:`listing_model` in every :data:`SCENARIOS` pairing on the Criteo head's numeric
    features; report what Keras says the loss is and what the served probabilities really score."""
    import keras

    from ..calibration import reliability_bins
    from ..data.ctr import ctr_task
    from ..keras_nn.train import fit, predict
    from ..metrics import log_loss, roc_auc
    from ..ref.bce import sigmoid

    task = task or ctr_task("criteo")
    x_tr, y_tr = task.train.num, task.train.y
    x_te, y_te = task.test.num, task.test.y
    out = {"backend": keras.backend.backend(), "epochs": epochs, "batch_size": batch_size,
           "test_ctr": float(y_te.mean()), "scenarios": {}}
    for name, (activation, from_logits, served) in SCENARIOS.items():
        keras.utils.set_random_seed(seed)
        model = listing_model(activation)
        loss = keras.losses.BinaryCrossentropy(from_logits=from_logits)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hist = fit(model, loss, (x_tr, y_tr), epochs=epochs, lr=lr, batch_size=batch_size,
                       seed=seed, progress=False)
            reported = float(model.evaluate(x_te, y_te, batch_size=1024, verbose=0))
        output = predict(model, x_te).astype(np.float64).ravel()
        p = output if served == "output" else sigmoid(output)
        bins = reliability_bins(y_te, p, n_bins=n_bins)
        messages = sorted({str(w.message) for w in caught if "from_logits" in str(w.message)})
        out["scenarios"][name] = {
            "activation": activation or "linear", "from_logits": from_logits, "served": served,
            "train_loss_curve": [float(v) for v in hist.frame().train_loss],
            "reported_loss": reported, "true_logloss": log_loss(y_te, p), "auc": roc_auc(y_te, p),
            "mean_pred": float(p.mean()), "min_pred": float(p.min()), "max_pred": float(p.max()),
            "ece": bins.ece(), "n_warnings": len([w for w in caught if "from_logits" in str(w.message)]),
            "warnings": messages,
            "bins": {"count": bins.count.tolist(), "mean_pred": np.nan_to_num(bins.mean_pred, nan=-1).tolist(),
                     "rate": np.nan_to_num(bins.rate, nan=-1).tolist()},
        }
    return out


def run_all(epochs: int = 3, batch_size: int = 32, lr: float = 1e-3, seed: int = 0) -> dict:
    return {"loss_grid": loss_grid(), "misuse": misuse(epochs, batch_size, lr, seed)}


def run_in_subprocess(backend: str, epochs: int, batch_size: int, lr: float = 1e-3, seed: int = 0,
                      timeout: int = 600) -> dict:
    """Run :func:`run_all` in a fresh Python with ``KERAS_BACKEND=backend``; returns its JSON."""
    import subprocess

    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "adrec.experiments.bce_backends", "--backend", backend,
           "--epochs", str(epochs), "--batch-size", str(batch_size), "--lr", str(lr), "--seed", str(seed)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m adrec.experiments.bce_backends", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", required=True, choices=["tensorflow", "torch", "jax"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from .. import env

    env.set_keras_backend(args.backend)
    env.seed_everything(args.seed)
    result = run_all(args.epochs, args.batch_size, args.lr, args.seed)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
