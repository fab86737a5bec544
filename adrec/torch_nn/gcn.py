"""Graph propagation models in PyTorch (torch.sparse): mirror of :mod:`adrec.keras_nn.gcn` and of
the numpy reference :mod:`adrec.ref.gcn` (document 003 §3.2.1, §4.2.1).

Both models hold one node-embedding table ``embedding`` (N, d), users first then items, and a
fixed normalised adjacency Â (a ``torch.sparse`` tensor, built by :mod:`adrec.graph`).

* :class:`LightGCN`: E^(l+1) = Â E^(l); output = mean of E^(0..L) (L = 0: matrix factorisation).
* :class:`GCN`: H^(l+1) = σ(Â H^(l) W_l), output = H^(L) (the document's rule with weights).

``model(users, pos, neg)`` returns (B, 2): column 0 the BPR margin <u,i> - <u,j> of the final
embeddings, column 1 the per-triple ½(‖u0‖² + ‖i0‖² + ‖j0‖²) of the ego embeddings;
:func:`bpr_loss` turns it into LightGCN's loss. :meth:`embeddings` gives (user, item) final
embeddings for full-ranking evaluation.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda x: x}


class _SparseMM(torch.autograd.Function):
    """Â H with the gradient Â^T G computed by a second sparse product (the stored transpose):
    several times faster on CPU than autograd through ``torch.sparse.mm``, which transposes Â
    again on every backward pass."""

    @staticmethod
    def forward(ctx, adj, adj_t, H):
        ctx.adj_t = adj_t
        return adj @ H

    @staticmethod
    def backward(ctx, grad):
        return None, None, ctx.adj_t @ grad


def as_csr(adj):
    """A torch sparse (COO or CSR) or dense matrix as ``torch.sparse_csr``."""
    if adj.layout == torch.sparse_csr:
        return adj
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return (adj.coalesce() if adj.layout == torch.sparse_coo else adj).to_sparse_csr()


def propagate(adj, H, adj_t=None):
    """Â H with Â a torch.sparse tensor (COO or CSR) and H dense (N, d). Pass ``adj_t`` (Â^T as
    CSR) to differentiate with the fast custom backward; Â of :mod:`adrec.graph` is symmetric,
    so ``adj_t`` may be Â itself."""
    if adj_t is not None:
        return _SparseMM.apply(adj, adj_t, H)
    return torch.sparse.mm(adj, H) if adj.layout == torch.sparse_coo else adj @ H


def bpr_loss(out, reg: float = 0.0):
    """mean softplus(-(x_ui - x_uj)) + reg * mean ½(‖u0‖² + ‖i0‖² + ‖j0‖²) from the (B, 2) output."""
    return F.softplus(-out[:, 0]).mean() + reg * out[:, 1].mean()


def bpr_loss_fn(reg: float = 0.0):
    """``loss_fn(model, batch)`` for :func:`adrec.torch_nn.train.fit`; batch = (users, pos, neg, None)."""
    def loss_fn(model, batch):
        users, pos, neg = batch[:3]
        return bpr_loss(model(users, pos, neg), reg)
    return loss_fn


class _GraphModel(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int, adj, init_std: float = 0.1):
        super().__init__()
        self.n_users, self.n_items, self.dim = int(n_users), int(n_items), int(dim)
        n = self.n_users + self.n_items
        if tuple(adj.shape) != (n, n):
            raise ValueError(f"adjacency must be ({n}, {n}) for {n_users} users + {n_items} items, got {tuple(adj.shape)}")
        self.embedding = nn.Parameter(torch.randn(n, self.dim) * init_std)
        # fixed sparse matrices (not parameters), CSR; moved by .to() through _apply below
        self.adj = as_csr(adj.to(torch.float32))
        self.adj_t = as_csr(adj.to(torch.float32).t())

    def _apply(self, fn, recurse=True):
        out = super()._apply(fn, recurse)
        self.adj, self.adj_t = fn(self.adj), fn(self.adj_t)
        return out

    def node_embeddings(self):  # (N, d_out)
        raise NotImplementedError

    def embeddings(self):
        """(user embeddings, item embeddings) after propagation."""
        E = self.node_embeddings()
        return E[: self.n_users], E[self.n_users:]

    def forward(self, users, pos, neg):
        E = self.node_embeddings()
        u, i, j = E[users], E[self.n_users + pos], E[self.n_users + neg]
        margin = (u * i).sum(1) - (u * j).sum(1)
        e0 = self.embedding
        ego = 0.5 * (e0[users].pow(2).sum(1) + e0[self.n_users + pos].pow(2).sum(1)
                     + e0[self.n_users + neg].pow(2).sum(1))
        return torch.stack([margin, ego], dim=1)


class LightGCN(_GraphModel):
    """LightGCN (He et al. 2020) with ``n_layers`` propagation steps; ``n_layers=0`` is MF."""

    def __init__(self, n_users, n_items, dim, adj, n_layers: int = 3, init_std: float = 0.1):
        super().__init__(n_users, n_items, dim, adj, init_std)
        self.n_layers = int(n_layers)

    def node_embeddings(self):
        E = self.embedding
        total = E
        for _ in range(self.n_layers):
            E = propagate(self.adj, E, self.adj_t)
            total = total + E
        return total / (self.n_layers + 1)


class GCN(_GraphModel):
    """σ(Â H W_l) per layer (no bias), the last layer's output; Glorot-uniform W_l (d, d)."""

    def __init__(self, n_users, n_items, dim, adj, n_layers: int = 2, activation: str = "relu",
                 last_activation: bool = True, init_std: float = 0.1):
        super().__init__(n_users, n_items, dim, adj, init_std)
        self.activation, self.last_activation = activation, bool(last_activation)
        bound = float(np.sqrt(6.0 / (2 * dim)))
        self.kernels = nn.ParameterList(
            [nn.Parameter(torch.empty(dim, dim).uniform_(-bound, bound)) for _ in range(int(n_layers))])

    def node_embeddings(self):
        H = self.embedding
        for layer, W in enumerate(self.kernels):
            last = layer == len(self.kernels) - 1
            act = ACTIVATIONS[self.activation if (self.last_activation or not last) else "identity"]
            H = act(propagate(self.adj, H, self.adj_t) @ W)
        return H


def bpr_training(train, reg: float, batch_size: int, draw: str = "pairs", device: str = "cpu"):
    """``(loss, data)`` for :func:`adrec.torch_nn.train.fit`: BPR with λ on the batch's initial
    vectors over :func:`bpr_batches` (mirrored by :func:`adrec.keras_nn.gcn.bpr_training`)."""
    return bpr_loss_fn(reg), bpr_batches(train, batch_size, device, draw)


def bpr_batches(train, batch_size: int, device: str = "cpu", draw: str = "pairs"):
    """``batches(epoch, rng)`` for :func:`adrec.torch_nn.train.fit`: one fresh set of BPR triples
    per epoch (:meth:`adrec.graph.Interactions.sample_bpr` with ``draw``), cut into batches. The epoch's triples
    go to ``device`` in one copy, so the batches are slices there (a copy per batch would make the
    host wait for the GPU at every batch)."""
    def batches(epoch, rng):
        u, i, j = (torch.as_tensor(x, device=device) for x in train.sample_bpr(rng, draw=draw))
        for s in range(0, len(u), batch_size):
            yield u[s:s + batch_size], i[s:s + batch_size], j[s:s + batch_size], None
    return batches
