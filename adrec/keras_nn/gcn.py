"""Graph propagation models in Keras 3 (``keras.ops`` only): mirror of :mod:`adrec.torch_nn.gcn`
and of the numpy reference :mod:`adrec.ref.gcn` (document 003 §3.2.1, §4.2.1).

Â is given as a scipy sparse matrix and kept as an edge list (rows, cols, values); one
propagation Â H gathers the messages values * H[cols] and sums them into their rows
(``ops.scatter_update(zeros, rows, messages, reduction="add")``, the same sum as
``ops.segment_sum(messages, rows)``, which the torch backend runs about 5x slower because it
replicates the ids over every column). It runs on the TensorFlow, JAX and torch backends. Same
names and shapes as the PyTorch mirror:

* :class:`LightGCN`: E^(l+1) = Â E^(l); output = mean of E^(0..L) (L = 0: matrix factorisation).
* :class:`GCN`: H^(l+1) = σ(Â H^(l) W_l), output = H^(L).

``model((users, pos, neg))`` returns (B, 2): the BPR margin <u,i> - <u,j> and the per-triple
½(‖u0‖² + ‖i0‖² + ‖j0‖²) of the ego embeddings; :class:`BPRLoss` turns it into LightGCN's loss.
:func:`bpr_epochs` feeds :func:`adrec.keras_nn.train.fit` with fresh triples every epoch: the same
triples as the PyTorch loop draws.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ..graph import edge_list

ACTIVATIONS = {"relu": ops.relu, "tanh": ops.tanh, "sigmoid": ops.sigmoid, "identity": lambda x: x}


def propagate(edges, H, n_nodes: int):
    """Â H from the edge list ``edges = (rows, cols, values)`` of Â: (n_nodes, d).

    ``rows`` may be (E,) or (E, 1) (the shape ``scatter_update`` takes)."""
    rows, cols, vals = edges
    rows = ops.reshape(rows, (-1, 1))
    msg = ops.take(H, cols, axis=0) * ops.expand_dims(ops.cast(vals, H.dtype), 1)
    zeros = ops.zeros((n_nodes, ops.shape(H)[1]), dtype=H.dtype)
    return ops.scatter_update(zeros, rows, msg, reduction="add")


def recommended_jit_compile():
    """``jit_compile`` for :func:`adrec.keras_nn.train.fit`: XLA on TensorFlow (several times
    faster for these scatter/gather graphs), the backend's default elsewhere ("auto": XLA on JAX,
    eager on torch)."""
    return True if keras.backend.backend() == "tensorflow" else "auto"


def bpr_loss(out, reg: float = 0.0):
    """mean softplus(-(x_ui - x_uj)) + reg * mean ½(‖u0‖² + ‖i0‖² + ‖j0‖²) from the (B, 2) output."""
    return ops.mean(ops.softplus(-out[:, 0])) + reg * ops.mean(out[:, 1])


class BPRLoss(keras.losses.Loss):
    """:func:`bpr_loss` as a Keras loss (the target is ignored: BPR needs none)."""

    def __init__(self, reg: float = 0.0, name="bpr", **kwargs):
        super().__init__(name=name, **kwargs)
        self.reg = float(reg)

    def call(self, y_true, y_pred):
        return ops.softplus(-y_pred[:, 0]) + self.reg * y_pred[:, 1]

    def get_config(self):
        return {**super().get_config(), "reg": self.reg}


class _GraphModel(keras.Model):
    def __init__(self, n_users: int, n_items: int, dim: int, adj, init_std: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.n_users, self.n_items, self.dim = int(n_users), int(n_items), int(dim)
        self.n_nodes = self.n_users + self.n_items
        if tuple(adj.shape) != (self.n_nodes, self.n_nodes):
            raise ValueError(f"adjacency must be ({self.n_nodes}, {self.n_nodes}) for {n_users} users + "
                             f"{n_items} items, got {tuple(adj.shape)}")
        rows, cols, vals = edge_list(adj)
        self._edges = (rows.astype("int32")[:, None], cols.astype("int32"), vals.astype("float32"))
        self.embedding = self.add_weight(shape=(self.n_nodes, self.dim), name="embedding",
                                         initializer=keras.initializers.RandomNormal(stddev=init_std))

    def edges(self):
        rows, cols, vals = self._edges
        return ops.convert_to_tensor(rows), ops.convert_to_tensor(cols), ops.convert_to_tensor(vals)

    def node_embeddings(self):  # (N, d_out)
        raise NotImplementedError

    def embeddings(self):
        """(user embeddings, item embeddings) after propagation."""
        E = self.node_embeddings()
        return E[: self.n_users], E[self.n_users:]

    def call(self, inputs):
        users, pos, neg = inputs
        users = ops.reshape(ops.cast(users, "int32"), (-1,))
        pos = ops.reshape(ops.cast(pos, "int32"), (-1,)) + self.n_users
        neg = ops.reshape(ops.cast(neg, "int32"), (-1,)) + self.n_users
        E = self.node_embeddings()
        u, i, j = ops.take(E, users, axis=0), ops.take(E, pos, axis=0), ops.take(E, neg, axis=0)
        margin = ops.sum(u * i, axis=1) - ops.sum(u * j, axis=1)
        e0 = self.embedding
        ego = 0.5 * (ops.sum(ops.square(ops.take(e0, users, axis=0)), axis=1)
                     + ops.sum(ops.square(ops.take(e0, pos, axis=0)), axis=1)
                     + ops.sum(ops.square(ops.take(e0, neg, axis=0)), axis=1))
        return ops.stack([margin, ego], axis=1)


class LightGCN(_GraphModel):
    """LightGCN (He et al. 2020) with ``n_layers`` propagation steps; ``n_layers=0`` is MF."""

    def __init__(self, n_users, n_items, dim, adj, n_layers: int = 3, init_std: float = 0.1, **kwargs):
        super().__init__(n_users, n_items, dim, adj, init_std, **kwargs)
        self.n_layers = int(n_layers)

    def node_embeddings(self):
        edges = self.edges()
        E = ops.convert_to_tensor(self.embedding)
        total = E
        for _ in range(self.n_layers):
            E = propagate(edges, E, self.n_nodes)
            total = total + E
        return total / (self.n_layers + 1)


class GCN(_GraphModel):
    """σ(Â H W_l) per layer (no bias), the last layer's output; Glorot-uniform W_l (d, d)."""

    def __init__(self, n_users, n_items, dim, adj, n_layers: int = 2, activation: str = "relu",
                 last_activation: bool = True, init_std: float = 0.1, **kwargs):
        super().__init__(n_users, n_items, dim, adj, init_std, **kwargs)
        self.activation, self.last_activation = activation, bool(last_activation)
        self.kernels = [self.add_weight(shape=(self.dim, self.dim), name=f"kernel_{layer}",
                                        initializer="glorot_uniform") for layer in range(int(n_layers))]

    def node_embeddings(self):
        edges = self.edges()
        H = ops.convert_to_tensor(self.embedding)
        for layer, W in enumerate(self.kernels):
            last = layer == len(self.kernels) - 1
            act = ACTIVATIONS[self.activation if (self.last_activation or not last) else "identity"]
            H = act(ops.matmul(propagate(edges, H, self.n_nodes), W))
        return H


def bpr_training(train, reg: float, batch_size: int, draw: str = "pairs", device: str = "cpu"):
    """``(loss, data)`` for :func:`adrec.keras_nn.train.fit` (``batch_size`` goes to ``fit``, with
    ``shuffle=False``: the triples come in their drawn order, as the PyTorch batches)."""
    return BPRLoss(reg), bpr_epochs(train, draw)


def bpr_epochs(train, draw: str = "pairs"):
    """Training data for :func:`adrec.keras_nn.train.fit` (its ``x(epoch, rng)`` form): every
    epoch, fresh BPR triples ((users, pos, neg), dummy target) from
    :meth:`adrec.graph.Interactions.sample_bpr` (``draw``) with the loop's ``rng`` — the very triples, in the
    same order, that :func:`adrec.torch_nn.gcn.bpr_batches` gives the PyTorch loop (pass
    ``shuffle=False`` to keep that order)."""
    def data(epoch, rng):
        u, i, j = (t.astype("int32") for t in train.sample_bpr(rng, draw=draw))
        return (u, i, j), np.zeros(u.shape[0], dtype="float32")
    return data
