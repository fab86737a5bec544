"""PyTorch LSTM vs the numpy reference; the gate order and bias layout of torch.nn.LSTM pinned."""
import numpy as np
import pytest
import torch

from adrec.ref import sequence as ref
from adrec.torch_nn import sequence as T


def _keras_layout_lstm(rng, n_in=5, h=4):
    return (rng.normal(size=(n_in, 4 * h)).astype(np.float32), rng.normal(size=(h, 4 * h)).astype(np.float32),
            rng.normal(size=4 * h).astype(np.float32))


def test_numpy_lstm_step_by_hand():
    rng = np.random.default_rng(0)
    W, U, b = _keras_layout_lstm(rng, 3, 2)
    x = rng.normal(size=(1, 1, 3))
    z = x[0, 0] @ W + b  # h0 = c0 = 0
    i, f, g, o = z[:2], z[2:4], z[4:6], z[6:]
    c = ref.sigmoid(i) * np.tanh(g)
    out, c_ref = ref.lstm_forward(x, W, U, b)
    np.testing.assert_allclose(c_ref[0], c, rtol=1e-12)
    np.testing.assert_allclose(out[0, 0], ref.sigmoid(o) * np.tanh(c), rtol=1e-12)


def test_torch_lstm_matches_reference_and_pins_layout():
    rng = np.random.default_rng(1)
    W, U, b = _keras_layout_lstm(rng)
    lstm = torch.nn.LSTM(5, 4, batch_first=True)
    state = ref.lstm_keras_to_torch(W, U, b)
    assert state["weight_ih_l0"].shape == (16, 5) and state["weight_hh_l0"].shape == (16, 4)
    assert set(lstm.state_dict()) == set(state)  # torch keeps two biases, Keras one
    lstm.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    x = rng.normal(size=(3, 7, 5)).astype(np.float32)
    got = lstm(torch.as_tensor(x))[0].detach().numpy()
    want, _ = ref.lstm_forward(x, W, U, b)
    np.testing.assert_allclose(got, want, atol=1e-5)
    # the same gate order i, f, g/c, o: swapping any two gate blocks breaks the match
    for a, c in [(0, 1), (1, 2), (2, 3)]:
        blocks = np.split(W, 4, axis=1)
        blocks[a], blocks[c] = blocks[c], blocks[a]
        swapped = ref.lstm_forward(x, np.concatenate(blocks, axis=1), U, b)[0]
        assert np.abs(swapped - got).max() > 1e-2
    # torch adds its two biases: half in each gives the same states
    half = dict(state, bias_ih_l0=b / 2, bias_hh_l0=b / 2)
    lstm.load_state_dict({k: torch.as_tensor(v) for k, v in half.items()})
    np.testing.assert_allclose(lstm(torch.as_tensor(x))[0].detach().numpy(), want, atol=1e-5)
    back = ref.lstm_torch_to_keras({k: v.numpy() for k, v in lstm.state_dict().items()})
    np.testing.assert_allclose(back[2], b, atol=1e-6)


def test_gru_gate_permutation_round_trip():
    rng = np.random.default_rng(2)
    W, U = rng.normal(size=(5, 12)), rng.normal(size=(4, 12))
    b = rng.normal(size=(2, 12))
    state = ref.gru_keras_to_torch(W, U, b)
    # torch's first block (r) is Keras's second (r): z, r, h -> r, z, n
    np.testing.assert_array_equal(state["weight_ih_l0"][:4], W[:, 4:8].T)
    np.testing.assert_array_equal(state["bias_hh_l0"][4:8], b[1, :4])
    for got, want in zip(ref.gru_torch_to_keras(state), (W, U, b)):
        np.testing.assert_array_equal(got, want)


def test_tower_is_last_state_and_loss_by_hand():
    torch.manual_seed(0)
    tower = T.LSTMUserTower(10, 6, 4)
    tokens = torch.tensor([[1, 2, 3], [4, 5, 6]])
    W, U, b = tower_params = T.params(tower)["lstm"]
    emb = tower.embedding.weight.detach().numpy()[tokens.numpy()]
    want = ref.lstm_forward(emb, W, U, b)[0][:, -1]
    np.testing.assert_allclose(tower(tokens).detach().numpy(), want, atol=1e-5)
    assert len(tower_params) == 3
    logits = torch.tensor([[[2.0, -1.0], [0.5, 0.3]]])
    pos = torch.tensor([[5, 0]])
    want_loss = np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0))
    assert abs(float(T.next_item_loss(logits, pos)) - want_loss) < 1e-6


@pytest.mark.parametrize("model", ["gru4rec", "sasrec"])
def test_next_item_model_is_causal(model):
    torch.manual_seed(0)
    m = T.GRU4Rec(20, 8) if model == "gru4rec" else T.SASRec(20, maxlen=6, dim=8, dropout=0.0)
    m.eval()
    seq = torch.tensor([[0, 0, 3, 4, 5, 6]])
    later = seq.clone()
    later[0, -1] = 9
    a, c = m.states(seq), m.states(later)
    torch.testing.assert_close(a[:, :-1], c[:, :-1])
    assert (a[:, -1] - c[:, -1]).abs().max() > 1e-4


def test_sasrec_ignores_padding_keys_and_has_the_papers_attention():
    """As in the authors' code, padded positions are masked out of the keys: with the position
    embeddings zeroed, a sequence's states do not depend on how much padding precedes it (an unmasked
    padded key still takes a share of each softmax). The attention has no output projection: the
    paper's S = softmax(QKᵀ/√d)V, and the model has exactly those parameters."""
    torch.manual_seed(0)
    m = T.SASRec(20, maxlen=6, dim=8, n_blocks=2, dropout=0.0).eval()
    torch.nn.init.zeros_(m.position_embedding.weight)
    with torch.no_grad():
        long = m.states(torch.tensor([[0, 0, 0, 3, 4, 5]]))[:, -3:]
        short = m.states(torch.tensor([[3, 4, 5]]))
    torch.testing.assert_close(long, short, atol=1e-6, rtol=1e-6)
    per_block = 3 * (8 * 8 + 8) + 2 * (8 * 8 + 8) + 2 * (2 * 8)  # Q, K, V; two FFN layers; two norms
    assert sum(p.numel() for p in m.parameters()) == 21 * 8 + 6 * 8 + 2 * per_block + 2 * 8
    # the authors' initialisation: Glorot uniform embeddings, limit sqrt(6 / (rows + cols))
    lim = float(np.sqrt(6 / (21 + 8)))
    w = m.item_embedding.weight.detach()
    assert float(w.abs().max()) <= lim and float(w.abs().max()) > 0.8 * lim
