"""Scoring a (user, ad) pair, in numpy: the dot product of document 002 §4.1-4.3, the argmax
recommendation of document 003 §4.3.3, and the learned similarities of Neural Collaborative
Filtering (He et al., WWW 2017) that the companion compares the dot product with.

The documents' model, in our words: a user and an ad are each mapped to a vector by an embedding
function, the score is the inner product of the two vectors, and a noise term ε stands for what
the model gets wrong (document 002 §4.1-4.2). The recommendation is the ad with the highest score
(document 003 §4.3.3). Read as a click model, "score + ε > 0" with ε logistic gives
P(click) = σ(score) — the probability a model trained with binary cross-entropy outputs — and with
ε Gaussian it gives the probit Φ(score) (:func:`click_probability`).

The four trained models score a batch of (user, item) id pairs from a dict of parameters whose
names and shapes are shared with :mod:`adrec.torch_nn.scoring` and :mod:`adrec.keras_nn.scoring`
(kernels are stored (in, out), as Keras stores them):

* ``mf_dot`` — two towers, a dot product (matrix factorisation with biases, as tuned by Rendle,
  Krichene, Zhang & Anderson, RecSys 2020): b + b_u + b_i + p_u · q_i.
* ``gmf`` — generalised MF (NCF): a learned weighting of the element-wise product,
  h · (p_u ⊙ q_i) + b.
* ``mlp`` — a learned similarity (NCF): a ReLU tower on the concatenation [p_u, q_i] halving its
  width down to ``factors``, then a linear output.
* ``neumf`` — NeuMF (NCF): the GMF vector and the MLP tower's last layer concatenated, then a
  linear output; the two branches have their own embeddings.

Every model returns logits (B,); σ(logit) is the predicted probability of an interaction.
Shapes: users, items (B,) int; factors d; MLP embedding size E = d · 2^(n_layers-1).
"""
from __future__ import annotations

import numpy as np

MODEL_NAMES = ("mf_dot", "gmf", "mlp", "neumf")
# trained variants of a model: their name -> the architecture (parameter layout) they share
VARIANTS = {"neumf_pre": "neumf"}  # NeuMF initialised from a trained GMF and MLP (He et al. §3.4.1)


def architecture(name: str) -> str:
    """The model of :data:`MODEL_NAMES` that ``name`` (a model or a variant) is built as."""
    arch = VARIANTS.get(name, name)
    if arch not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join([*MODEL_NAMES, *VARIANTS])}")
    return arch


# --------------------------------------------------------------------------------------------
# document 002 §4.1-4.3 and document 003 §4.3.3


def dot_score(user_vecs, ad_vecs) -> np.ndarray:
    """Row-wise inner product of user and ad vectors, (..., d) x (..., d) -> (...)."""
    u = np.asarray(user_vecs, dtype=np.float64)
    a = np.asarray(ad_vecs, dtype=np.float64)
    if u.shape[-1] != a.shape[-1]:
        raise ValueError(f"user vectors have dimension {u.shape[-1]}, ad vectors {a.shape[-1]}")
    return np.sum(u * a, axis=-1)


def score_matrix(user_vecs, ad_vecs) -> np.ndarray:
    """Every user against every ad: (n_users, d) @ (n_ads, d)^T -> (n_users, n_ads)."""
    return np.asarray(user_vecs, dtype=np.float64) @ np.asarray(ad_vecs, dtype=np.float64).T


def noisy_score(user_vecs, ad_vecs, noise) -> np.ndarray:
    """The document's full model: inner product plus a noise term ε (same shape as the scores)."""
    return dot_score(user_vecs, ad_vecs) + np.asarray(noise, dtype=np.float64)


def sigmoid(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def click_probability(score, noise: str = "logistic") -> np.ndarray:
    """P(score + ε > 0) for standard logistic ε (= σ(score)) or standard normal ε (= Φ(score))."""
    s = np.asarray(score, dtype=np.float64)
    if noise == "logistic":
        return sigmoid(s)
    if noise == "gaussian":
        from scipy.special import ndtr

        return ndtr(s)
    raise ValueError(f"noise must be 'logistic' or 'gaussian', got {noise!r}")


def recommend_argmax(scores, axis: int = -1) -> np.ndarray:
    """Index of the highest-scoring ad along ``axis`` (document 003 §4.3.3); ties go to the first."""
    return np.argmax(np.asarray(scores), axis=axis)


def top_k(scores, k: int) -> np.ndarray:
    """Indices of the k highest scores of each row, best first (stable: ties keep index order)."""
    s = np.asarray(scores)
    order = np.argsort(-s, axis=-1, kind="stable")
    return order[..., :k]


def bce_with_logits(logits, labels) -> float:
    """Mean binary cross-entropy of labels in {0, 1} given logits (numerically stable form)."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


# --------------------------------------------------------------------------------------------
# the trained models, from a dict of parameters


def mlp_embedding_size(factors: int, n_layers: int) -> int:
    """E = factors · 2^(n_layers-1): the tower [2E -> E -> ... -> factors] halves at each layer."""
    return int(factors) * 2 ** (int(n_layers) - 1)


def param_shapes(model: str, n_users: int, n_items: int, factors: int, n_layers: int = 3) -> dict:
    """Name -> shape of every parameter of ``model`` (the contract shared with torch and Keras)."""
    d, L = int(factors), int(n_layers)
    E = mlp_embedding_size(d, L)
    shapes: dict[str, tuple] = {}
    if model == "mf_dot":
        return {"user_embedding": (n_users, d), "item_embedding": (n_items, d),
                "user_bias": (n_users,), "item_bias": (n_items,), "bias": (1,)}
    if model in ("gmf", "neumf"):
        shapes.update({"gmf_user": (n_users, d), "gmf_item": (n_items, d)})
    if model in ("mlp", "neumf"):
        shapes.update({"mlp_user": (n_users, E), "mlp_item": (n_items, E)})
        width = 2 * E
        for layer in range(L):
            shapes[f"mlp_kernel_{layer}"] = (width, width // 2)
            shapes[f"mlp_bias_{layer}"] = (width // 2,)
            width //= 2
    if model not in MODEL_NAMES:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
    out_in = {"gmf": d, "mlp": d, "neumf": 2 * d}[model]
    shapes.update({"out_kernel": (out_in, 1), "out_bias": (1,)})
    return shapes


def init_params(model: str, n_users: int, n_items: int, factors: int, n_layers: int = 3,
                init_std: float = 0.01, seed: int = 0) -> dict:
    """Random parameters of the right shapes (embeddings N(0, init_std²), kernels Glorot-uniform,
    biases small and non-zero so that tests exercise them)."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in param_shapes(model, n_users, n_items, factors, n_layers).items():
        if "kernel" in name:
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            params[name] = rng.uniform(-limit, limit, shape)
        elif "bias" in name:
            params[name] = rng.normal(0.0, 0.1, shape)
        else:
            params[name] = rng.normal(0.0, init_std, shape)
    return {k: v.astype(np.float32) for k, v in params.items()}


def _relu(x):
    return np.maximum(x, 0.0)


def mlp_tower(params: dict, user_vecs, item_vecs) -> np.ndarray:
    """ReLU layers on [p_u, q_i]: (B, 2E) -> (B, factors)."""
    h = np.concatenate([user_vecs, item_vecs], axis=-1)
    layer = 0
    while f"mlp_kernel_{layer}" in params:
        h = _relu(h @ params[f"mlp_kernel_{layer}"] + params[f"mlp_bias_{layer}"])
        layer += 1
    return h


def mf_dot(params: dict, users, items) -> np.ndarray:
    u, i = np.asarray(users), np.asarray(items)
    return (params["bias"][0] + params["user_bias"][u] + params["item_bias"][i]
            + np.sum(params["user_embedding"][u] * params["item_embedding"][i], axis=-1))


def _out(params, h):
    return (h @ params["out_kernel"])[:, 0] + params["out_bias"][0]


def gmf(params: dict, users, items) -> np.ndarray:
    u, i = np.asarray(users), np.asarray(items)
    return _out(params, params["gmf_user"][u] * params["gmf_item"][i])


def mlp(params: dict, users, items) -> np.ndarray:
    u, i = np.asarray(users), np.asarray(items)
    return _out(params, mlp_tower(params, params["mlp_user"][u], params["mlp_item"][i]))


def neumf(params: dict, users, items) -> np.ndarray:
    u, i = np.asarray(users), np.asarray(items)
    g = params["gmf_user"][u] * params["gmf_item"][i]
    m = mlp_tower(params, params["mlp_user"][u], params["mlp_item"][i])
    return _out(params, np.concatenate([g, m], axis=-1))


SCORERS = {"mf_dot": mf_dot, "gmf": gmf, "mlp": mlp, "neumf": neumf}


def score(model: str, params: dict, users, items) -> np.ndarray:
    """Logits (B,) of ``model`` with ``params`` for the pairs (users[b], items[b])."""
    if model not in SCORERS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
    return SCORERS[model](params, users, items)


def embedding_l2(model: str, params: dict, users, items) -> np.ndarray:
    """Per-example squared norm of the embedding rows (and biases) a pair uses: the L2 penalty
    that the training loss adds, times ``reg`` (mean over the batch)."""
    u, i = np.asarray(users), np.asarray(items)
    total = np.zeros(u.shape, dtype=np.float64)
    for name, rows in (("user_embedding", u), ("item_embedding", i), ("gmf_user", u), ("gmf_item", i),
                       ("mlp_user", u), ("mlp_item", i)):
        if name in params:
            total += np.sum(np.asarray(params[name], np.float64)[rows] ** 2, axis=-1)
    for name, rows in (("user_bias", u), ("item_bias", i)):
        if name in params:
            total += np.asarray(params[name], np.float64)[rows] ** 2
    return total


def pointwise_loss(model: str, params: dict, users, items, labels, reg: float = 0.0) -> float:
    """The training objective: mean BCE of the logits plus reg · mean per-example L2."""
    logits = score(model, params, users, items)
    return bce_with_logits(logits, labels) + reg * float(np.mean(embedding_l2(model, params, users, items)))


# --------------------------------------------------------------------------------------------
# NeuMF with pre-training (He et al. 2017 §3.4.1)


def neumf_pretrained_params(gmf_params: dict, mlp_params: dict, alpha: float = 0.5) -> dict:
    """NeuMF's parameters initialised from a trained GMF and a trained MLP (He et al. 2017
    §3.4.1): the GMF branch takes GMF's embeddings, the MLP branch MLP's embeddings and tower,
    and the output layer is [alpha · h_GMF, (1 - alpha) · h_MLP] with bias
    alpha · b_GMF + (1 - alpha) · b_MLP (as in the authors' code), so that the initial NeuMF logit
    is alpha · GMF logit + (1 - alpha) · MLP logit."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    g_out, m_out = np.asarray(gmf_params["out_kernel"]), np.asarray(mlp_params["out_kernel"])
    if g_out.shape != m_out.shape:
        raise ValueError(f"GMF predicts from {g_out.shape[0]} factors, the MLP from {m_out.shape[0]}: "
                         "NeuMF needs the same number")
    params = {k: v for k, v in gmf_params.items() if k.startswith("gmf_")}
    params.update({k: v for k, v in mlp_params.items() if k.startswith("mlp_")})
    params["out_kernel"] = np.concatenate([alpha * g_out, (1.0 - alpha) * m_out], axis=0)
    params["out_bias"] = alpha * np.asarray(gmf_params["out_bias"]) + (1.0 - alpha) * np.asarray(mlp_params["out_bias"])
    return {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
