r"""User-profile fusion: a user vector as a weighted sum over the user's past interactions, in numpy.

Document 000 (000_27f89224ea2d2660.txt) §4.1 writes the user profile as a function of behaviour,
content and context; §4.2 makes it a weighted sum over the user's ``n`` interactions of the product
of the three, with unspecified weights ``w_i``. Read with vectors, the only product of three
``d``-vectors that is again a ``d``-vector is the element-wise one::

    p_u = sum_i w_i * (B_i ⊙ C_i ⊙ X_i)                                           (doc 000 §4.2)

(:func:`interaction_embedding`, :func:`user_profile`). Document 003 (003_55ad79a3f815e32c.txt)
§4.3.1 builds a user vector as the average of projected history vectors, ``W h_i``; its index runs
over ``i = 0..n`` (``n + 1`` terms) but it divides by ``n`` (:func:`user_vector_as_written`, next
to the true mean :func:`user_vector_mean`).

The click model of notebook 01 (:func:`logits`) makes the three factors concrete for one history
event ``i`` of a row (``d``-dimensional embeddings, tables named as in the parameter dict):

* content ``C_i`` = mean of the content-token embeddings of the event's item (``content`` table;
  tokens: the item's id, categories, title words; see :mod:`adrec.data.histories`);
* behaviour ``B_i = 1 + beh[b_i]`` and context ``X_i = 1 + sum_f ctx[x_if]``: gates around 1, so
  that at initialisation (small embeddings) ``B ⊙ C ⊙ X ≈ C`` and the product does not vanish;
* ``interaction="concat"`` replaces the product by ``[B_i, C_i, X_i] @ int_w + int_b`` (the
  concatenation that document 000 §5.3 describes for its ``build_user_profile``).

The weights ``w_i`` (``fusion``) are

* ``"mean"``: ``1/n`` over the ``n`` real events (the uniform mean of document 003 §4.3.1, done right);
* ``"recency"``: ``softmax_i(-lambda * age_i)``, ``age_i`` = 0 for the latest event, with
  ``lambda = softplus(decay)`` learned;
* ``"din"``: target-aware attention (Zhou et al., KDD 2018, "Deep Interest Network"):
  ``a_i = att_w2 . relu([e_i, q, e_i ⊙ q, e_i - q] @ att_w1 + att_b1) + att_b2``, then a
  softmax over the real events (DIN itself leaves the weights unnormalised; we normalise so that
  all three fusions are weighted means and differ only in *which* events they weight).

A row with no history gets ``p_u = 0``. The target item's content vector ``q`` (same ``content``
table) and the row context ``x = sum_f ctx[r_f]`` join the profile in a one-hidden-layer MLP::

    logit = mlp_w2 . relu([p_u, q, p_u ⊙ q, x] @ mlp_w1 + mlp_b1) + mlp_b2

Inputs (``model(*inputs)``, as :attr:`adrec.data.histories.HistorySplit.inputs`): ``target_item``
(N,), ``row_ctx`` (N, Fr), ``hist_item`` (N, L) with 0 = no event, ``hist_beh`` (N, L),
``hist_ctx`` (N, L, Fh), ``hist_age`` (N, L). ``item_tokens`` (n_items, T) is a constant of the
model (0 = padding token).
"""
from __future__ import annotations

import numpy as np

FUSIONS = ("mean", "recency", "din")
INTERACTIONS = ("product", "concat")
NEG = -1e9  # score of a padding slot before the softmax


# ----------------------------------------------------------------------------------------------
# the formulas


def interaction_embedding(b, c, x):
    """Document 000 §4.2's ``User_Behavior_i · Content_i · Context_i`` read as the element-wise
    product of three ``d``-vectors (any leading shape)."""
    return np.asarray(b) * np.asarray(c) * np.asarray(x)


def user_profile(e, w):
    """``sum_i w_i e_i``: ``e`` (..., L, d), ``w`` (..., L) -> (..., d) (document 000 §4.2)."""
    return np.einsum("...l,...ld->...d", np.asarray(w), np.asarray(e))


def user_vector_as_written(W, H):
    """Document 003 §4.3.1 exactly as printed: ``(1/n) sum_{i=0}^{n} W h_i`` for the ``n + 1``
    rows ``h_0 .. h_n`` of ``H`` (so ``n = len(H) - 1``). With one row (``n = 0``) it divides by
    zero."""
    H = np.asarray(H, dtype=np.float64)
    n = H.shape[0] - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.asarray(W) @ H.sum(axis=0)) / np.float64(n)


def user_vector_mean(W, H):
    """The mean of the projected history, ``(1/(n+1)) sum_{i=0}^{n} W h_i`` (= ``W`` times the
    mean of ``h``: projection and averaging commute)."""
    H = np.asarray(H, dtype=np.float64)
    return np.asarray(W) @ H.mean(axis=0)


def masked_softmax(scores, mask):
    """Softmax over the last axis where ``mask`` is true; a row with no true entry gets all zeros."""
    s = np.where(mask, scores, NEG)
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s) * mask
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def uniform_weights(mask):
    """``1/n`` on each of the ``n`` real events of a row (0 on padding; all 0 when ``n = 0``)."""
    mask = np.asarray(mask, dtype=np.float32)
    n = mask.sum(axis=-1, keepdims=True)
    return mask / np.maximum(n, 1.0)


def as_written_weights(mask):
    """Document 003 §4.3.1's normalisation applied to ``k`` real events: ``1/(k - 1)`` each (its
    ``n + 1`` terms divided by ``n``); ``inf`` when ``k = 1``. For the check only, not a fusion."""
    mask = np.asarray(mask, dtype=np.float64)
    k = mask.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mask > 0, 1.0 / (k - 1.0), 0.0)


def softplus(x):
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def recency_weights(age, mask, decay):
    """``softmax(-softplus(decay) * age)`` over the real events: each step back in the history
    multiplies the weight by ``gamma = exp(-softplus(decay))``."""
    rate = softplus(decay).astype(np.float32)
    return masked_softmax(-rate * np.asarray(age, dtype=np.float32), mask)


def relu(x):
    return np.maximum(x, 0)


def din_scores(e, q, w1, b1, w2, b2):
    """DIN's activation unit: ``w2 . relu([e, q, e ⊙ q, e - q] @ w1 + b1) + b2`` for every
    event; ``e`` (N, L, d), ``q`` (N, d) -> (N, L)."""
    qb = np.broadcast_to(q[:, None, :], e.shape)
    z = np.concatenate([e, qb, e * qb, e - qb], axis=-1)
    return (relu(z @ w1 + b1) @ w2)[..., 0] + b2[0]


def din_weights(e, q, mask, w1, b1, w2, b2):
    return masked_softmax(din_scores(e, q, w1, b1, w2, b2), mask)


# ----------------------------------------------------------------------------------------------
# the click model


def content_table(content, item_tokens):
    """(n_items, d): the mean embedding of each item's content tokens (token 0 = padding)."""
    tok = np.asarray(item_tokens)
    m = (tok > 0).astype(np.float32)[..., None]
    return (content[tok] * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)


def event_embeddings(params, item_tokens, hist_item, hist_beh, hist_ctx, interaction="product"):
    """(N, L, d) embedding of every history event (the bracket of document 000 §4.2)."""
    C_all = content_table(params["content"], item_tokens)
    c = C_all[np.asarray(hist_item)]
    b = 1.0 + params["beh"][np.asarray(hist_beh)]
    x = 1.0 + params["ctx"][np.asarray(hist_ctx)].sum(axis=-2)
    if interaction == "product":
        return interaction_embedding(b, c, x)
    if interaction == "concat":
        return np.concatenate([b, c, x], axis=-1) @ params["int_w"] + params["int_b"]
    raise ValueError(f"interaction must be one of {INTERACTIONS}, got {interaction!r}")


def fusion_weights(params, e, q, hist_item, hist_age, fusion):
    """(N, L) weights of the history events under ``fusion``."""
    mask = np.asarray(hist_item) > 0
    if fusion == "mean":
        return uniform_weights(mask)
    if fusion == "mean_as_written":  # document 003 §4.3.1 read literally (for the check)
        return as_written_weights(mask)
    if fusion == "recency":
        return recency_weights(hist_age, mask, params["decay"])
    if fusion == "din":
        return din_weights(e, q, mask, params["att_w1"], params["att_b1"], params["att_w2"], params["att_b2"])
    raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")


def logits(params, inputs, item_tokens, fusion="din", interaction="product", return_weights=False):
    """Click logits (N,) of the fusion model (module docstring); optionally also the (N, L) weights."""
    target_item, row_ctx, hist_item, hist_beh, hist_ctx, hist_age = (np.asarray(a) for a in inputs)
    C_all = content_table(params["content"], item_tokens)
    q = C_all[target_item]
    e = event_embeddings(params, item_tokens, hist_item, hist_beh, hist_ctx, interaction)
    w = fusion_weights(params, e, q, hist_item, hist_age, fusion)
    p = user_profile(e, w)
    x = params["ctx"][row_ctx].sum(axis=1)
    h = relu(np.concatenate([p, q, p * q, x], axis=-1) @ params["mlp_w1"] + params["mlp_b1"])
    s = (h @ params["mlp_w2"])[:, 0] + params["mlp_b2"][0]
    return (s, w) if return_weights else s


def init_params(sizes: dict, dim: int, fusion: str = "din", interaction: str = "product",
                att_hidden: int = 16, mlp_hidden: int = 32, rng=None, scale: float = 0.1) -> dict:
    """Random parameters (non-zero everywhere, for parity tests); ``sizes`` as
    :attr:`adrec.data.histories.HistoryTask.sizes`."""
    rng = rng if rng is not None else np.random.default_rng(0)
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    p = {"content": f32(rng.normal(size=(sizes["n_content"], dim)) * scale),
         "beh": f32(rng.normal(size=(sizes["n_beh"], dim)) * scale),
         "ctx": f32(rng.normal(size=(sizes["n_ctx"], dim)) * scale),
         "mlp_w1": f32(rng.normal(size=(4 * dim, mlp_hidden)) / np.sqrt(4 * dim)),
         "mlp_b1": f32(rng.normal(size=mlp_hidden) * scale),
         "mlp_w2": f32(rng.normal(size=(mlp_hidden, 1)) / np.sqrt(mlp_hidden)),
         "mlp_b2": f32(rng.normal(size=1) * scale)}
    if fusion == "recency":
        p["decay"] = np.float32(rng.normal())
    if fusion == "din":
        p.update(att_w1=f32(rng.normal(size=(4 * dim, att_hidden)) / np.sqrt(4 * dim)),
                 att_b1=f32(rng.normal(size=att_hidden) * scale),
                 att_w2=f32(rng.normal(size=(att_hidden, 1)) / np.sqrt(att_hidden)),
                 att_b2=f32(rng.normal(size=1) * scale))
    if interaction == "concat":
        p.update(int_w=f32(rng.normal(size=(3 * dim, dim)) / np.sqrt(3 * dim)),
                 int_b=f32(rng.normal(size=dim) * scale))
    return p
