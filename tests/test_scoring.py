"""Scoring: document 002 §4.1-4.3 (dot product + noise, its worked example) and document 003
§4.3.3 (argmax), checked by hand; the numpy models against independent loop implementations;
PyTorch and Keras (TensorFlow and torch backends) against numpy with the same weights (1e-5), the
training objective and one SGD step of each framework's loop against the other."""
import math
import os

import numpy as np
import pytest
from scipy.stats import norm

from adrec.graph import Interactions
from adrec.metrics import log_loss
from adrec.ref import scoring as ref

SIZES = dict(n_users=7, n_items=11, factors=4, n_layers=3)
MODELS = ref.MODEL_NAMES


def _pairs(n=64, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, SIZES["n_users"], n), rng.integers(0, SIZES["n_items"], n)


# --------------------------------------------------------------------------- the documents' maths


def test_worked_example_of_document_002_by_hand():
    user_a = [1, 2, 3]
    ad1, ad2 = [4, 5, 6], [7, 8, 9]
    # 1*4 + 2*5 + 3*6 = 4 + 10 + 18 = 32 ; 1*7 + 2*8 + 3*9 = 7 + 16 + 27 = 50
    assert ref.dot_score(user_a, ad1) == 32.0
    assert ref.dot_score(user_a, ad2) == 50.0  # the document prints 46
    scores = ref.score_matrix([user_a], [ad1, ad2])
    assert scores.tolist() == [[32.0, 50.0]]
    assert ref.recommend_argmax(scores).tolist() == [1]  # ad 2, the document's conclusion holds


def test_argmax_recommendation_of_document_003_and_ties():
    s = np.array([[0.2, 0.9, 0.4], [1.0, 1.0, -3.0]])
    assert ref.recommend_argmax(s).tolist() == [1, 0]  # a tie goes to the first ad
    assert ref.top_k(s, 2).tolist() == [[1, 2], [0, 1]]


def test_score_matrix_equals_loop_of_dot_products():
    rng = np.random.default_rng(0)
    U, A = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    loop = np.array([[sum(U[u, f] * A[a, f] for f in range(3)) for a in range(4)] for u in range(5)])
    np.testing.assert_allclose(ref.score_matrix(U, A), loop, rtol=1e-12)
    np.testing.assert_allclose(ref.noisy_score(U[:2], A[:2], [0.5, -1.0]),
                               [loop[0, 0] + 0.5, loop[1, 1] - 1.0], rtol=1e-12)
    with pytest.raises(ValueError, match="dimension"):
        ref.dot_score([1, 2], [1, 2, 3])


@pytest.mark.parametrize("noise", ["logistic", "gaussian"])
def test_noise_term_as_click_model_monte_carlo(noise):
    """P(score + ε > 0) by simulation against the closed form σ(s) / Φ(s)."""
    rng = np.random.default_rng(3)
    n = 200_000
    for s in (-1.5, 0.0, 0.7, 2.0):
        eps = rng.logistic(size=n) if noise == "logistic" else rng.normal(size=n)
        mc = float(np.mean(ref.noisy_score([s], [1.0], eps) > 0))  # score s = [s]·[1], plus ε
        exact = 1 / (1 + math.exp(-s)) if noise == "logistic" else norm.cdf(s)
        assert float(ref.click_probability(s, noise)) == pytest.approx(exact, abs=1e-12)
        assert abs(mc - exact) < 5 * math.sqrt(exact * (1 - exact) / n)
    with pytest.raises(ValueError):
        ref.click_probability(0.0, "cauchy")


def test_bce_with_logits_equals_log_loss_of_probabilities():
    rng = np.random.default_rng(2)
    z = rng.normal(0, 3, 500)
    y = rng.integers(0, 2, 500)
    assert ref.bce_with_logits(z, y) == pytest.approx(log_loss(y, 1 / (1 + np.exp(-z))), rel=1e-9)
    # stable far in the tails, where sigmoid-then-log overflows
    assert ref.bce_with_logits([800.0, -800.0], [0, 1]) == pytest.approx(800.0)
    np.testing.assert_allclose(ref.sigmoid([-800.0, 0.0, 800.0]), [0.0, 0.5, 1.0])


# --------------------------------------------------------------------------- numpy models


def _loop_forward(model, p, u, i):
    """An independent, scalar-loop forward pass of one pair."""
    def dense(x, W, b, relu):
        out = [b[o] + sum(x[k] * W[k][o] for k in range(len(x))) for o in range(len(b))]
        return [max(v, 0.0) for v in out] if relu else out

    if model == "mf_dot":
        return p["bias"][0] + p["user_bias"][u] + p["item_bias"][i] + sum(
            a * b for a, b in zip(p["user_embedding"][u], p["item_embedding"][i]))
    parts = []
    if model in ("gmf", "neumf"):
        parts += [a * b for a, b in zip(p["gmf_user"][u], p["gmf_item"][i])]
    if model in ("mlp", "neumf"):
        h = list(p["mlp_user"][u]) + list(p["mlp_item"][i])
        layer = 0
        while f"mlp_kernel_{layer}" in p:
            h = dense(h, p[f"mlp_kernel_{layer}"], p[f"mlp_bias_{layer}"], True)
            layer += 1
        parts += h
    return dense(parts, p["out_kernel"], p["out_bias"], False)[0]


@pytest.mark.parametrize("model", MODELS)
def test_numpy_models_against_scalar_loops(model):
    p = {k: v.astype(np.float64) for k, v in ref.init_params(model, **SIZES, init_std=0.5, seed=4).items()}
    u, i = _pairs(20)
    got = ref.score(model, p, u, i)
    want = [_loop_forward(model, p, a, b) for a, b in zip(u, i)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_param_shapes_follow_ncf_tower_sizes():
    shapes = ref.param_shapes("neumf", 10, 20, factors=8, n_layers=3)
    # He et al. (2017): 8 predictive factors -> MLP embeddings of 32, tower 64 -> 32 -> 16 -> 8
    assert shapes["mlp_user"] == (10, 32) and shapes["gmf_item"] == (20, 8)
    assert [shapes[f"mlp_kernel_{k}"] for k in range(3)] == [(64, 32), (32, 16), (16, 8)]
    assert shapes["out_kernel"] == (16, 1)
    with pytest.raises(ValueError, match="unknown model"):
        ref.param_shapes("svd", 1, 1, 2)


def test_l2_penalty_and_loss_by_hand():
    p = ref.init_params("mf_dot", **SIZES, seed=5)
    u, i = np.array([0, 3]), np.array([2, 2])
    want = [np.sum(p["user_embedding"][a] ** 2) + np.sum(p["item_embedding"][b] ** 2)
            + p["user_bias"][a] ** 2 + p["item_bias"][b] ** 2 for a, b in zip(u, i)]
    np.testing.assert_allclose(ref.embedding_l2("mf_dot", p, u, i), want, rtol=1e-6)
    y = np.array([1.0, 0.0])
    assert ref.pointwise_loss("mf_dot", p, u, i, y, reg=0.3) == pytest.approx(
        ref.bce_with_logits(ref.mf_dot(p, u, i), y) + 0.3 * np.mean(want), rel=1e-6)


# --------------------------------------------------------------------------- PyTorch parity


@pytest.mark.parametrize("model", MODELS)
def test_torch_matches_numpy(model):
    import torch

    from adrec.torch_nn import scoring as tsc

    params = ref.init_params(model, **SIZES, init_std=0.3, seed=6)
    m = tsc.build_model(model, SIZES["n_users"], SIZES["n_items"], SIZES["factors"], SIZES["n_layers"], reg=0.1)
    tsc.load_params(m, params)
    back = tsc.params(m)
    assert set(back) == set(params)
    for k in params:
        assert back[k].shape == params[k].shape, k
        np.testing.assert_array_equal(back[k], params[k])
    u, i = _pairs()
    np.testing.assert_allclose(tsc.score_fn(m)(u, i), ref.score(model, params, u, i), rtol=1e-5, atol=1e-6)
    y = np.random.default_rng(0).integers(0, 2, u.size).astype(np.float32)
    loss = tsc.pointwise_loss(m, (torch.from_numpy(u), torch.from_numpy(i), torch.from_numpy(y)))
    assert float(loss.detach()) == pytest.approx(ref.pointwise_loss(model, params, u, i, y, reg=0.1), rel=1e-5)


def test_torch_load_params_rejects_wrong_names_and_shapes():
    from adrec.torch_nn import scoring as tsc

    m = tsc.build_model("gmf", 3, 4, 2)
    p = ref.init_params("gmf", 3, 4, 2)
    with pytest.raises(ValueError, match="names differ"):
        tsc.load_params(m, {**p, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match="expected shape"):
        tsc.load_params(m, {**p, "gmf_user": np.zeros((3, 5))})


def _sgd_step_reference(model, params, u, i, y, reg, lr, h=1e-3):
    """One full-batch SGD step on the numpy objective, gradients by central differences (float64)."""
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    out = {}
    for name, value in p64.items():
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + h
            up = ref.pointwise_loss(model, p64, u, i, y, reg)
            value[idx] = old - h
            down = ref.pointwise_loss(model, p64, u, i, y, reg)
            value[idx] = old
            grad[idx] = (up - down) / (2 * h)
        out[name] = value - lr * grad
    return out


SMALL = dict(n_users=4, n_items=5, factors=2, n_layers=2)


def _small_batch():
    u = np.array([0, 1, 2, 3, 0, 2], dtype=np.int64)
    i = np.array([1, 0, 4, 2, 3, 3], dtype=np.int64)
    y = np.array([1, 0, 1, 0, 0, 1], dtype=np.float32)
    return u, i, y


@pytest.mark.parametrize("model", MODELS)
def test_torch_fit_one_sgd_step_matches_numerical_gradient(model):
    import torch

    from adrec.torch_nn import scoring as tsc
    from adrec.torch_nn.train import fit

    params = ref.init_params(model, **SMALL, init_std=0.5, seed=7)
    u, i, y = _small_batch()
    m = tsc.build_model(model, SMALL["n_users"], SMALL["n_items"], SMALL["factors"], SMALL["n_layers"], reg=0.05)
    tsc.load_params(m, params)
    one = lambda epoch, rng: iter([(torch.from_numpy(u), torch.from_numpy(i), torch.from_numpy(y))])  # noqa: E731
    fit(m, tsc.pointwise_loss, one, epochs=1, lr=0.5, optimizer="sgd", progress=False)
    want = _sgd_step_reference(model, params, u, i, y, reg=0.05, lr=0.5)
    got = tsc.params(m)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=2e-6, err_msg=k)


def test_torch_batches_resample_negatives_every_epoch():
    from adrec.torch_nn import scoring as tsc

    train = Interactions.from_pairs([0, 0, 1, 2], [0, 1, 2, 3], 3, 30)
    batches = tsc.pointwise_batches(train, negatives=3, batch_size=5)
    e0 = [b[1].numpy() for b in batches(0, np.random.default_rng([0, 0]))]
    e1 = [b[1].numpy() for b in batches(1, np.random.default_rng([0, 1]))]
    assert [len(b) for b in e0] == [5, 5, 5, 1]  # 4 positives x (1 + 3) = 16 examples
    assert not np.array_equal(np.concatenate(e0), np.concatenate(e1))


# --------------------------------------------------------------------------- Keras parity


@pytest.mark.keras
@pytest.mark.parametrize("model", MODELS)
def test_keras_matches_numpy_and_torch(model):
    import keras

    from adrec.keras_nn import scoring as ksc
    from adrec.torch_nn import scoring as tsc

    assert keras.backend.backend() == os.environ["KERAS_BACKEND"]
    params = ref.init_params(model, **SIZES, init_std=0.3, seed=6)
    km = ksc.build_model(model, SIZES["n_users"], SIZES["n_items"], SIZES["factors"], SIZES["n_layers"], reg=0.1)
    ksc.load_params(km, params)
    back = ksc.params(km)
    assert set(back) == set(params)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])
    u, i = _pairs()
    got = ksc.score_fn(km)(u, i)
    np.testing.assert_allclose(got, ref.score(model, params, u, i), rtol=1e-5, atol=1e-6)
    tm = tsc.build_model(model, SIZES["n_users"], SIZES["n_items"], SIZES["factors"], SIZES["n_layers"], reg=0.1)
    tsc.load_params(tm, params)
    np.testing.assert_allclose(got, tsc.score_fn(tm)(u, i), rtol=1e-5, atol=1e-6)
    y = np.random.default_rng(0).integers(0, 2, u.size).astype(np.float32)
    assert ksc.pointwise_loss(km, (u, i, y)) == pytest.approx(
        ref.pointwise_loss(model, params, u, i, y, reg=0.1), rel=1e-5)


@pytest.mark.keras
@pytest.mark.parametrize("model", MODELS)
def test_keras_fit_one_sgd_step_matches_numerical_gradient(model):
    """The compiled objective (BCE from logits + the add_loss L2) has the same gradient as numpy."""
    import keras

    from adrec.keras_nn import scoring as ksc
    from adrec.keras_nn.train import fit

    params = ref.init_params(model, **SMALL, init_std=0.5, seed=7)
    u, i, y = _small_batch()
    m = ksc.build_model(model, SMALL["n_users"], SMALL["n_items"], SMALL["factors"], SMALL["n_layers"], reg=0.05)
    ksc.load_params(m, params)
    fit(m, keras.losses.BinaryCrossentropy(from_logits=True), ((u, i), y), epochs=1, lr=0.5,
        batch_size=len(u), optimizer="sgd", shuffle=False, progress=False)
    want = _sgd_step_reference(model, params, u, i, y, reg=0.05, lr=0.5)
    got = ksc.params(m)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=2e-6, err_msg=k)


@pytest.mark.keras
def test_keras_fit_resamples_with_the_torch_loops_draws():
    """fit(x=callable) hands x the rng default_rng([seed, epoch]) each epoch, as the torch loop
    hands its batches; the optimizer state carries over (one compile)."""
    import keras

    from adrec.keras_nn import scoring as ksc
    from adrec.keras_nn.train import fit as kfit
    from adrec.torch_nn import scoring as tsc
    from adrec.torch_nn.train import fit as tfit

    train = Interactions.from_pairs([0, 0, 1, 2, 3], [0, 1, 2, 3, 4], 4, 12)
    seen_k, seen_t = [], []
    kdata = ksc.pointwise_data(train, negatives=2)

    def kx(epoch, rng):
        (u, i), y = kdata(epoch, rng)
        seen_k.append(i.copy())
        return (u, i), y

    tbatches = tsc.pointwise_batches(train, negatives=2, batch_size=100)

    def tb(epoch, rng):
        for b in tbatches(epoch, rng):
            seen_t.append(b[1].numpy().copy())
            yield b

    km = ksc.build_model("gmf", 4, 12, 2, seed=0)
    hist = kfit(km, keras.losses.BinaryCrossentropy(from_logits=True), kx, epochs=3,
                batch_size=4, seed=11, progress=False)
    tm = tsc.build_model("gmf", 4, 12, 2, seed=0)
    tfit(tm, tsc.pointwise_loss, tb, epochs=3, seed=11, progress=False)
    assert len(seen_k) == len(seen_t) == 3
    for a, b in zip(seen_k, seen_t):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(seen_k[0], seen_k[1])
    assert [r["epoch"] for r in hist.rows] == [1, 2, 3]
    assert int(km.optimizer.iterations) == 3 * 4  # 15 examples / batch 4 = 4 steps per epoch


# --------------------------------------------------------------------------- NeuMF with pre-training


def _trained_like(framework, model, seed):
    """A GMF or MLP of ``framework`` holding random weights (non-zero biases), as if trained."""
    mod = _framework(framework)
    m = mod.build_model(model, SIZES["n_users"], SIZES["n_items"], SIZES["factors"], SIZES["n_layers"])
    mod.load_params(m, ref.init_params(model, **SIZES, init_std=0.3, seed=seed))
    return m


def _framework(name):
    if name == "torch":
        from adrec.torch_nn import scoring
    else:
        from adrec.keras_nn import scoring
    return scoring


def _check_pretrained_neumf(framework, alpha):
    mod = _framework(framework)
    gmf, mlp = _trained_like(framework, "gmf", 11), _trained_like(framework, "mlp", 12)
    u, i = _pairs(200, seed=5)
    want = alpha * mod.score_fn(gmf)(u, i) + (1 - alpha) * mod.score_fn(mlp)(u, i)
    neumf = mod.neumf_from_pretrained(gmf, mlp, alpha=alpha)
    assert type(neumf).__name__ == "NeuMF"
    np.testing.assert_allclose(mod.score_fn(neumf)(u, i), want, rtol=1e-5, atol=1e-5)
    # the copy is independent: changing NeuMF's weights leaves the source models as they were
    gmf_before = mod.score_fn(gmf)(u, i)
    mod.load_params(neumf, {k: v + 1.0 for k, v in mod.params(neumf).items()})
    np.testing.assert_array_equal(mod.score_fn(gmf)(u, i), gmf_before)


@pytest.mark.parametrize("alpha", [0.5, 0.2])
def test_torch_pretrained_neumf_starts_as_the_weighted_sum_of_gmf_and_mlp(alpha):
    _check_pretrained_neumf("torch", alpha)


@pytest.mark.keras
@pytest.mark.parametrize("alpha", [0.5, 0.2])
def test_keras_pretrained_neumf_starts_as_the_weighted_sum_of_gmf_and_mlp(alpha):
    _check_pretrained_neumf("keras", alpha)


def test_pretrained_params_reject_bad_alpha_and_mismatched_factors():
    gmf = ref.init_params("gmf", **SIZES, seed=1)
    mlp = ref.init_params("mlp", **SIZES, seed=2)
    assert set(ref.neumf_pretrained_params(gmf, mlp)) == set(ref.param_shapes("neumf", **SIZES))
    with pytest.raises(ValueError, match="alpha"):
        ref.neumf_pretrained_params(gmf, mlp, alpha=1.5)
    wider = ref.init_params("mlp", **{**SIZES, "factors": 8}, seed=2)
    with pytest.raises(ValueError, match="same number"):
        ref.neumf_pretrained_params(gmf, wider)
    assert ref.architecture("neumf_pre") == "neumf" and ref.architecture("gmf") == "gmf"
    with pytest.raises(ValueError, match="unknown model"):
        ref.architecture("neumf_pretrained")
