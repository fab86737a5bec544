"""Keras 3 scoring models (``keras.ops`` only): the dot-product two-tower (MF), GMF, MLP and NeuMF
of :mod:`adrec.ref.scoring`, mirror images of :mod:`adrec.torch_nn.scoring` (same class names,
constructor arguments, parameter names and shapes).

``model((users, items))`` returns logits (B,). :func:`params` / :func:`load_params` read and write
the parameters as the numpy dict of :func:`adrec.ref.scoring.param_shapes`. The L2 penalty
(reg · mean per-example squared norm of the embedding rows used) is added with ``add_loss`` while
training, so that ``keras.losses.BinaryCrossentropy(from_logits=True)`` plus it is the same
objective as :func:`adrec.torch_nn.scoring.pointwise_loss`. :func:`pointwise_data` feeds
:func:`adrec.keras_nn.train.fit` with negatives resampled every epoch, the same draws as the
PyTorch batches for the same seed.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ..ref.scoring import MODEL_NAMES, mlp_embedding_size, neumf_pretrained_params


def _embedding(n, d, std, name):
    layer = keras.layers.Embedding(n, d, embeddings_initializer=keras.initializers.RandomNormal(0.0, std),
                                   name=name)
    layer.build((None,))
    return layer


def _dense(n_in, n_out, name, activation=None):
    layer = keras.layers.Dense(n_out, activation=activation, kernel_initializer="glorot_uniform",
                               bias_initializer="zeros", name=name)
    layer.build((None, n_in))
    return layer


def _sq(x):
    return ops.sum(ops.square(x), axis=-1)


class _Scorer(keras.Model):
    def __init__(self, reg=0.0, **kwargs):
        super().__init__(**kwargs)
        self.reg = float(reg)

    def l2(self, users, items):
        """Per-example squared norm of the embedding rows (and biases) of each pair, (B,)."""
        return self.logits_and_l2(users, items, with_l2=True)[1]

    def call(self, inputs, training=False):
        users, items = inputs
        penalise = bool(training and self.reg)
        logits, l2 = self.logits_and_l2(users, items, with_l2=penalise)
        if penalise:
            self.add_loss(self.reg * ops.mean(l2))
        return logits


class MFDot(_Scorer):
    """b + b_u + b_i + p_u · q_i (use_bias=False: the document's bare inner product p_u · q_i)."""

    def __init__(self, n_users, n_items, factors, n_layers=None, init_std=0.01, use_bias=True, reg=0.0, **kwargs):
        super().__init__(reg=reg, name=kwargs.pop("name", "mf_dot"), **kwargs)
        self.use_bias = use_bias
        self.user_embedding = _embedding(n_users, factors, init_std, "user_embedding")
        self.item_embedding = _embedding(n_items, factors, init_std, "item_embedding")
        self.user_bias = keras.layers.Embedding(n_users, 1, embeddings_initializer="zeros", name="user_bias")
        self.item_bias = keras.layers.Embedding(n_items, 1, embeddings_initializer="zeros", name="item_bias")
        self.user_bias.build((None,))
        self.item_bias.build((None,))
        self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

    def logits_and_l2(self, users, items, with_l2=True):
        p, q = self.user_embedding(users), self.item_embedding(items)
        s = ops.sum(p * q, axis=-1)
        l2 = _sq(p) + _sq(q) if with_l2 else None
        if self.use_bias:
            bu, bi = self.user_bias(users)[:, 0], self.item_bias(items)[:, 0]
            s = s + self.bias[0] + bu + bi
            if with_l2:
                l2 = l2 + ops.square(bu) + ops.square(bi)
        return s, l2


def _tower(embedding_size, n_layers):
    width, layers = 2 * embedding_size, []
    for k in range(n_layers):
        layers.append(_dense(width, width // 2, f"mlp_{k}", activation="relu"))
        width //= 2
    return layers


def _run_tower(layers, h):
    for layer in layers:
        h = layer(h)
    return h


class GMF(_Scorer):
    """h · (p_u ⊙ q_i) + b."""

    def __init__(self, n_users, n_items, factors, n_layers=None, init_std=0.01, reg=0.0, **kwargs):
        super().__init__(reg=reg, name=kwargs.pop("name", "gmf"), **kwargs)
        self.gmf_user = _embedding(n_users, factors, init_std, "gmf_user")
        self.gmf_item = _embedding(n_items, factors, init_std, "gmf_item")
        self.out = _dense(factors, 1, "out")

    def logits_and_l2(self, users, items, with_l2=True):
        p, q = self.gmf_user(users), self.gmf_item(items)
        return self.out(p * q)[:, 0], (_sq(p) + _sq(q) if with_l2 else None)


class MLP(_Scorer):
    """ReLU tower on [p_u, q_i] (2E -> E -> ... -> factors), then a linear output."""

    def __init__(self, n_users, n_items, factors, n_layers=3, init_std=0.01, reg=0.0, **kwargs):
        super().__init__(reg=reg, name=kwargs.pop("name", "mlp"), **kwargs)
        E = mlp_embedding_size(factors, n_layers)
        self.mlp_user = _embedding(n_users, E, init_std, "mlp_user")
        self.mlp_item = _embedding(n_items, E, init_std, "mlp_item")
        self.tower = _tower(E, n_layers)
        self.out = _dense(factors, 1, "out")

    def logits_and_l2(self, users, items, with_l2=True):
        p, q = self.mlp_user(users), self.mlp_item(items)
        h = _run_tower(self.tower, ops.concatenate([p, q], axis=-1))
        return self.out(h)[:, 0], (_sq(p) + _sq(q) if with_l2 else None)


class NeuMF(_Scorer):
    """[GMF vector, MLP tower output] -> linear output; separate embeddings for the two branches."""

    def __init__(self, n_users, n_items, factors, n_layers=3, init_std=0.01, reg=0.0, **kwargs):
        super().__init__(reg=reg, name=kwargs.pop("name", "neumf"), **kwargs)
        E = mlp_embedding_size(factors, n_layers)
        self.gmf_user = _embedding(n_users, factors, init_std, "gmf_user")
        self.gmf_item = _embedding(n_items, factors, init_std, "gmf_item")
        self.mlp_user = _embedding(n_users, E, init_std, "mlp_user")
        self.mlp_item = _embedding(n_items, E, init_std, "mlp_item")
        self.tower = _tower(E, n_layers)
        self.out = _dense(2 * factors, 1, "out")

    def logits_and_l2(self, users, items, with_l2=True):
        gp, gq = self.gmf_user(users), self.gmf_item(items)
        mp, mq = self.mlp_user(users), self.mlp_item(items)
        h = ops.concatenate([gp * gq, _run_tower(self.tower, ops.concatenate([mp, mq], axis=-1))], axis=-1)
        l2 = _sq(gp) + _sq(gq) + _sq(mp) + _sq(mq) if with_l2 else None
        return self.out(h)[:, 0], l2


MODELS = {"mf_dot": MFDot, "gmf": GMF, "mlp": MLP, "neumf": NeuMF}


def build_model(name, n_users, n_items, factors, n_layers=3, init_std=0.01, seed=None, reg=0.0):
    """One of :data:`MODELS` by name, built (weights drawn; ``seed``: keras.utils.set_random_seed)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = MODELS[name](n_users, n_items, factors, n_layers=n_layers, init_std=init_std, reg=reg)
    model((np.zeros(1, dtype="int32"), np.zeros(1, dtype="int32")))  # build every weight
    return model


def neumf_from_pretrained(gmf: GMF, mlp: MLP, alpha: float = 0.5, reg: float = 0.0) -> NeuMF:
    """A NeuMF initialised from a trained GMF and a trained MLP (He et al. 2017 §3.4.1; see
    :func:`adrec.ref.scoring.neumf_pretrained_params`): its initial logit is
    alpha · GMF logit + (1 - alpha) · MLP logit. The two source models are left unchanged."""
    n_users, factors = gmf.gmf_user.embeddings.shape
    model = NeuMF(n_users, gmf.gmf_item.embeddings.shape[0], factors, n_layers=len(mlp.tower), reg=reg)
    model((np.zeros(1, dtype="int32"), np.zeros(1, dtype="int32")))  # build every weight
    load_params(model, neumf_pretrained_params(params(gmf), params(mlp), alpha))
    return model


def _named_variables(model):
    """Our parameter name -> (keras variable, how to reshape) for every parameter of ``model``."""
    out = {}
    for attr in ("user_embedding", "item_embedding", "gmf_user", "gmf_item", "mlp_user", "mlp_item"):
        if hasattr(model, attr):
            out[attr] = (getattr(model, attr).embeddings, None)
    if isinstance(model, MFDot):
        out["user_bias"] = (model.user_bias.embeddings, "column")
        out["item_bias"] = (model.item_bias.embeddings, "column")
        out["bias"] = (model.bias, None)
    for k, layer in enumerate(getattr(model, "tower", [])):
        out[f"mlp_kernel_{k}"] = (layer.kernel, None)
        out[f"mlp_bias_{k}"] = (layer.bias, None)
    if hasattr(model, "out"):
        out["out_kernel"] = (model.out.kernel, None)
        out["out_bias"] = (model.out.bias, None)
    return out


def params(model) -> dict:
    """The parameters as numpy arrays under the names and shapes of adrec.ref.scoring."""
    result = {}
    for name, (var, how) in _named_variables(model).items():
        value = ops.convert_to_numpy(var)
        result[name] = np.array(value[:, 0] if how == "column" else value, dtype=np.float32)
    return result


def load_params(model, values: dict) -> None:
    """Copy numpy parameters (adrec.ref.scoring names and shapes) into ``model``."""
    named = _named_variables(model)
    if set(named) != set(values):
        raise ValueError(f"parameter names differ: model has {sorted(named)}, got {sorted(values)}")
    for name, (var, how) in named.items():
        value = np.asarray(values[name], dtype=np.float32)
        value = value[:, None] if how == "column" else value
        if tuple(value.shape) != tuple(var.shape):
            raise ValueError(f"{name}: expected shape {tuple(var.shape)}, got {value.shape}")
        var.assign(value)


def pointwise_loss(model, batch):
    """The training objective that ``fit`` minimises, evaluated on one batch (users, items,
    labels): mean BCE of the logits + model.reg · mean L2."""
    users, items, labels = batch
    logits, l2 = model.logits_and_l2(ops.convert_to_tensor(users), ops.convert_to_tensor(items),
                                     with_l2=bool(model.reg))
    loss = keras.losses.BinaryCrossentropy(from_logits=True)(ops.convert_to_tensor(labels, "float32"), logits)
    if model.reg:
        loss = loss + model.reg * ops.mean(l2)
    return float(ops.convert_to_numpy(loss))


def pointwise_data(train, negatives: int):
    """``x(epoch, rng)`` for :func:`adrec.keras_nn.train.fit`: every epoch, each training positive
    with ``negatives`` fresh negatives (shuffled) as ((users, items), labels) — the same draws as
    :func:`adrec.torch_nn.scoring.pointwise_batches` for the same seed and epoch."""
    from ..data.ncf import sample_pointwise

    def data(epoch, rng):
        users, items, labels = sample_pointwise(train, negatives, rng)
        return (users, items), labels

    return data


def pointwise_training(train, negatives: int, batch_size: int):
    """``(loss, data)`` for :func:`adrec.keras_nn.train.fit`: BCE of logits (the models add their
    L2 term as a layer loss) and :func:`pointwise_data` (``batch_size`` goes to ``fit``)."""
    return keras.losses.BinaryCrossentropy(from_logits=True), pointwise_data(train, negatives)


def score_fn(model, device: str = "cpu"):
    """numpy scorer ``f(users, items) -> logits`` for :func:`adrec.ranking.evaluate_sampled`
    (Keras scores on its backend's device; ``device`` mirrors the PyTorch twin's signature)."""

    def f(users, items):
        return ops.convert_to_numpy(model((ops.convert_to_tensor(users), ops.convert_to_tensor(items)),
                                          training=False))

    return f
