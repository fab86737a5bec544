"""User-profile fusion click model in Keras 3 (``keras.ops`` only): the mirror image of
:mod:`adrec.torch_nn.fusion` (same names, same shapes), checked against :mod:`adrec.ref.fusion`
(where the model and the documents' formulas are explained).

``FusionCTR(sizes, item_tokens, dim, fusion, interaction)`` is called on the tuple of six inputs
(:attr:`adrec.data.histories.HistorySplit.inputs`) and returns (N,) logits;
``model.fusion_weights(inputs)`` gives the (N, L) weights of the history events. :func:`train`
fits it with the one Keras loop (:func:`adrec.keras_nn.train.fit`).
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ..ref.fusion import FUSIONS, INTERACTIONS, NEG



class DenseGradEmbedding(layers.Layer):
    """An embedding table whose gradient is a dense tensor on every backend.

    Keras 3 (checked with 3.15.1) on TensorFlow gets the gradient of a plain ``Embedding`` (a
    gather) as ``tf.IndexedSlices`` with one slice per lookup; its Adam squares that gradient
    slice by slice (``ops.square`` keeps the slices) and only then sums the slices of a row that was
    looked up several times in the batch. The second moment of such a row becomes
    ``sum_j g_j^2`` instead of ``(sum_j g_j)^2`` and the row moves up to ``sqrt(k)`` times too far
    for ``k`` lookups (PyTorch, and Keras on torch, are right). Multiplying the table by 1 before
    the gather turns the gradient into a dense tensor (duplicates summed first), so Adam is the
    same on every backend. The tables here are small (thousands of rows), so dense is cheap.
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings = self.add_weight(shape=(input_dim, output_dim), name="embeddings",
                                          initializer=keras.initializers.get(embeddings_initializer))

    def call(self, indices):
        return ops.take(self.embeddings * 1.0, ops.cast(indices, "int32"), axis=0)


def interaction_embedding(b, c, x):
    """Element-wise ``B ⊙ C ⊙ X`` (document 000 §4.2)."""
    return b * c * x


def user_profile(e, w):
    """``sum_i w_i e_i``: (N, L, d), (N, L) -> (N, d)."""
    return ops.sum(ops.expand_dims(w, -1) * e, axis=1)


def masked_softmax(scores, mask):
    s = ops.where(mask, scores, ops.full_like(scores, NEG))
    s = s - ops.max(s, axis=-1, keepdims=True)
    e = ops.exp(s) * ops.cast(mask, s.dtype)
    total = ops.sum(e, axis=-1, keepdims=True)
    return e / ops.where(total > 0, total, ops.ones_like(total))


def uniform_weights(mask):
    m = ops.cast(mask, "float32")
    return m / ops.maximum(ops.sum(m, axis=-1, keepdims=True), 1.0)


def recency_weights(age, mask, decay):
    rate = ops.softplus(decay)
    return masked_softmax(-rate * ops.cast(age, "float32"), mask)


class FusionCTR(keras.Model):
    """Click model with a fused user profile (see :mod:`adrec.ref.fusion`)."""

    def __init__(self, sizes: dict, item_tokens, dim: int = 16, fusion: str = "din",
                 interaction: str = "product", att_hidden: int = 16, mlp_hidden: int = 32,
                 init_std: float = 0.05, decay_init: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if interaction not in INTERACTIONS:
            raise ValueError(f"interaction must be one of {INTERACTIONS}, got {interaction!r}")
        self.fusion, self.interaction, self.dim = fusion, interaction, dim
        self.sizes = dict(sizes)
        self.item_tokens = np.asarray(item_tokens, dtype="int32")
        init = lambda: keras.initializers.RandomNormal(stddev=init_std)  # noqa: E731
        self.content = DenseGradEmbedding(sizes["n_content"], dim, embeddings_initializer=init(), name="content")
        self.beh = DenseGradEmbedding(sizes["n_beh"], dim, embeddings_initializer=init(), name="beh")
        self.ctx = DenseGradEmbedding(sizes["n_ctx"], dim, embeddings_initializer=init(), name="ctx")
        dense = lambda n, name: layers.Dense(n, kernel_initializer="glorot_uniform",  # noqa: E731
                                             bias_initializer="zeros", name=name)
        if fusion == "recency":
            self.decay = self.add_weight(shape=(), initializer=keras.initializers.Constant(decay_init),
                                         name="decay")
        if fusion == "din":
            self.att1, self.att2 = dense(att_hidden, "att1"), dense(1, "att2")
        if interaction == "concat":
            self.int_proj = dense(dim, "int_proj")
        self.mlp1, self.mlp2 = dense(mlp_hidden, "mlp1"), dense(1, "mlp2")

    def content_table(self):
        tok = ops.convert_to_tensor(self.item_tokens, dtype="int32")
        m = ops.expand_dims(ops.cast(tok > 0, "float32"), -1)
        return ops.sum(self.content(tok) * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)

    def _parts(self, inputs):
        target_item, row_ctx, hist_item, hist_beh, hist_ctx, hist_age = inputs
        C_all = self.content_table()
        q = ops.take(C_all, ops.cast(target_item, "int32"), axis=0)
        c = ops.take(C_all, ops.cast(hist_item, "int32"), axis=0)
        b = 1.0 + self.beh(hist_beh)
        x = 1.0 + ops.sum(self.ctx(hist_ctx), axis=-2)
        if self.interaction == "product":
            e = interaction_embedding(b, c, x)
        else:
            e = self.int_proj(ops.concatenate([b, c, x], axis=-1))
        mask = hist_item > 0
        if self.fusion == "mean":
            w = uniform_weights(mask)
        elif self.fusion == "recency":
            w = recency_weights(hist_age, mask, self.decay)
        else:
            qb = ops.broadcast_to(ops.expand_dims(q, 1), ops.shape(e))
            z = ops.concatenate([e, qb, e * qb, e - qb], axis=-1)
            w = masked_softmax(ops.squeeze(self.att2(ops.relu(self.att1(z))), -1), mask)
        return q, e, w

    def fusion_weights(self, inputs):
        return self._parts(tuple(inputs))[2]

    def call(self, inputs):
        inputs = tuple(inputs)
        q, e, w = self._parts(inputs)
        p = user_profile(e, w)
        x = ops.sum(self.ctx(inputs[1]), axis=1)
        h = ops.relu(self.mlp1(ops.concatenate([p, q, p * q, x], axis=-1)))
        return ops.squeeze(self.mlp2(h), -1)


_LINEARS = {"att1": ("att_w1", "att_b1"), "att2": ("att_w2", "att_b2"), "int_proj": ("int_w", "int_b"),
            "mlp1": ("mlp_w1", "mlp_b1"), "mlp2": ("mlp_w2", "mlp_b2")}


def build(model: FusionCTR, max_len: int = 2):
    """Create the weights of ``model`` by calling it once on a dummy batch."""
    s = model.sizes
    model((np.ones((1,), "int32"), np.zeros((1, s["n_row_ctx"]), "int32"),
           np.ones((1, max_len), "int32"), np.zeros((1, max_len), "int32"),
           np.zeros((1, max_len, s["n_hist_ctx"]), "int32"), np.zeros((1, max_len), "int32")))
    return model


def load_params(model: FusionCTR, params: dict) -> FusionCTR:
    """Copy an :mod:`adrec.ref.fusion` parameter dict into ``model``."""
    f = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    build(model)
    for name in ("content", "beh", "ctx"):
        getattr(model, name).embeddings.assign(f(params[name]))
    if model.fusion == "recency":
        model.decay.assign(f(params["decay"]).reshape(()))
    for attr, (w, b) in _LINEARS.items():
        if hasattr(model, attr):
            getattr(model, attr).kernel.assign(f(params[w]))
            getattr(model, attr).bias.assign(f(params[b]).reshape(-1))
    return model


def model_params(model: FusionCTR) -> dict:
    """The parameters of ``model`` as an :mod:`adrec.ref.fusion` dict of numpy arrays."""
    n = lambda v: np.asarray(ops.convert_to_numpy(v), dtype=np.float32)  # noqa: E731
    build(model)
    out = {name: n(getattr(model, name).embeddings) for name in ("content", "beh", "ctx")}
    if model.fusion == "recency":
        out["decay"] = np.float32(n(model.decay))
    for attr, (w, b) in _LINEARS.items():
        if hasattr(model, attr):
            out[w], out[b] = n(getattr(model, attr).kernel), n(getattr(model, attr).bias)
    return out


def build_fusion(task, *, fusion: str, interaction: str = "product", dim: int = 16, att_hidden: int = 16,
                 mlp_hidden: int = 32):
    """A fresh :class:`FusionCTR`, built (the mirror of :func:`adrec.torch_nn.fusion.build_fusion`)."""
    return build(FusionCTR(task.sizes, task.item_tokens, dim=dim, fusion=fusion, interaction=interaction,
                           att_hidden=att_hidden, mlp_hidden=mlp_hidden))


def fusion_training(task, batch_size: int):
    """``(loss, data)`` for :func:`adrec.keras_nn.train.fit` (``batch_size`` goes to ``fit``)."""
    return keras.losses.BinaryCrossentropy(from_logits=True), (task.train.inputs, task.train.y)
