"""User-profile fusion click model in PyTorch: the mirror image of :mod:`adrec.keras_nn.fusion`
(same names, same shapes), checked against the numpy reference :mod:`adrec.ref.fusion` (where the
model and the documents' formulas are explained: document 000 §4.2, document 003 §4.3.1).

``FusionCTR(sizes, item_tokens, dim, fusion, interaction)`` -> ``model(*inputs)`` gives (N,)
logits; ``model.fusion_weights(*inputs)`` the (N, L) weights of the history events.
:func:`train` fits it with the one training loop (:func:`adrec.torch_nn.train.fit`).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..ref.fusion import FUSIONS, INTERACTIONS, NEG
from .bce import bce_loss_fn



def interaction_embedding(b, c, x):
    """Element-wise ``B ⊙ C ⊙ X`` (document 000 §4.2)."""
    return b * c * x


def user_profile(e, w):
    """``sum_i w_i e_i``: (N, L, d), (N, L) -> (N, d)."""
    return torch.einsum("nl,nld->nd", w, e)


def masked_softmax(scores, mask):
    s = torch.where(mask, scores, torch.full_like(scores, NEG))
    s = s - s.max(dim=-1, keepdim=True).values
    e = torch.exp(s) * mask.to(s.dtype)
    total = e.sum(dim=-1, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def uniform_weights(mask):
    m = mask.to(torch.float32)
    return m / m.sum(dim=-1, keepdim=True).clamp(min=1.0)


def recency_weights(age, mask, decay):
    rate = nn.functional.softplus(decay)
    return masked_softmax(-rate * age.to(torch.float32), mask)


class FusionCTR(nn.Module):
    """Click model with a fused user profile (see :mod:`adrec.ref.fusion`)."""

    def __init__(self, sizes: dict, item_tokens, dim: int = 16, fusion: str = "din",
                 interaction: str = "product", att_hidden: int = 16, mlp_hidden: int = 32,
                 init_std: float = 0.05, decay_init: float = 0.0):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if interaction not in INTERACTIONS:
            raise ValueError(f"interaction must be one of {INTERACTIONS}, got {interaction!r}")
        self.fusion, self.interaction, self.dim = fusion, interaction, dim
        self.register_buffer("item_tokens", torch.as_tensor(np.asarray(item_tokens), dtype=torch.long))
        self.content = nn.Embedding(sizes["n_content"], dim)
        self.beh = nn.Embedding(sizes["n_beh"], dim)
        self.ctx = nn.Embedding(sizes["n_ctx"], dim)
        for emb in (self.content, self.beh, self.ctx):
            nn.init.normal_(emb.weight, std=init_std)
        if fusion == "recency":
            self.decay = nn.Parameter(torch.tensor(float(decay_init)))
        if fusion == "din":
            self.att1 = nn.Linear(4 * dim, att_hidden)
            self.att2 = nn.Linear(att_hidden, 1)
        if interaction == "concat":
            self.int_proj = nn.Linear(3 * dim, dim)
        self.mlp1 = nn.Linear(4 * dim, mlp_hidden)
        self.mlp2 = nn.Linear(mlp_hidden, 1)
        for layer in self._linears():
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def _linears(self):
        return [m for m in self.modules() if isinstance(m, nn.Linear)]

    def content_table(self):
        tok = self.item_tokens
        m = (tok > 0).to(torch.float32).unsqueeze(-1)
        return (self.content(tok) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)

    def _parts(self, target_item, row_ctx, hist_item, hist_beh, hist_ctx, hist_age):
        C_all = self.content_table()
        q = C_all[target_item.long()]
        c = C_all[hist_item.long()]
        b = 1.0 + self.beh(hist_beh.long())
        x = 1.0 + self.ctx(hist_ctx.long()).sum(dim=-2)
        if self.interaction == "product":
            e = interaction_embedding(b, c, x)
        else:
            e = self.int_proj(torch.cat([b, c, x], dim=-1))
        mask = hist_item > 0
        if self.fusion == "mean":
            w = uniform_weights(mask)
        elif self.fusion == "recency":
            w = recency_weights(hist_age, mask, self.decay)
        else:
            qb = q.unsqueeze(1).expand_as(e)
            z = torch.cat([e, qb, e * qb, e - qb], dim=-1)
            w = masked_softmax(self.att2(torch.relu(self.att1(z))).squeeze(-1), mask)
        return q, e, w

    def fusion_weights(self, *inputs):
        return self._parts(*inputs)[2]

    def forward(self, target_item, row_ctx, hist_item, hist_beh, hist_ctx, hist_age):
        q, e, w = self._parts(target_item, row_ctx, hist_item, hist_beh, hist_ctx, hist_age)
        p = user_profile(e, w)
        x = self.ctx(row_ctx.long()).sum(dim=1)
        h = torch.relu(self.mlp1(torch.cat([p, q, p * q, x], dim=-1)))
        return self.mlp2(h).squeeze(-1)


_LINEARS = {"att1": ("att_w1", "att_b1"), "att2": ("att_w2", "att_b2"), "int_proj": ("int_w", "int_b"),
            "mlp1": ("mlp_w1", "mlp_b1"), "mlp2": ("mlp_w2", "mlp_b2")}


def load_params(model: FusionCTR, params: dict) -> FusionCTR:
    """Copy an :mod:`adrec.ref.fusion` parameter dict into ``model``."""
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    with torch.no_grad():
        for name in ("content", "beh", "ctx"):
            getattr(model, name).weight.copy_(t(params[name]))
        if model.fusion == "recency":
            model.decay.copy_(t(params["decay"]).reshape(()))
        for attr, (w, b) in _LINEARS.items():
            if hasattr(model, attr):
                getattr(model, attr).weight.copy_(t(params[w]).T)
                getattr(model, attr).bias.copy_(t(params[b]).reshape(-1))
    return model


def model_params(model: FusionCTR) -> dict:
    """The parameters of ``model`` as an :mod:`adrec.ref.fusion` dict of numpy arrays."""
    n = lambda p: p.detach().cpu().numpy().astype(np.float32)  # noqa: E731
    out = {name: n(getattr(model, name).weight) for name in ("content", "beh", "ctx")}
    if model.fusion == "recency":
        out["decay"] = np.float32(n(model.decay))
    for attr, (w, b) in _LINEARS.items():
        if hasattr(model, attr):
            out[w], out[b] = n(getattr(model, attr).weight).T, n(getattr(model, attr).bias)
    return out


def build_fusion(task, *, fusion: str, interaction: str = "product", dim: int = 16, att_hidden: int = 16,
                 mlp_hidden: int = 32):
    """A fresh :class:`FusionCTR` for a :class:`adrec.data.histories.HistoryTask` (the mirror of
    :func:`adrec.keras_nn.fusion.build_fusion`)."""
    return FusionCTR(task.sizes, task.item_tokens, dim=dim, fusion=fusion, interaction=interaction,
                     att_hidden=att_hidden, mlp_hidden=mlp_hidden)


def fusion_training(task, batch_size: int):
    """``(loss, data)`` for :func:`adrec.torch_nn.train.fit`: mean BCE of logits over the task's
    training arrays (shuffled batches of ``batch_size``)."""
    return bce_loss_fn, (task.train.inputs, task.train.y)
