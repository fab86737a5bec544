"""PyTorch scoring models: the dot-product two-tower (MF), GMF, MLP and NeuMF of
:mod:`adrec.ref.scoring`, mirror images of :mod:`adrec.keras_nn.scoring` (same class names,
constructor arguments, parameter names and shapes).

``model(users, items)`` returns logits (B,). :func:`params` / :func:`load_params` read and write
the parameters as the numpy dict of :func:`adrec.ref.scoring.param_shapes` (kernels (in, out)).
:func:`pointwise_loss` is the training objective (mean BCE + reg · mean per-example L2) for
:func:`adrec.torch_nn.train.fit`; :func:`pointwise_batches` feeds it mini-batches of positives and
negatives resampled every epoch (:func:`adrec.data.ncf.sample_pointwise`).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..ref.scoring import MODEL_NAMES, mlp_embedding_size, neumf_pretrained_params


def _embedding(n, d, std):
    emb = nn.Embedding(n, d)
    nn.init.normal_(emb.weight, 0.0, std)
    return emb


def _dense(n_in, n_out):
    lin = nn.Linear(n_in, n_out)
    nn.init.xavier_uniform_(lin.weight)  # Glorot-uniform, as Keras' Dense default
    nn.init.zeros_(lin.bias)
    return lin


def _sq(x):
    return x.pow(2).sum(-1)


class _Scorer(nn.Module):
    name = ""

    def forward(self, users, items):
        return self.logits_and_l2(users, items, with_l2=False)[0]

    def l2(self, users, items):
        """Per-example squared norm of the embedding rows (and biases) of each pair, (B,)."""
        return self.logits_and_l2(users, items, with_l2=True)[1]


class MFDot(_Scorer):
    """b + b_u + b_i + p_u · q_i (use_bias=False: the document's bare inner product p_u · q_i)."""

    name = "mf_dot"

    def __init__(self, n_users, n_items, factors, n_layers=None, init_std=0.01, use_bias=True, reg=0.0):
        super().__init__()
        self.reg = float(reg)
        self.use_bias = use_bias
        self.user_embedding = _embedding(n_users, factors, init_std)
        self.item_embedding = _embedding(n_items, factors, init_std)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)
        self.bias = nn.Parameter(torch.zeros(1))

    def logits_and_l2(self, users, items, with_l2=True):
        p, q = self.user_embedding(users), self.item_embedding(items)
        s = (p * q).sum(-1)
        l2 = _sq(p) + _sq(q) if with_l2 else None
        if self.use_bias:
            bu, bi = self.user_bias(users)[:, 0], self.item_bias(items)[:, 0]
            s = s + self.bias + bu + bi
            if with_l2:
                l2 = l2 + bu ** 2 + bi ** 2
        return s, l2


class _Tower(nn.Module):
    def __init__(self, embedding_size, n_layers):
        super().__init__()
        width = 2 * embedding_size
        layers = []
        for _ in range(n_layers):
            layers.append(_dense(width, width // 2))
            width //= 2
        self.layers = nn.ModuleList(layers)

    def forward(self, h):
        for layer in self.layers:
            h = torch.relu(layer(h))
        return h


class GMF(_Scorer):
    """h · (p_u ⊙ q_i) + b."""

    name = "gmf"

    def __init__(self, n_users, n_items, factors, n_layers=None, init_std=0.01, reg=0.0):
        super().__init__()
        self.reg = float(reg)
        self.gmf_user = _embedding(n_users, factors, init_std)
        self.gmf_item = _embedding(n_items, factors, init_std)
        self.out = _dense(factors, 1)

    def logits_and_l2(self, users, items, with_l2=True):
        p, q = self.gmf_user(users), self.gmf_item(items)
        return self.out(p * q)[:, 0], (_sq(p) + _sq(q) if with_l2 else None)


class MLP(_Scorer):
    """ReLU tower on [p_u, q_i] (2E -> E -> ... -> factors), then a linear output."""

    name = "mlp"

    def __init__(self, n_users, n_items, factors, n_layers=3, init_std=0.01, reg=0.0):
        super().__init__()
        self.reg = float(reg)
        E = mlp_embedding_size(factors, n_layers)
        self.mlp_user = _embedding(n_users, E, init_std)
        self.mlp_item = _embedding(n_items, E, init_std)
        self.tower = _Tower(E, n_layers)
        self.out = _dense(factors, 1)

    def logits_and_l2(self, users, items, with_l2=True):
        p, q = self.mlp_user(users), self.mlp_item(items)
        h = self.tower(torch.cat([p, q], dim=-1))
        return self.out(h)[:, 0], (_sq(p) + _sq(q) if with_l2 else None)


class NeuMF(_Scorer):
    """[GMF vector, MLP tower output] -> linear output; separate embeddings for the two branches."""

    name = "neumf"

    def __init__(self, n_users, n_items, factors, n_layers=3, init_std=0.01, reg=0.0):
        super().__init__()
        self.reg = float(reg)
        E = mlp_embedding_size(factors, n_layers)
        self.gmf_user = _embedding(n_users, factors, init_std)
        self.gmf_item = _embedding(n_items, factors, init_std)
        self.mlp_user = _embedding(n_users, E, init_std)
        self.mlp_item = _embedding(n_items, E, init_std)
        self.tower = _Tower(E, n_layers)
        self.out = _dense(2 * factors, 1)

    def logits_and_l2(self, users, items, with_l2=True):
        gp, gq = self.gmf_user(users), self.gmf_item(items)
        mp, mq = self.mlp_user(users), self.mlp_item(items)
        h = torch.cat([gp * gq, self.tower(torch.cat([mp, mq], dim=-1))], dim=-1)
        l2 = _sq(gp) + _sq(gq) + _sq(mp) + _sq(mq) if with_l2 else None
        return self.out(h)[:, 0], l2


MODELS = {"mf_dot": MFDot, "gmf": GMF, "mlp": MLP, "neumf": NeuMF}


def build_model(name, n_users, n_items, factors, n_layers=3, init_std=0.01, seed=None, reg=0.0):
    """One of :data:`MODELS` by name (``seed``: torch.manual_seed before the weights are drawn)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    if seed is not None:
        torch.manual_seed(seed)
    return MODELS[name](n_users, n_items, factors, n_layers=n_layers, init_std=init_std, reg=reg)


def neumf_from_pretrained(gmf: GMF, mlp: MLP, alpha: float = 0.5, reg: float = 0.0) -> NeuMF:
    """A NeuMF initialised from a trained GMF and a trained MLP (He et al. 2017 §3.4.1; see
    :func:`adrec.ref.scoring.neumf_pretrained_params`): its initial logit is
    alpha · GMF logit + (1 - alpha) · MLP logit. The two source models are left unchanged."""
    model = NeuMF(gmf.gmf_user.num_embeddings, gmf.gmf_item.num_embeddings, gmf.gmf_user.embedding_dim,
                  n_layers=len(mlp.tower.layers), reg=reg)
    load_params(model, neumf_pretrained_params(params(gmf), params(mlp), alpha))
    return model.to(gmf.out.weight.device)


def _named_tensors(model):
    """Our parameter name -> (torch tensor, transpose?) for every parameter of ``model``."""
    out = {}
    for attr in ("user_embedding", "item_embedding", "gmf_user", "gmf_item", "mlp_user", "mlp_item"):
        if hasattr(model, attr):
            out[attr] = (getattr(model, attr).weight, False)
    if isinstance(model, MFDot):
        out["user_bias"] = (model.user_bias.weight, "column")
        out["item_bias"] = (model.item_bias.weight, "column")
        out["bias"] = (model.bias, False)
    if hasattr(model, "tower"):
        for k, layer in enumerate(model.tower.layers):
            out[f"mlp_kernel_{k}"] = (layer.weight, True)
            out[f"mlp_bias_{k}"] = (layer.bias, False)
    if hasattr(model, "out"):
        out["out_kernel"] = (model.out.weight, True)
        out["out_bias"] = (model.out.bias, False)
    return out


def params(model) -> dict:
    """The parameters as numpy arrays under the names and shapes of adrec.ref.scoring."""
    result = {}
    for name, (tensor, how) in _named_tensors(model).items():
        value = tensor.detach().cpu().numpy()
        result[name] = value.T if how is True else value[:, 0] if how == "column" else value
    return {k: np.array(v, dtype=np.float32) for k, v in result.items()}


@torch.no_grad()
def load_params(model, values: dict) -> None:
    """Copy numpy parameters (adrec.ref.scoring names and shapes) into ``model``."""
    named = _named_tensors(model)
    if set(named) != set(values):
        raise ValueError(f"parameter names differ: model has {sorted(named)}, got {sorted(values)}")
    for name, (tensor, how) in named.items():
        value = np.asarray(values[name], dtype=np.float32)
        value = value.T if how is True else value[:, None] if how == "column" else value
        if tuple(value.shape) != tuple(tensor.shape):
            raise ValueError(f"{name}: expected shape {tuple(tensor.shape)}, got {value.shape}")
        tensor.copy_(torch.as_tensor(value))


def pointwise_loss(model, batch):
    """Mean binary cross-entropy of the logits against the 0/1 labels, plus model.reg · mean L2
    (the loss_fn of :func:`adrec.torch_nn.train.fit`)."""
    users, items, labels = batch
    logits, l2 = model.logits_and_l2(users, items, with_l2=bool(model.reg))
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    if model.reg:
        loss = loss + model.reg * l2.mean()
    return loss


def pointwise_batches(train, negatives: int, batch_size: int):
    """``batches(epoch, rng)`` for :func:`adrec.torch_nn.train.fit`: every epoch, each training
    positive with ``negatives`` fresh negatives (shuffled), cut into mini-batches."""
    from ..data.ncf import sample_pointwise

    def batches(epoch, rng):
        users, items, labels = sample_pointwise(train, negatives, rng)
        for start in range(0, len(users), batch_size):
            sl = slice(start, start + batch_size)
            yield (torch.from_numpy(users[sl]), torch.from_numpy(items[sl]), torch.from_numpy(labels[sl]))

    return batches


def pointwise_training(train, negatives: int, batch_size: int):
    """``(loss, data)`` for :func:`adrec.torch_nn.train.fit`: the pointwise BCE recipe of NCF (the
    same name and draws as :func:`adrec.keras_nn.scoring.pointwise_training`)."""
    return pointwise_loss, pointwise_batches(train, negatives, batch_size)


def score_fn(model, device: str = "cpu"):
    """numpy scorer ``f(users, items) -> logits`` for :func:`adrec.ranking.evaluate_sampled`."""

    @torch.no_grad()
    def f(users, items):
        was_training = model.training
        model.eval()
        out = model(torch.as_tensor(users, device=device), torch.as_tensor(items, device=device))
        model.train(was_training)
        return out.detach().cpu().numpy()

    return f
