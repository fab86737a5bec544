"""Binary cross-entropy (document 004 §4.2) and the LR / MLP click models: the numpy reference
against hand computation and scikit-learn, PyTorch and Keras against the reference (1e-5, float32),
the Keras loss's behaviour when probabilities and logits are swapped, and short trainings on the
Criteo head."""
import math
import os

import numpy as np
import pytest

from adrec.experiments import click
from adrec.ref import bce as ref

GRID = np.array([-1e4, -100.0, -20.0, -5.0, -1.0, 0.0, 1.0, 5.0, 20.0, 100.0, 1e4])
TOL = dict(rtol=1e-6, atol=1e-5)


def _grid():
    s = np.concatenate([GRID, GRID])
    y = np.concatenate([np.ones_like(GRID), np.zeros_like(GRID)])
    return y, s


def _exact(y, s):
    """Hand formula with Python floats: -log(sigmoid(s)) = log(1 + e^-s) written per sign."""
    out = []
    for yi, si in zip(y, s):
        z = si if yi == 1 else -si  # loss(y=1, s) = loss(y=0, -s) = log(1 + e^-z)
        out.append(-z + math.log1p(math.exp(z)) if z < 0 else math.log1p(math.exp(-z)))
    return np.array(out)


# ---------------------------------------------------------------------------------------------
# numpy reference

def test_reference_matches_hand_computation():
    y = np.array([1.0, 1.0, 0.0, 0.0, 1.0])
    s = np.array([0.0, 2.0, 2.0, -3.0, -1.0])
    want = [math.log(2), math.log(1 + math.exp(-2)), 2 + math.log(1 + math.exp(-2)),
            math.log(1 + math.exp(-3)), 1 + math.log(1 + math.exp(-1))]
    np.testing.assert_allclose(ref.bce_with_logits(y, s), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref.bce_naive(y, s), want, rtol=0, atol=1e-12)
    assert ref.objective(ref.bce_with_logits(y, s)) == pytest.approx(np.mean(want), abs=1e-12)


def test_reference_equals_sklearn_log_loss():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    s = rng.normal(scale=3, size=500)
    y = (rng.random(500) < 0.3).astype(float)
    assert ref.objective(ref.bce_with_logits(y, s)) == pytest.approx(log_loss(y, ref.sigmoid(s)), rel=1e-10)


def test_stable_form_on_extreme_logits_and_naive_form_breaks():
    y, s = _grid()
    np.testing.assert_allclose(ref.bce_with_logits(y, s), _exact(y, s), rtol=1e-12, atol=1e-300)
    naive32 = ref.bce_naive(y.astype(np.float32), s.astype(np.float32))
    # float32: e^100 and e^1e4 overflow; the unused term then becomes 0 * inf or inf / inf -> nan
    broken = (np.abs(s) == 1e4) | (s == -100)
    assert not np.isfinite(naive32[broken]).any()
    assert np.isinf(naive32[(y == 0) & (s == 1e4)]).all()  # log(0): e^-1e4 underflows to 0
    # y=0, s=100: e^-100 is a float32 subnormal and loses digits: 99.98 instead of 100
    assert abs(naive32[(y == 0) & (s == 100)][0] - 100.0) > 0.01
    assert np.isneginf(ref.naive_log_sigmoid(np.float32(-100))) and np.isneginf(ref.naive_log_sigmoid(-1e4))
    assert ref.log_sigmoid(np.float32(-100)) == pytest.approx(-100.0)
    ok = np.abs(s) <= 20
    np.testing.assert_allclose(naive32[ok], _exact(y, s)[ok], rtol=1e-5, atol=1e-6)


def test_sigmoid_and_log_sigmoid_are_finite_everywhere():
    np.testing.assert_allclose(ref.sigmoid(np.array([-1e4, 0.0, 1e4])), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(ref.log_sigmoid(np.array([-1e4, 0.0, 30.0])),
                               [-1e4, -math.log(2), -math.log1p(math.exp(-30))], rtol=1e-12)


def test_probability_path_is_capped_by_the_keras_clip():
    # a confidently wrong prediction costs at most -log(1e-7) = 16.118 through probabilities
    loss = ref.bce_from_probs(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert loss[0] == pytest.approx(-math.log(1e-7), rel=1e-12)
    assert loss[1] == pytest.approx(-math.log(1e-7), rel=1e-6)


def test_double_sigmoid_has_a_floor():
    s = np.linspace(-60, 60, 1001)
    pos, neg = ref.double_sigmoid_loss(np.ones_like(s), s), ref.double_sigmoid_loss(np.zeros_like(s), s)
    assert pos.min() >= math.log1p(math.exp(-1)) - 1e-9  # sigmoid(sigmoid(s)) < sigmoid(1)
    assert neg.min() >= math.log(2) - 1e-9  # sigmoid(sigmoid(s)) > 1/2
    assert pos.min() == pytest.approx(math.log1p(math.exp(-1)), abs=1e-6)


def test_reference_models_by_hand():
    params = {"w_cat": np.array([0.5, -1.0, 2.0, 0.0]), "w_num": np.array([1.0, -2.0]), "b": -0.25}
    cat = np.array([[0, 2], [1, 1]])
    num = np.array([[1.0, 0.5], [0.0, 2.0]])
    np.testing.assert_allclose(ref.lr_logits(params, cat, num), [-0.25 + 2.5 + 0.0, -0.25 - 2.0 - 4.0])
    mlp = {"emb": np.array([[1.0, -1.0], [0.0, 2.0]]),
           "hidden": [(np.array([[1.0], [1.0], [1.0], [-1.0], [3.0]]), np.array([0.5]))],
           "w_out": np.array([[2.0]]), "b_out": np.array([-1.0])}
    # row 0: [emb0, emb1, num] = [1, -1, 0, 2, 4] -> relu(1 - 1 + 0 - 2 + 12 + 0.5) = 10.5 -> 20
    out = ref.mlp_logits(mlp, np.array([[0, 1]]), np.array([[4.0]]))
    np.testing.assert_allclose(out, [20.0])


# ---------------------------------------------------------------------------------------------
# PyTorch

def test_torch_losses_match_reference_and_functional():
    import torch

    from adrec.torch_nn import bce as tb

    y, s = _grid()
    st, yt = torch.tensor(s, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    want = ref.bce_with_logits(y, s)
    ours = tb.bce_with_logits(yt, st).numpy()
    functional = torch.nn.functional.binary_cross_entropy_with_logits(st, yt, reduction="none").numpy()
    np.testing.assert_allclose(ours, want, **TOL)
    np.testing.assert_allclose(functional, want, **TOL)
    p = torch.sigmoid(st)
    ok = np.abs(s) <= 5
    np.testing.assert_allclose(tb.bce_from_probs(yt, p).numpy()[ok], want[ok], **TOL)
    np.testing.assert_allclose(tb.bce_from_probs(yt, p).numpy(), ref.bce_from_probs(y, ref.sigmoid(s.astype(np.float32))), **TOL)


def test_torch_gradient_is_sigmoid_minus_label():
    import torch

    from adrec.torch_nn import bce as tb

    y, s = _grid()
    st = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    tb.bce_with_logits(torch.tensor(y), st).sum().backward()
    np.testing.assert_allclose(st.grad.numpy(), ref.sigmoid(s) - y, rtol=0, atol=1e-12)


def _params(kind, rng, n_buckets=50, n_fields=3, n_numeric=4, embed_dim=5, hidden=(7, 6)):
    if kind == "lr":
        return ref.init_lr_params(n_buckets, n_numeric, rng, scale=0.5)
    return ref.init_mlp_params(n_buckets, n_fields, n_numeric, embed_dim, hidden, rng, scale=0.5)


def _inputs(rng, n=33, n_buckets=50, n_fields=3, n_numeric=4):
    cat = rng.integers(0, n_buckets, size=(n, n_fields))
    num = rng.normal(size=(n, n_numeric)).astype(np.float32) if n_numeric else None
    return cat, num


@pytest.mark.parametrize("kind", ["lr", "mlp"])
@pytest.mark.parametrize("n_numeric", [0, 4])
def test_torch_models_match_reference(kind, n_numeric):
    import torch

    from adrec.torch_nn import bce as tb

    rng = np.random.default_rng(1)
    params = _params(kind, rng, n_numeric=n_numeric)
    cat, num = _inputs(rng, n_numeric=n_numeric)
    model = tb.load_params(tb.make_model(kind, 50, 3, n_numeric, 5, (7, 6)), params)
    args = (torch.as_tensor(cat),) + (() if num is None else (torch.as_tensor(num),))
    got = model(*args).detach().numpy()
    fn = ref.lr_logits if kind == "lr" else ref.mlp_logits
    want = fn(params, cat, num)
    assert got.shape == want.shape == (33,)
    np.testing.assert_allclose(got, want, **TOL)
    back = tb.model_params(model)
    np.testing.assert_allclose(fn(back, cat, num), want, **TOL)


def test_torch_lr_trains_on_criteo_head():
    from adrec.data.ctr import ctr_task
    from adrec.torch_nn import bce as tb

    task = ctr_task("criteo", n_buckets=2 ** 14)
    run = click.train_click_model(task, "lr", epochs=2, batch_size=256, lr=0.01, seed=0)
    base = -np.mean(task.test.y * np.log(task.train.y.mean()) + (1 - task.test.y) * np.log(1 - task.train.y.mean()))
    assert run.test_auc > 0.70  # measured 0.75; a constant scores 0.5
    assert run.test_logloss < base - 0.02  # beats predicting the training click rate
    assert len(run.history.rows) == 2 and run.best.epoch in (1, 2)


# ---------------------------------------------------------------------------------------------
# Keras (run once per backend: KERAS_BACKEND=tensorflow, torch and jax)

@pytest.mark.keras
def test_keras_losses_match_reference_on_extreme_logits():
    import keras

    from adrec.keras_nn import bce as kb

    assert keras.backend.backend() == os.environ["KERAS_BACKEND"]
    y, s = _grid()
    y32, s32 = y.astype(np.float32), s.astype(np.float32)
    want = ref.bce_with_logits(y, s)
    ours = keras.ops.convert_to_numpy(kb.bce_with_logits(y32, s32))
    builtin = keras.ops.convert_to_numpy(keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)(
        y32[:, None], s32[:, None]))
    np.testing.assert_allclose(ours, want, **TOL)
    np.testing.assert_allclose(builtin, want, **TOL)
    # probabilities given as a plain array: agree where the probability is representable, then capped
    p = ref.sigmoid(s32)
    from_probs = keras.ops.convert_to_numpy(keras.losses.BinaryCrossentropy(reduction=None)(y32[:, None], p[:, None]))
    ok = np.abs(s) <= 5
    np.testing.assert_allclose(from_probs[ok], want[ok], rtol=1e-5, atol=1e-5)
    assert from_probs.max() < 16.2 and want.max() == 1e4
    np.testing.assert_allclose(keras.ops.convert_to_numpy(kb.bce_from_probs(y32, p)),
                               ref.bce_from_probs(y32, p), **TOL)


@pytest.mark.keras
def test_keras_mean_loss_equals_torch_functional():
    import keras
    import torch

    rng = np.random.default_rng(3)
    s = rng.normal(scale=4, size=(256, 1)).astype(np.float32)
    y = (rng.random((256, 1)) < 0.2).astype(np.float32)
    k = float(keras.ops.convert_to_numpy(keras.losses.BinaryCrossentropy(from_logits=True)(y, s)))
    t = float(torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(s), torch.tensor(y)))
    assert k == pytest.approx(t, abs=1e-5)


@pytest.mark.keras
def test_keras_sigmoid_output_with_from_logits_true_per_backend():
    """Document 004 §5.2 pairs a sigmoid output with from_logits=True. TensorFlow's Keras backend
    spots the sigmoid, warns and uses its input (the real logits); the torch and JAX backends do
    neither and apply a second sigmoid."""
    import warnings

    import keras

    rng = np.random.default_rng(4)
    s = rng.normal(scale=2, size=(64, 1)).astype(np.float32)
    y = (rng.random((64, 1)) < 0.3).astype(np.float32)
    p = keras.activations.sigmoid(keras.ops.convert_to_tensor(s))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = float(keras.ops.convert_to_numpy(keras.losses.BinaryCrossentropy(from_logits=True)(y, p)))
    warned = any("from_logits=True" in str(w.message) for w in caught)
    correct = ref.objective(ref.bce_with_logits(y, s))
    double = ref.objective(ref.double_sigmoid_loss(y, s))
    if keras.backend.backend() == "tensorflow":
        assert warned and got == pytest.approx(correct, abs=1e-5)
    else:
        assert not warned and got == pytest.approx(double, abs=1e-5)
    assert abs(correct - double) > 0.05  # the two readings are far apart: the test can tell them apart


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["lr", "mlp"])
@pytest.mark.parametrize("n_numeric", [0, 4])
def test_keras_models_match_reference_and_torch(kind, n_numeric):
    import torch

    from adrec.keras_nn import bce as kb
    from adrec.torch_nn import bce as tb

    rng = np.random.default_rng(2)
    params = _params(kind, rng, n_numeric=n_numeric)
    cat, num = _inputs(rng, n_numeric=n_numeric)
    model = kb.load_params(kb.make_model(kind, 50, 3, n_numeric, 5, (7, 6)), params)
    x = (cat.astype(np.int32), num) if n_numeric else cat.astype(np.int32)
    import keras

    got = keras.ops.convert_to_numpy(model(x))
    fn = ref.lr_logits if kind == "lr" else ref.mlp_logits
    want = fn(params, cat, num)
    assert got.shape == want.shape == (33,)
    np.testing.assert_allclose(got, want, **TOL)
    tmodel = tb.load_params(tb.make_model(kind, 50, 3, n_numeric, 5, (7, 6)), params)
    targs = (torch.as_tensor(cat),) + (() if num is None else (torch.as_tensor(num),))
    np.testing.assert_allclose(got, tmodel(*targs).detach().numpy(), **TOL)
    np.testing.assert_allclose(fn(kb.model_params(model), cat, num), want, **TOL)


@pytest.mark.keras
def test_keras_lr_trains_on_criteo_head_like_torch():
    from adrec.data.ctr import ctr_task
    from adrec.keras_nn import bce as kb
    from adrec.torch_nn import bce as tb

    task = ctr_task("criteo", n_buckets=2 ** 14)
    kr = click.train_click_model(task, "lr", "keras", epochs=2, batch_size=256, lr=0.01, seed=0)
    tr = click.train_click_model(task, "lr", epochs=2, batch_size=256, lr=0.01, seed=0)
    assert kr.test_auc > 0.70
    assert abs(kr.test_auc - tr.test_auc) < 0.02  # seeds differ across frameworks: measured gap < 0.005
    assert abs(kr.test_logloss - tr.test_logloss) < 0.02


def test_max_abs_form_has_a_kink_at_zero_that_autograd_gets_wrong():
    """Why the framework versions use log-sigmoid: autograd through max(s,0) - s*y + log1p(e^-|s|)
    returns 1 - y at s = 0, not the true sigmoid(0) - y = 1/2 - y."""
    import torch

    s = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 0.0], dtype=torch.float64)
    (torch.clamp(s, min=0) - s * y + torch.log1p(torch.exp(-torch.abs(s)))).sum().backward()
    assert s.grad.tolist() != [-0.5, 0.5]


@pytest.mark.keras
def test_keras_fit_adam_step_on_a_repeated_embedding_row_matches_torch():
    """A row looked up 16 times in one batch: Adam's first step is lr * sign(gradient) (PyTorch,
    and adrec's Keras fit on every backend). Plain keras.optimizers.Adam on the TensorFlow backend
    (Keras 3.15) steps sqrt(16) = 4 times further: it squares each occurrence's gradient."""
    import keras
    import torch

    from adrec.keras_nn.train import fit

    x = np.zeros((16, 1), "int32")
    y = np.ones((16, 1), "float32")

    def one_row_model():
        emb = keras.layers.Embedding(4, 1, embeddings_initializer="zeros")
        return emb, keras.Sequential([keras.Input((1,), dtype="int32"), emb, keras.layers.Flatten()])

    emb, model = one_row_model()
    fit(model, "mse", (x, y), epochs=1, lr=0.1, batch_size=16, progress=False)
    ours = float(keras.ops.convert_to_numpy(emb.embeddings)[0, 0])

    w = torch.zeros(4, 1, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1, eps=1e-7)
    ((w[torch.zeros(16, dtype=torch.long)] - 1) ** 2).mean().backward()
    opt.step()
    assert ours == pytest.approx(float(w[0, 0]), abs=1e-6)
    assert ours == pytest.approx(0.1, abs=1e-5)

    emb, model = one_row_model()
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    model.train_on_batch(x, y)
    plain = float(keras.ops.convert_to_numpy(emb.embeddings)[0, 0])
    assert plain == pytest.approx(0.4 if keras.backend.backend() == "tensorflow" else 0.1, abs=1e-5)
