"""Graph propagation on the user–ad graph (document 003 §3.2.1 and §4.2.1), numpy + scipy.sparse.

The document's layer rule: the next layer's node vectors are an activation applied to the current
vectors averaged over each node's neighbours with the symmetric weights 1/sqrt(d_u d_v), i.e.
H^(l+1) = σ(Â H^(l)) with Â = D^-1/2 A D^-1/2 (:mod:`adrec.graph` builds Â). Two models use it:

* :func:`gcn_embeddings` — the rule with a weight matrix per layer, as in Kipf & Welling (2017):
  H^(l+1) = σ(Â H^(l) W_l); the last layer is the output (the document's form, plus weights).
* :func:`lightgcn_embeddings` — LightGCN (He et al., SIGIR 2020): no weights and no σ,
  E^(l+1) = Â E^(l), output = mean of E^(0..L). With L = 0 this is matrix factorisation.

Scores are dot products of user and item rows; training uses the BPR loss (:func:`bpr_loss`).
Shapes: Â (N, N) sparse with N = n_users + n_items (users first); H, E (N, d); W_l (d, d).
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "identity": lambda x: x,
}


def propagate(adj, H):
    """Â H: one round of neighbour averaging (sparse @ dense)."""
    return np.asarray(adj @ H)


def gcn_layer(adj, H, W=None, b=None, activation: str = "relu"):
    """σ(Â H W + b): the document's rule (W = None: no weights, the formula exactly as written)."""
    Z = propagate(adj, H)
    if W is not None:
        Z = Z @ W
    if b is not None:
        Z = Z + b
    return ACTIVATIONS[activation](Z)


def gcn_embeddings(adj, E0, weights, biases=None, activation: str = "relu", last_activation: bool = True):
    """Layers of :func:`gcn_layer`; returns the last layer's output (N, d_out).

    ``last_activation=False`` leaves the last layer linear (so scores can be negative)."""
    H = E0
    biases = biases if biases is not None else [None] * len(weights)
    for layer, (W, b) in enumerate(zip(weights, biases)):
        last = layer == len(weights) - 1
        H = gcn_layer(adj, H, W, b, activation if (last_activation or not last) else "identity")
    return H


def lightgcn_layers(adj, E0, n_layers: int) -> list:
    """[E^(0), Â E^(0), ..., Â^L E^(0)]."""
    out = [np.asarray(E0)]
    for _ in range(n_layers):
        out.append(propagate(adj, out[-1]))
    return out


def lightgcn_embeddings(adj, E0, n_layers: int):
    """LightGCN's final embeddings: the mean of the L + 1 layer outputs (α_l = 1 / (L + 1))."""
    return np.mean(lightgcn_layers(adj, E0, n_layers), axis=0)


def split_nodes(E, n_users: int):
    """(user rows, item rows) of a node matrix whose first ``n_users`` rows are users."""
    return E[:n_users], E[n_users:]


def scores(user_emb, item_emb):
    """Preference scores s_{u,a} = <u, a> of every user for every item: (n_users, n_items)."""
    return user_emb @ item_emb.T


def softplus(x):
    return np.logaddexp(0.0, x)


def bpr_loss(u, i, j, u0=None, i0=None, j0=None, reg: float = 0.0):
    """Bayesian personalised ranking: mean over triples of -log σ(<u,i> - <u,j>), plus
    ``reg`` * ½ (‖u0‖² + ‖i0‖² + ‖j0‖²) / batch on the layer-0 (ego) embeddings of the triple, as
    LightGCN regularises. u, i, j: (B, d) final embeddings; u0, i0, j0: (B, d) ego embeddings."""
    x = np.sum(u * i, axis=1) - np.sum(u * j, axis=1)
    loss = np.mean(softplus(-x))
    if reg:
        loss = loss + reg * 0.5 * (np.sum(u0 ** 2) + np.sum(i0 ** 2) + np.sum(j0 ** 2)) / u.shape[0]
    return float(loss)


def mean_pairwise_cosine(H, eps: float = 1e-12) -> float:
    """Mean cosine similarity over all ordered pairs of distinct rows, in O(N d):
    with unit rows x_n, Σ_{m≠n} <x_m, x_n> = ‖Σ x_n‖² - N. Zero rows are left out."""
    H = np.asarray(H, dtype=np.float64)
    norms = np.linalg.norm(H, axis=1)
    X = H[norms > eps] / norms[norms > eps, None]
    n = X.shape[0]
    if n < 2:
        raise ValueError("need at least two non-zero rows")
    s = X.sum(axis=0)
    return float((s @ s - n) / (n * (n - 1)))


def smoothing_curve(adj, E0, n_layers: int, mean_of_layers: bool = False, groups=None) -> dict:
    """Mean pairwise cosine similarity (:func:`mean_pairwise_cosine`) of the node vectors after
    0..n_layers propagations by ``adj``; with ``mean_of_layers`` of LightGCN's running mean of the
    layers instead. ``groups``: name -> row selection (default: all rows). Layers are not kept, so
    memory stays O(N d) at any depth. Returns name -> array of n_layers + 1 values."""
    groups = groups or {"all": slice(None)}
    E = np.asarray(E0, dtype=np.float64)
    total = E.copy()
    out = {name: [] for name in groups}
    for depth in range(n_layers + 1):
        if depth:
            E = propagate(adj, E)
            total += E
        X = total / (depth + 1) if mean_of_layers else E
        for name, rows in groups.items():
            out[name].append(mean_pairwise_cosine(X[rows]))
    return {name: np.array(v) for name, v in out.items()}
