"""Binary cross-entropy and the LR / MLP click models in PyTorch: the mirror image of
:mod:`adrec.keras_nn.bce` (same names, same shapes), checked against :mod:`adrec.ref.bce`.

Document 004 (004_1b87cd4ae3e61fa1.txt) §4.2: the per-impression logistic loss of a logit.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..ref.bce import check_l2


def bce_with_logits(y, s):
    """Per-sample loss from logits: ``-y log sigmoid(s) - (1 - y) log sigmoid(-s)`` with a stable
    log-sigmoid. Equal in value to the reference's ``max(s, 0) - s*y + log1p(exp(-|s|))``, but
    smooth: autograd of the max/abs form picks a subgradient at ``s = 0`` (1 - y instead of
    1/2 - y); this form's gradient is ``sigmoid(s) - y`` everywhere."""
    y = torch.as_tensor(y, dtype=s.dtype)
    return -y * nn.functional.logsigmoid(s) - (1 - y) * nn.functional.logsigmoid(-s)


def bce_from_probs(y, p, eps: float = 1e-7):
    """Per-sample loss from probabilities clipped to ``[eps, 1 - eps]``."""
    y = torch.as_tensor(y, dtype=p.dtype)
    p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def _glorot_(w: torch.Tensor) -> None:
    # torch stores Linear weights (out, in); glorot uniform over fan_in + fan_out like Keras's default
    nn.init.xavier_uniform_(w)


class LogisticRegression(nn.Module):
    """``s = b + sum_f w_cat[cat[:, f]] + num @ w_num``; ``forward(cat, num=None)`` -> (N,) logits.

    ``l2`` > 0: :func:`bce_loss_fn` adds ``penalty() = l2/2 * (|w_cat|^2 + |w_num|^2)`` (the bias is
    not penalised) to the mean BCE. On N training rows, ``l2 = 1 / (C * N)`` makes that scikit-learn's
    ``LogisticRegression(C=C)`` objective ``|w|^2 / 2 + C * sum_i loss_i`` divided by ``C * N``."""

    def __init__(self, n_buckets: int, n_fields: int, n_numeric: int = 0, l2: float = 0.0):
        super().__init__()
        self.n_fields, self.n_numeric, self.l2 = n_fields, n_numeric, check_l2(l2)
        self.w_cat = nn.Embedding(n_buckets, 1)
        nn.init.zeros_(self.w_cat.weight)
        self.w_num = nn.Parameter(torch.zeros(n_numeric)) if n_numeric else None
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, cat, num=None):
        s = self.w_cat(cat).squeeze(-1).sum(dim=1) + self.bias
        if self.n_numeric:
            s = s + num.to(s.dtype) @ self.w_num
        return s

    def penalty(self):
        """``l2/2 * (|w_cat|^2 + |w_num|^2)``: the whole weight table, as scikit-learn's ``|w|^2``."""
        squares = self.w_cat.weight.square().sum()
        if self.n_numeric:
            squares = squares + self.w_num.square().sum()
        return 0.5 * self.l2 * squares


class MLP(nn.Module):
    """Field embeddings (shared hashed table) concatenated with numeric features, ReLU hidden
    layers, one linear output unit; ``forward(cat, num=None)`` -> (N,) logits."""

    def __init__(self, n_buckets: int, n_fields: int, n_numeric: int = 0, embed_dim: int = 8,
                 hidden_sizes=(64, 32), init_std: float = 0.01):
        super().__init__()
        self.n_fields, self.n_numeric = n_fields, n_numeric
        self.emb = nn.Embedding(n_buckets, embed_dim)
        nn.init.normal_(self.emb.weight, std=init_std)
        sizes = [n_fields * embed_dim + n_numeric, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], 1)
        for layer in [*self.hidden, self.out]:
            _glorot_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, cat, num=None):
        h = self.emb(cat).flatten(1)
        if self.n_numeric:
            h = torch.cat([h, num.to(h.dtype)], dim=1)
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return self.out(h).squeeze(-1)


def load_params(model: nn.Module, params: dict) -> nn.Module:
    """Copy an :mod:`adrec.ref.bce` parameter dict into ``model`` (LogisticRegression or MLP)."""
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    with torch.no_grad():
        if isinstance(model, LogisticRegression):
            model.w_cat.weight.copy_(t(params["w_cat"]).reshape(-1, 1))
            model.bias.copy_(t(params["b"]).reshape(()))
            if model.n_numeric:
                model.w_num.copy_(t(params["w_num"]).reshape(-1))
        else:
            model.emb.weight.copy_(t(params["emb"]))
            for layer, (w, b) in zip(model.hidden, params["hidden"]):
                layer.weight.copy_(t(w).T)
                layer.bias.copy_(t(b))
            model.out.weight.copy_(t(params["w_out"]).T)
            model.out.bias.copy_(t(params["b_out"]))
    return model


def model_params(model: nn.Module) -> dict:
    """The parameters of ``model`` as an :mod:`adrec.ref.bce` dict of numpy arrays."""
    n = lambda p: p.detach().cpu().numpy().astype(np.float32)  # noqa: E731
    if isinstance(model, LogisticRegression):
        return {"w_cat": n(model.w_cat.weight).reshape(-1),
                "w_num": n(model.w_num) if model.n_numeric else np.zeros(0, np.float32),
                "b": np.float32(n(model.bias))}
    return {"emb": n(model.emb.weight),
            "hidden": [(n(layer.weight).T, n(layer.bias)) for layer in model.hidden],
            "w_out": n(model.out.weight).T, "b_out": n(model.out.bias)}


def bce_loss_fn(model, batch):
    """Loss for :func:`adrec.torch_nn.train.fit`: ``batch = (*inputs, y)``; mean BCE from logits
    through ``torch.nn.functional.binary_cross_entropy_with_logits``, plus the logistic
    regression's L2 penalty when its ``l2`` > 0."""
    *inputs, y = batch
    s = model(*inputs)
    loss = nn.functional.binary_cross_entropy_with_logits(s, y.to(s.dtype))
    if isinstance(model, LogisticRegression) and model.l2:
        loss = loss + model.penalty()
    return loss


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


def click_inputs(split) -> tuple:
    """The model inputs of a :class:`adrec.data.ctr.CTRSplit`, as :func:`adrec.torch_nn.train.predict` takes them."""
    return split.inputs


def click_training(task, batch_size: int):
    """``(loss, data)`` for :func:`adrec.torch_nn.train.fit`: mean BCE of logits over the training
    split's arrays (shuffled batches of ``batch_size``; mirrored by :func:`adrec.keras_nn.bce.click_training`)."""
    return bce_loss_fn, (click_inputs(task.train), task.train.y)
