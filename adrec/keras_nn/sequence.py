"""Keras 3 sequence models (``keras.ops`` only), mirror images of :mod:`adrec.torch_nn.sequence`:
same class names, constructor arguments, sub-layer names and shapes; :func:`params` /
:func:`load_params` read and write the same numpy dict (Keras layout, :mod:`adrec.ref.sequence`).

``LSTMUserTower(tokens)`` -> (B, h); ``TwoTowerLSTM((user_tokens, ad_tokens))`` -> logits (B,);
``GRU4Rec`` / ``SASRec((seq, pos, neg))`` -> logits (B, L, 2), ``model.score(seq, items)`` -> (B, C).
:func:`next_item_loss` (``y_true`` = the positives, 0 = padding) is SASRec's BCE, the same objective
as the PyTorch one; :func:`next_item_data` feeds :func:`adrec.keras_nn.train.fit` with the same
per-epoch negatives as the PyTorch batches for the same seed.
"""
from __future__ import annotations

import math
import random

import keras
import numpy as np
from keras import ops


def _dense(n_in, n_out, name):
    layer = keras.layers.Dense(n_out, kernel_initializer="glorot_uniform", bias_initializer="zeros", name=name)
    layer.build((None, n_in))
    return layer


def _embedding(n, d, name, initializer=None):
    """An Embedding layer, built; by default uniform in [-0.05, 0.05] with a seed drawn now (after
    ``keras.utils.set_random_seed``), so each seed gives other weights and no import order matters."""
    initializer = initializer or keras.initializers.RandomUniform(-0.05, 0.05)
    layer = keras.layers.Embedding(n, d, embeddings_initializer=initializer, name=name)
    layer.build((None,))
    return layer


def _dropout(rate):
    """``Dropout(rate)`` with its seed drawn here as Keras draws a default one (``random.randint(1,
    1e9)`` after ``set_random_seed``: the same masks on TensorFlow and JAX) but given explicitly: on
    the torch backend an unseeded Dropout draws from torch's global generator (Keras 3.15,
    ``backend/torch/random.py``), which no checkpoint holds, so a resumed run drew other masks; a
    seeded one keeps its state in a model variable on every backend (tests/test_resume.py)."""
    return keras.layers.Dropout(rate, seed=random.randint(1, int(1e9)))


def _norm(d, name):
    layer = keras.layers.LayerNormalization(epsilon=1e-8, name=name)
    layer.build((None, d))
    return layer


class LSTMUserTower(keras.Model):
    PARTS = ("embedding", "lstm")

    def __init__(self, n_tokens: int, embed_dim: int = 64, hidden: int = 128, **kwargs):
        super().__init__(**kwargs)
        self.embedding = _embedding(n_tokens, embed_dim, "embedding")
        self.lstm = keras.layers.LSTM(hidden, return_sequences=True, name="lstm")
        self.lstm.build((None, None, embed_dim))

    def states(self, tokens, training=False):
        return self.lstm(self.embedding(tokens), training=training)

    def call(self, tokens, training=False):
        return self.states(tokens, training=training)[:, -1]


class TwoTowerLSTM(keras.Model):
    PARTS = ("user_tower", "ad_tower", "out")

    def __init__(self, n_user_tokens: int, n_ad_tokens: int, embed_dim: int = 64, hidden: int = 128, **kwargs):
        super().__init__(**kwargs)
        self.user_tower = LSTMUserTower(n_user_tokens, embed_dim, hidden, name="user_tower")
        self.ad_tower = LSTMUserTower(n_ad_tokens, embed_dim, hidden, name="ad_tower")
        self.out = _dense(2 * hidden, 1, "out")

    def call(self, inputs, training=False):
        user_tokens, ad_tokens = inputs
        both = ops.concatenate([self.user_tower(user_tokens, training=training),
                                self.ad_tower(ad_tokens, training=training)], axis=-1)
        return ops.squeeze(self.out(both), -1)


class _NextItem(keras.Model):
    def embed(self, seq):
        mask = ops.expand_dims(ops.cast(ops.greater(seq, 0), "float32"), -1)
        return self.item_embedding(seq) * mask

    def call(self, inputs, training=False):
        seq, pos, neg = inputs
        h = self.states(seq, training=training)
        return ops.stack([ops.sum(h * self.item_embedding(pos), -1), ops.sum(h * self.item_embedding(neg), -1)], -1)

    def score(self, seq, items):
        h = self.states(seq)[:, -1]
        return ops.einsum("bd,bcd->bc", h, self.item_embedding(items))


class GRU4Rec(_NextItem):
    PARTS = ("item_embedding", "rnn")

    def __init__(self, n_items: int, dim: int = 50, cell: str = "gru", dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        self.cell = cell
        self.item_embedding = _embedding(n_items + 1, dim, "item_embedding")
        rnn = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
        self.rnn = rnn(dim, return_sequences=True, name="rnn")  # GRU: reset_after=True, as torch
        self.rnn.build((None, None, dim))
        self.dropout = _dropout(dropout)

    def states(self, seq, training=False):
        x = self.dropout(self.embed(seq), training=training)
        return self.dropout(self.rnn(x, training=training), training=training)


class SASRec(_NextItem):
    PARTS = ("item_embedding", "position_embedding", "attn_norm", "query", "key", "value", "ffn_norm",
             "ffn_in", "ffn_out", "final_norm")

    def __init__(self, n_items: int, maxlen: int = 50, dim: int = 50, n_blocks: int = 2, n_heads: int = 1,
                 dropout: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        if dim % n_heads:
            raise ValueError(f"dim={dim} is not divisible by n_heads={n_heads}")
        self.dim, self.n_heads, self.maxlen = dim, n_heads, maxlen
        # Glorot uniform, as the authors' code (and the PyTorch twin)
        self.item_embedding = _embedding(n_items + 1, dim, "item_embedding", "glorot_uniform")
        self.position_embedding = _embedding(maxlen, dim, "position_embedding", "glorot_uniform")
        blocks = range(n_blocks)
        self.attn_norm = [_norm(dim, f"attn_norm_{b}") for b in blocks]
        self.query = [_dense(dim, dim, f"query_{b}") for b in blocks]
        self.key = [_dense(dim, dim, f"key_{b}") for b in blocks]
        self.value = [_dense(dim, dim, f"value_{b}") for b in blocks]
        self.ffn_norm = [_norm(dim, f"ffn_norm_{b}") for b in blocks]
        self.ffn_in = [_dense(dim, dim, f"ffn_in_{b}") for b in blocks]
        self.ffn_out = [_dense(dim, dim, f"ffn_out_{b}") for b in blocks]
        self.final_norm = _norm(dim, "final_norm")
        self.dropout = _dropout(dropout)

    def _attention(self, b, x, visible, training):
        q_in = self.attn_norm[b](x)
        B, L = ops.shape(x)[0], ops.shape(x)[1]
        H, dh = self.n_heads, self.dim // self.n_heads
        split = lambda t: ops.transpose(ops.reshape(t, (B, L, H, dh)), (0, 2, 1, 3))  # noqa: E731
        q, k, v = split(self.query[b](q_in)), split(self.key[b](x)), split(self.value[b](x))
        logits = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(dh)
        logits = ops.where(visible, logits, ops.full_like(logits, -1e9))
        att = self.dropout(ops.softmax(logits, axis=-1), training=training)
        return q_in + ops.reshape(ops.transpose(ops.matmul(att, v), (0, 2, 1, 3)), (B, L, self.dim))

    def states(self, seq, training=False):
        real = ops.greater(seq, 0)
        mask = ops.expand_dims(ops.cast(real, "float32"), -1)
        L = ops.shape(seq)[1]
        # query i sees key j when j <= i and j is an item (not padding): (B, 1, L, L)
        visible = ops.logical_and(ops.tril(ops.ones((L, L), dtype="bool")), real[:, None, None, :])
        positions = ops.arange(L)
        x = self.item_embedding(seq) * math.sqrt(self.dim) + self.position_embedding(positions)
        x = self.dropout(x, training=training) * mask
        for b in range(len(self.query)):
            x = self._attention(b, x, visible, training)
            y = self.ffn_norm[b](x)
            hidden = self.dropout(ops.relu(self.ffn_in[b](y)), training=training)
            x = (y + self.dropout(self.ffn_out[b](hidden), training=training)) * mask
        return self.final_norm(x)


def next_item_loss(y_true, y_pred):
    """y_true: the positives (B, L) (0 = padding); y_pred: logits (B, L, 2)."""
    mask = ops.cast(ops.greater(y_true, 0), "float32")
    per = ops.softplus(-y_pred[..., 0]) + ops.softplus(y_pred[..., 1])
    return ops.sum(per * mask) / ops.maximum(ops.sum(mask), 1.0)


def next_item_data(train, rated, maxlen: int):
    """``x(epoch, rng) -> ((seq, pos, neg), pos)`` for :func:`adrec.keras_nn.train.fit`."""
    from ..data.sequences import next_item_examples

    def data(epoch, rng):
        seq, pos, neg = next_item_examples(train, rated, maxlen, rng)
        return (seq, pos, neg), pos

    return data


def next_item_training(train, rated, maxlen: int, batch_size: int):
    """``(loss, data)`` for :func:`adrec.keras_nn.train.fit` (``batch_size`` goes to ``fit``; with
    ``shuffle`` the users come in the PyTorch batches' order)."""
    return next_item_loss, next_item_data(train, rated, maxlen)


def score_fn(model, histories, device: str = "cpu"):
    """``score(rows, items)`` for :func:`adrec.ranking.evaluate_sampled` (see the PyTorch twin)."""
    def score(rows, items):
        uniq, inv = np.unique(rows, return_inverse=True)
        h = ops.convert_to_numpy(model.states(ops.convert_to_tensor(histories[uniq]))[:, -1])
        e = ops.convert_to_numpy(model.item_embedding(ops.convert_to_tensor(np.asarray(items))))
        return (h[inv] * e).sum(-1)

    return score


# --- weights in one numpy layout, shared with the PyTorch twin ---

def _named_layers(model, prefix=""):
    """(name, layer) in the PyTorch module naming: attribute names, list entries as ``name.i``."""
    out = []
    for attr in model.PARTS:  # vars() misses layers on the torch backend (they are torch modules)
        value, name = getattr(model, attr), f"{prefix}{attr}"
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, keras.layers.Layer) for v in value):
            out += [(f"{name}.{i}", v) for i, v in enumerate(value)]
        elif hasattr(value, "PARTS"):
            out += _named_layers(value, name + ".")
        elif isinstance(value, keras.layers.Layer):
            out.append((name, value))
    return out


def params(model) -> dict:
    return {name: [np.asarray(ops.convert_to_numpy(w)) for w in layer.get_weights()]
            for name, layer in _named_layers(model)}


def load_params(model, values: dict) -> None:
    layers = dict(_named_layers(model))
    missing = set(layers) - set(values)
    if missing:
        raise KeyError(f"no values for {sorted(missing)}")
    for name, arrays in values.items():
        layers[name].set_weights([np.asarray(a, dtype=np.float32) for a in arrays])
