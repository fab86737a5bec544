"""Binary cross-entropy and the LR / MLP click models in Keras 3 (``keras.ops`` only): the mirror
image of :mod:`adrec.torch_nn.bce` (same names, same shapes), checked against
:mod:`adrec.ref.bce`.

Models take ``inputs`` = ``cat`` or ``(cat, num)`` (Keras passes one ``x``; a tuple/list is split
into the two arrays) and return (N,) logits. Train them with
``keras.losses.BinaryCrossentropy(from_logits=True)`` (:func:`bce_loss`).
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ..ref.bce import check_l2


def bce_with_logits(y, s):
    """Per-sample loss from logits: ``-y log sigmoid(s) - (1 - y) log sigmoid(-s)`` with a stable
    log-sigmoid (smooth, gradient ``sigmoid(s) - y`` everywhere; see the PyTorch twin)."""
    s = ops.convert_to_tensor(s)
    y = ops.cast(y, s.dtype)
    return -y * ops.log_sigmoid(s) - (1 - y) * ops.log_sigmoid(-s)


def bce_from_probs(y, p, eps: float = 1e-7):
    """Per-sample loss from probabilities clipped to ``[eps, 1 - eps]``."""
    p = ops.clip(ops.convert_to_tensor(p), eps, 1 - eps)
    y = ops.cast(y, p.dtype)
    return -(y * ops.log(p) + (1 - y) * ops.log(1 - p))


def bce_loss():
    """The training loss of the click models: mean BCE of logits."""
    return keras.losses.BinaryCrossentropy(from_logits=True)


def _split(inputs):
    if isinstance(inputs, (list, tuple)):
        return inputs[0], (inputs[1] if len(inputs) > 1 else None)
    return inputs, None


class LogisticRegression(keras.Model):
    """``s = b + sum_f w_cat[cat[:, f]] + num @ w_num`` -> (N,) logits.

    ``l2`` > 0: while training, ``penalty() = l2/2 * (|w_cat|^2 + |w_num|^2)`` (the bias is not
    penalised) is added with ``add_loss``, so the mean BCE plus it is the objective of the PyTorch
    twin; ``l2 = 1 / (C * N)`` on N training rows is scikit-learn's ``LogisticRegression(C=C)``."""

    def __init__(self, n_buckets: int, n_fields: int, n_numeric: int = 0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.n_buckets, self.n_fields, self.n_numeric, self.l2 = n_buckets, n_fields, n_numeric, check_l2(l2)
        self.w_cat = layers.Embedding(n_buckets, 1, embeddings_initializer="zeros", name="w_cat")
        self.w_num = (self.add_weight(shape=(n_numeric,), initializer="zeros", name="w_num")
                      if n_numeric else None)
        self.bias = self.add_weight(shape=(), initializer="zeros", name="bias")

    def call(self, inputs, training=False):
        cat, num = _split(inputs)
        s = ops.sum(ops.squeeze(self.w_cat(cat), -1), axis=1) + self.bias
        if self.n_numeric:
            s = s + ops.matmul(ops.cast(num, s.dtype), self.w_num)
        if training and self.l2:
            self.add_loss(self.penalty())
        return s

    def penalty(self):
        """``l2/2 * (|w_cat|^2 + |w_num|^2)``: the whole weight table, as scikit-learn's ``|w|^2``."""
        squares = ops.sum(ops.square(self.w_cat.embeddings))
        if self.n_numeric:
            squares = squares + ops.sum(ops.square(self.w_num))
        return 0.5 * self.l2 * squares


class MLP(keras.Model):
    """Field embeddings (shared hashed table) concatenated with numeric features, ReLU hidden
    layers, one linear output unit -> (N,) logits."""

    def __init__(self, n_buckets: int, n_fields: int, n_numeric: int = 0, embed_dim: int = 8,
                 hidden_sizes=(64, 32), init_std: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.n_buckets, self.n_fields, self.n_numeric = n_buckets, n_fields, n_numeric
        self.embed_dim = embed_dim
        self.emb = layers.Embedding(n_buckets, embed_dim, name="emb",
                                    embeddings_initializer=keras.initializers.RandomNormal(stddev=init_std))
        self.hidden = [layers.Dense(h, activation="relu", kernel_initializer="glorot_uniform",
                                    bias_initializer="zeros", name=f"hidden_{i}")
                       for i, h in enumerate(hidden_sizes)]
        self.out = layers.Dense(1, kernel_initializer="glorot_uniform", bias_initializer="zeros", name="out")

    def call(self, inputs):
        cat, num = _split(inputs)
        h = ops.reshape(self.emb(cat), (-1, self.n_fields * self.embed_dim))
        if self.n_numeric:
            h = ops.concatenate([h, ops.cast(num, h.dtype)], axis=1)
        for layer in self.hidden:
            h = layer(h)
        return ops.squeeze(self.out(h), -1)


def build(model):
    """Create the weights of ``model`` by calling it once on a dummy batch."""
    cat = np.zeros((1, model.n_fields), dtype="int32")
    model((cat, np.zeros((1, model.n_numeric), dtype="float32")) if model.n_numeric else cat)
    return model


def load_params(model, params: dict):
    """Copy an :mod:`adrec.ref.bce` parameter dict into ``model`` (LogisticRegression or MLP)."""
    f = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    build(model)
    if isinstance(model, LogisticRegression):
        model.w_cat.embeddings.assign(f(params["w_cat"]).reshape(-1, 1))
        if model.n_numeric:
            model.w_num.assign(f(params["w_num"]).reshape(-1))
        model.bias.assign(f(params["b"]).reshape(()))
    else:
        model.emb.embeddings.assign(f(params["emb"]))
        for layer, (w, b) in zip(model.hidden, params["hidden"]):
            layer.kernel.assign(f(w))
            layer.bias.assign(f(b))
        model.out.kernel.assign(f(params["w_out"]))
        model.out.bias.assign(f(params["b_out"]))
    return model


def model_params(model) -> dict:
    """The parameters of ``model`` as an :mod:`adrec.ref.bce` dict of numpy arrays."""
    n = lambda v: np.asarray(ops.convert_to_numpy(v), dtype=np.float32)  # noqa: E731
    build(model)
    if isinstance(model, LogisticRegression):
        return {"w_cat": n(model.w_cat.embeddings).reshape(-1),
                "w_num": n(model.w_num) if model.n_numeric else np.zeros(0, np.float32),
                "b": np.float32(n(model.bias))}
    return {"emb": n(model.emb.embeddings),
            "hidden": [(n(layer.kernel), n(layer.bias)) for layer in model.hidden],
            "w_out": n(model.out.kernel), "b_out": n(model.out.bias)}


def make_model(kind: str, n_buckets: int, n_fields: int, n_numeric: int = 0, embed_dim: int = 8,
               hidden_sizes=(64, 32), init_std: float = 0.01, l2: float = 0.0):
    """``"lr"`` -> :class:`LogisticRegression` (L2 penalty ``l2``), ``"mlp"`` -> :class:`MLP` (no penalty)."""
    if kind == "lr":
        return LogisticRegression(n_buckets, n_fields, n_numeric, l2)
    if kind == "mlp":
        if l2:
            raise ValueError(f"l2={l2!r}: the L2 penalty is the logistic regression's; the MLP has none")
        return MLP(n_buckets, n_fields, n_numeric, embed_dim, hidden_sizes, init_std)
    raise ValueError(f"kind must be 'lr' or 'mlp', got {kind!r}")


def _x(split):
    return list(split.inputs) if len(split.inputs) > 1 else split.inputs[0]


def click_inputs(split):
    """The model inputs of a :class:`adrec.data.ctr.CTRSplit`, as :func:`adrec.keras_nn.train.predict` takes them."""
    return _x(split)


def click_training(task, batch_size: int):
    """``(loss, data)`` for :func:`adrec.keras_nn.train.fit` (``batch_size`` goes to ``fit``)."""
    return bce_loss(), (click_inputs(task.train), task.train.y)
