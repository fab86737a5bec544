"""Keras 3 fusion model (notebook 01) against the numpy reference and PyTorch, on the backend in
KERAS_BACKEND (run with -m keras once per backend): forward parity, and 25 Adam steps giving the
same weights as PyTorch. Also pins the Keras/TensorFlow Adam behaviour on repeated embedding
lookups that :class:`adrec.keras_nn.fusion.DenseGradEmbedding` works around."""
import os

import numpy as np
import pytest

pytestmark = pytest.mark.keras

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from adrec.data.histories import ad_world_task  # noqa: E402
from adrec.keras_nn import fusion as kfu  # noqa: E402
from adrec.ref import fusion as ref  # noqa: E402


def _toy_task(max_len=6):
    from adrec.data.synthetic import make_ad_world

    return ad_world_task(make_ad_world(n_users=60, n_ads=20, n_impressions=1_500, dim=4, seed=2),
                         max_len=max_len)


def test_backend_is_the_one_asked_for():
    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


@pytest.mark.parametrize("fusion", ref.FUSIONS)
@pytest.mark.parametrize("interaction", ref.INTERACTIONS)
def test_keras_matches_numpy(fusion, interaction):
    task = _toy_task()
    batch = task.train.subset(np.arange(200)).inputs
    p = ref.init_params(task.sizes, 5, fusion, interaction, att_hidden=3, mlp_hidden=4,
                        rng=np.random.default_rng(7), scale=0.3)
    want, w_want = ref.logits(p, batch, task.item_tokens, fusion, interaction, return_weights=True)
    model = kfu.load_params(kfu.FusionCTR(task.sizes, task.item_tokens, 5, fusion, interaction, 3, 4), p)
    got = ops.convert_to_numpy(model(batch))
    w_got = ops.convert_to_numpy(model.fusion_weights(batch))
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(w_got, w_want, atol=1e-6)
    back = kfu.model_params(model)
    assert set(back) == set(p)
    for k in p:
        np.testing.assert_array_equal(back[k], p[k])


def _train_both(fusion, torch_opt, keras_opt, steps=25):
    torch = pytest.importorskip("torch")
    from adrec.torch_nn import fusion as tfu

    task = _toy_task()
    p = ref.init_params(task.sizes, 6, fusion, "product", rng=np.random.default_rng(1), scale=0.05)
    tm = tfu.load_params(tfu.FusionCTR(task.sizes, task.item_tokens, 6, fusion), p)
    km = kfu.load_params(kfu.FusionCTR(task.sizes, task.item_tokens, 6, fusion), p)
    opt = torch_opt(tm.parameters())
    km.compile(optimizer=keras_opt(), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    for step in range(steps):
        b = task.train.subset(np.arange(step * 40, step * 40 + 40))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            tm(*[torch.as_tensor(a) for a in b.inputs]), torch.as_tensor(b.y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        km.train_on_batch(b.inputs, b.y)
    return p, tfu.model_params(tm), kfu.model_params(km)


@pytest.mark.parametrize("fusion", ref.FUSIONS)
def test_sgd_momentum_steps_match_pytorch(fusion):
    """Same start, same 25 batches, SGD with momentum 0.9 -> the same weights to 1e-5."""
    import torch

    p, pt, pk = _train_both(fusion, lambda params: torch.optim.SGD(params, lr=0.5, momentum=0.9),
                            lambda: keras.optimizers.SGD(0.5, momentum=0.9))
    assert max(float(np.abs(pt[k] - p[k]).max()) for k in p) > 0.03  # the weights did move
    for k in p:
        np.testing.assert_allclose(pk[k], pt[k], atol=1e-5, err_msg=k)


@pytest.mark.parametrize("fusion", ["mean", "recency"])
def test_adam_steps_match_pytorch(fusion):
    """Same start, same 25 batches, Adam with epsilon ~ 0 -> the same weights to 1e-4. (The
    frameworks place epsilon differently: Keras adds it to sqrt(v) before the bias correction,
    PyTorch after, so with the default epsilons the rarely-updated embedding rows drift apart by
    ~1e-2. With epsilon ~ 0 Adam divides each gradient by its own RMS, which amplifies float32
    round-off: hence 1e-4; DIN's attention weights, some with gradients at round-off level, are
    checked with SGD above.)"""
    import torch

    p, pt, pk = _train_both(fusion, lambda params: torch.optim.Adam(params, lr=3e-3, eps=1e-30),
                            lambda: keras.optimizers.Adam(3e-3, epsilon=1e-30))
    assert max(float(np.abs(pt[k] - p[k]).max()) for k in p) > 0.03
    for k in p:
        np.testing.assert_allclose(pk[k], pt[k], atol=1e-4, err_msg=k)


class Lookup(keras.Model):
    def __init__(self, dense_grad):
        super().__init__()
        self.emb = (kfu.DenseGradEmbedding(3, 1, embeddings_initializer="zeros") if dense_grad
                    else keras.layers.Embedding(3, 1, embeddings_initializer="zeros"))

    def call(self, idx):
        return ops.sum(self.emb(idx), axis=(1, 2))


def _one_adam_step(dense_grad):
    model = Lookup(dense_grad)
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=lambda y, s: ops.mean(s))
    model.train_on_batch(np.array([[0, 0, 0, 0, 1]], "int32"), np.zeros(1, "float32"))
    return ops.convert_to_numpy(model.emb.embeddings).ravel()


def test_dense_grad_embedding_takes_the_adam_step():
    """First Adam step: every row with a gradient moves by lr (up to epsilon), whatever the size of
    its gradient; row 0 (looked up 4 times) and row 1 (once) both move by -0.1."""
    np.testing.assert_allclose(_one_adam_step(True), [-0.1, -0.1, 0.0], atol=1e-5)


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="the IndexedSlices path exists on the TensorFlow backend only")
def test_plain_embedding_adam_on_tensorflow_overshoots_repeated_rows():
    """Documents the Keras 3 / TensorFlow behaviour DenseGradEmbedding avoids: the gradient of row
    0 arrives as 4 slices of 1; Adam squares them one by one (v = 4 * 0.001) instead of squaring
    their sum (v = 16 * 0.001), so row 0 moves 0.1 * 4 / sqrt(4) = 0.2. If this fails, Keras has
    fixed it: update notebook 01 and DenseGradEmbedding's docstring."""
    np.testing.assert_allclose(_one_adam_step(False), [-0.2, -0.1, 0.0], atol=1e-5)
