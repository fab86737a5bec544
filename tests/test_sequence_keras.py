"""Keras sequence models vs their PyTorch twins and the numpy LSTM, same weights (run on both
Keras backends: KERAS_BACKEND=tensorflow|torch|jax pytest -m keras)."""
import numpy as np
import pytest
import torch

from adrec.ref import sequence as ref
from adrec.torch_nn import sequence as T

pytestmark = pytest.mark.keras


def _keras():
    from adrec.keras_nn import sequence as K
    return K


def _np(x):
    import keras
    return np.asarray(keras.ops.convert_to_numpy(x))


def test_keras_lstm_weights_are_keras_layout_ifco():
    K = _keras()
    tower = K.LSTMUserTower(10, 5, 4)
    kernel, recurrent, bias = tower.lstm.get_weights()
    assert kernel.shape == (5, 16) and recurrent.shape == (4, 16) and bias.shape == (16,)
    # Keras' unit_forget_bias puts 1 in the second block: the forget gate is block 2 (i, f, c, o)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])


def test_lstm_tower_parity_numpy_torch_keras():
    K = _keras()
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    t = T.LSTMUserTower(12, 6, 5)
    weights = T.params(t)
    weights["lstm"][2] = rng.normal(size=20).astype(np.float32)  # a non-trivial bias
    T.load_params(t, weights)
    k = K.LSTMUserTower(12, 6, 5)
    K.load_params(k, weights)
    tokens = rng.integers(0, 12, size=(4, 9))
    emb = weights["embedding"][0][tokens]
    want = ref.lstm_forward(emb, *weights["lstm"])[0]
    np.testing.assert_allclose(t.states(torch.as_tensor(tokens)).detach().numpy(), want, atol=1e-5)
    np.testing.assert_allclose(_np(k.states(tokens)), want, atol=1e-5)
    np.testing.assert_allclose(_np(k(tokens)), want[:, -1], atol=1e-5)


def test_two_tower_scores_parity():
    K = _keras()
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    t = T.TwoTowerLSTM(6, 5, 8, 7)
    k = K.TwoTowerLSTM(6, 5, 8, 7)
    K.load_params(k, T.params(t))
    u, a = rng.integers(0, 6, (5, 4)), rng.integers(0, 5, (5, 4))
    np.testing.assert_allclose(_np(k((u, a))), t(torch.as_tensor(u), torch.as_tensor(a)).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("name", ["gru", "lstm", "sasrec"])
def test_next_item_parity_forward_score_loss(name):
    K = _keras()
    rng = np.random.default_rng(2)
    torch.manual_seed(2)
    make = (lambda m: m.SASRec(30, maxlen=10, dim=8, n_blocks=2, n_heads=2, dropout=0.5)) if name == "sasrec" \
        else (lambda m: m.GRU4Rec(30, 8, cell=name))
    t, k = make(T), make(K)
    t.eval()
    K.load_params(k, T.params(t))
    seq = rng.integers(1, 31, (4, 10))
    seq[:, :3] = 0
    pos, neg = np.roll(seq, -1, 1), rng.integers(1, 31, (4, 10))
    want = t(*(torch.as_tensor(v) for v in (seq, pos, neg))).detach().numpy()
    got = _np(k((seq, pos, neg)))
    np.testing.assert_allclose(got, want, atol=1e-5)
    items = rng.integers(1, 31, (4, 6))
    np.testing.assert_allclose(_np(k.score(seq, items)),
                               t.score(torch.as_tensor(seq), torch.as_tensor(items)).detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(float(_np(K.next_item_loss(pos, got))),
                               float(T.next_item_loss(torch.as_tensor(want), torch.as_tensor(pos))), atol=1e-6)
