"""Binary cross-entropy (log-loss) and the two click models of notebook 03, in numpy.

Document 004 (004_1b87cd4ae3e61fa1.txt) §4.1 trains by minimising the mean of per-impression
losses; §4.2 makes that loss the logistic loss of a score ``z`` passed through the sigmoid.
Written with the logit ``s`` (the score *before* the sigmoid) and the label ``y`` in {0, 1}:

    loss(y, s) = -y * log(sigmoid(s)) - (1 - y) * log(1 - sigmoid(s))

This module holds three ways of computing it:

* :func:`bce_naive` follows the document's expression literally, ``log(1 / (1 + e^-s))`` and
  ``log(e^-s / (1 + e^-s))``: ``e^-s`` overflows for very negative ``s`` and the result is
  ``inf`` or ``nan``;
* :func:`bce_with_logits` is the stable log-sum-exp form
  ``max(s, 0) - s*y + log(1 + e^-|s|)`` (never exponentiates a positive number);
* :func:`bce_from_probs` takes probabilities and clips them to ``[eps, 1 - eps]`` the way Keras
  does when ``from_logits=False``.

The click models (logistic regression and an MLP over hashed categorical fields plus numeric
features) are written here as plain forward passes over a parameter dict; the PyTorch and Keras
versions (:mod:`adrec.torch_nn.bce`, :mod:`adrec.keras_nn.bce`) load the same dict and must give
the same logits (parity tests).
"""
from __future__ import annotations

import numpy as np

KERAS_EPSILON = 1e-7  # keras.config.epsilon(): the clip of BinaryCrossentropy(from_logits=False)


def check_l2(l2: float) -> float:
    """The L2 weight of the logistic regression (:mod:`adrec.torch_nn.bce`, :mod:`adrec.keras_nn.bce`)
    as a float, or one ValueError when it is negative or not finite."""
    if not (np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    return float(l2)


def sigmoid(s):
    """1 / (1 + e^-s) without overflow (evaluates e^-|s| only)."""
    s = np.asarray(s)
    e = np.exp(-np.abs(s))
    return np.where(s >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(s, np.float32))


def log_sigmoid(s):
    """log(sigmoid(s)) = -log(1 + e^-s) = -(max(-s, 0) + log1p(e^-|s|))."""
    s = np.asarray(s)
    return -(np.maximum(-s, 0) + np.log1p(np.exp(-np.abs(s))))


def bce_naive(y, s):
    """Per-sample loss exactly as document 004 §4.2 writes it (the logit ``s`` in place of ``z``).

    Overflows: for ``s`` below about -88 (float32) or -709 (float64) ``e^-s`` is ``inf``.
    """
    y = np.asarray(y)
    s = np.asarray(s)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        e = np.exp(-s)
        return -y * np.log(1.0 / (1.0 + e)) - (1 - y) * np.log(e / (1.0 + e))


def naive_log_sigmoid(s):
    """``log(1 / (1 + e^-s))`` evaluated literally: ``-inf`` once ``e^-s`` overflows."""
    s = np.asarray(s)
    with np.errstate(over="ignore", divide="ignore"):
        return np.log(1.0 / (1.0 + np.exp(-s)))


def bce_with_logits(y, s):
    """Per-sample loss from logits, stable for every finite ``s``:
    ``max(s, 0) - s*y + log(1 + e^-|s|)`` (the log-sum-exp of ``{0, s}`` minus ``s*y``)."""
    y = np.asarray(y)
    s = np.asarray(s)
    return np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))


def bce_from_probs(y, p, eps: float = KERAS_EPSILON):
    """Per-sample loss from probabilities clipped to ``[eps, 1 - eps]`` (Keras ``from_logits=False``).

    The clip caps the loss at about ``-log(eps)`` (16.12 for eps = 1e-7): a confident wrong
    prediction costs at most that, however extreme its logit was.
    """
    y = np.asarray(y)
    p = np.clip(np.asarray(p), eps, 1 - eps)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def objective(per_sample_losses) -> float:
    """Document 004 §4.1: the training objective is the mean of the per-sample losses."""
    return float(np.mean(per_sample_losses))


def double_sigmoid_loss(y, s):
    """The §4.2 loss read literally, with ``z = sigmoid(s)`` fed to it (the sigmoid applied twice).

    The predicted probability becomes ``sigmoid(sigmoid(s))``, which stays inside (0.5, 0.7311):
    a positive costs at least ``log(1 + e^-1)`` = 0.3133 and a negative at least ``log 2``.
    """
    return bce_with_logits(y, sigmoid(s))


# ----------------------------------------------------------------------------------------------
# click models: parameters as a dict of numpy arrays
#
#   cat: (N, F) integer bucket ids (every field hashed into one shared table of B rows)
#   num: (N, D) float numeric features (or None when the dataset has none)
#
# logistic regression:  s = b + sum_f w_cat[cat[:, f]] + num @ w_num
# MLP:                  h0 = [emb[cat[:, 0]], ..., emb[cat[:, F-1]], num]   (N, F*d + D)
#                       h_k = relu(h_{k-1} @ W_k + b_k);  s = h_K @ W_out + b_out


def lr_logits(params: dict, cat, num=None) -> np.ndarray:
    """Logistic-regression logits, shape (N,)."""
    cat = np.asarray(cat)
    s = params["w_cat"][cat].sum(axis=1) + params["b"]
    if num is not None:
        s = s + np.asarray(num) @ params["w_num"]
    return s


def mlp_logits(params: dict, cat, num=None) -> np.ndarray:
    """MLP logits, shape (N,): field embeddings concatenated with the numeric features, ReLU
    hidden layers, one linear output unit."""
    cat = np.asarray(cat)
    h = params["emb"][cat].reshape(cat.shape[0], -1)
    if num is not None:
        h = np.concatenate([h, np.asarray(num, dtype=h.dtype)], axis=1)
    for w, b in params["hidden"]:
        h = np.maximum(h @ w + b, 0)
    return (h @ params["w_out"] + params["b_out"]).reshape(-1)


def _glorot(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def init_lr_params(n_buckets: int, n_numeric: int, rng, scale: float = 0.1) -> dict:
    """Random LR parameters (for parity tests: non-zero everywhere)."""
    return {"w_cat": (rng.normal(size=n_buckets) * scale).astype(np.float32),
            "w_num": (rng.normal(size=n_numeric) * scale).astype(np.float32),
            "b": np.float32(rng.normal() * scale)}


def init_mlp_params(n_buckets: int, n_fields: int, n_numeric: int, embed_dim: int,
                    hidden_sizes, rng, scale: float = 0.1) -> dict:
    """Random MLP parameters (for parity tests)."""
    sizes = [n_fields * embed_dim + n_numeric, *hidden_sizes]
    return {"emb": (rng.normal(size=(n_buckets, embed_dim)) * scale).astype(np.float32),
            "hidden": [(_glorot(rng, a, b), (rng.normal(size=b) * scale).astype(np.float32))
                       for a, b in zip(sizes[:-1], sizes[1:])],
            "w_out": _glorot(rng, sizes[-1], 1),
            "b_out": (rng.normal(size=1) * scale).astype(np.float32)}
