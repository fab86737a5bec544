"""PyTorch sequence models, mirror images of :mod:`adrec.keras_nn.sequence` (same class names,
constructor arguments, sub-layer names and shapes; weights copied by :func:`params` /
:func:`load_params` in the Keras layout of :mod:`adrec.ref.sequence`).

* :class:`LSTMUserTower` — token ids (B, T) -> Embedding -> LSTM -> last hidden state (B, h);
* :class:`TwoTowerLSTM` — document 002 §5.2's model made right: one LSTM tower for the user's
  sequence, one for the ad's, concatenated, one logit (B,) (sigmoid + BCE outside the model);
* :class:`GRU4Rec` — next-item RNN (GRU or LSTM) whose state at each position is scored against
  the shared item embeddings (Hidasi et al. 2016, trained here with SASRec's objective);
* :class:`SASRec` — causal self-attention with learned positions and shared item embeddings
  (Kang & McAuley 2018), as in the authors' code: Glorot-uniform embeddings, one Q/K/V projection
  per block and no output projection (the paper's S = softmax(QKᵀ/√d)V), padded keys masked,
  dropout on the attention weights, the embedding sum and the feed-forward layers.

Next-item models take left-padded item ids (0 = padding). ``model(seq, pos, neg)`` returns logits
(B, L, 2) of the positive and the sampled negative at every position; :func:`next_item_loss` is
SASRec's BCE over the non-padding positions; ``model.score(seq, items)`` scores candidates (B, C)
from the last position.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..ref.sequence import lstm_keras_to_torch, lstm_torch_to_keras, gru_keras_to_torch, gru_torch_to_keras


def _glorot(lin: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(lin.weight)
    nn.init.zeros_(lin.bias)
    return lin


class LSTMUserTower(nn.Module):
    def __init__(self, n_tokens: int, embed_dim: int = 64, hidden: int = 128):
        super().__init__()
        self.embedding = nn.Embedding(n_tokens, embed_dim)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)  # Keras' Embedding default
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True)

    def states(self, tokens):
        """All hidden states (B, T, hidden)."""
        return self.lstm(self.embedding(tokens))[0]

    def forward(self, tokens):
        return self.states(tokens)[:, -1]


class TwoTowerLSTM(nn.Module):
    def __init__(self, n_user_tokens: int, n_ad_tokens: int, embed_dim: int = 64, hidden: int = 128):
        super().__init__()
        self.user_tower = LSTMUserTower(n_user_tokens, embed_dim, hidden)
        self.ad_tower = LSTMUserTower(n_ad_tokens, embed_dim, hidden)
        self.out = _glorot(nn.Linear(2 * hidden, 1))

    def forward(self, user_tokens, ad_tokens):
        both = torch.cat([self.user_tower(user_tokens), self.ad_tower(ad_tokens)], dim=-1)
        return self.out(both).squeeze(-1)


class _NextItem(nn.Module):
    def embed(self, seq):
        """Item embeddings of ``seq`` with padding positions zeroed."""
        return self.item_embedding(seq) * (seq > 0).unsqueeze(-1).to(self.item_embedding.weight.dtype)

    def forward(self, seq, pos, neg):
        h = self.states(seq)
        e = self.item_embedding
        return torch.stack([(h * e(pos)).sum(-1), (h * e(neg)).sum(-1)], dim=-1)

    def score(self, seq, items):
        """Logits (B, C) of candidate ``items`` (B, C) after the whole of ``seq``."""
        h = self.states(seq)[:, -1]
        return torch.einsum("bd,bcd->bc", h, self.item_embedding(items))


class GRU4Rec(_NextItem):
    def __init__(self, n_items: int, dim: int = 50, cell: str = "gru", dropout: float = 0.0):
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        self.cell = cell
        self.item_embedding = nn.Embedding(n_items + 1, dim)
        nn.init.uniform_(self.item_embedding.weight, -0.05, 0.05)
        self.rnn = (nn.GRU if cell == "gru" else nn.LSTM)(dim, dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)

    def states(self, seq):
        return self.dropout(self.rnn(self.dropout(self.embed(seq)))[0])


class SASRec(_NextItem):
    def __init__(self, n_items: int, maxlen: int = 50, dim: int = 50, n_blocks: int = 2, n_heads: int = 1,
                 dropout: float = 0.5):
        super().__init__()
        if dim % n_heads:
            raise ValueError(f"dim={dim} is not divisible by n_heads={n_heads}")
        self.dim, self.n_heads, self.maxlen = dim, n_heads, maxlen
        self.item_embedding = nn.Embedding(n_items + 1, dim)
        self.position_embedding = nn.Embedding(maxlen, dim)
        for emb in (self.item_embedding, self.position_embedding):
            nn.init.xavier_uniform_(emb.weight)  # the authors' tf.get_variable default (Glorot uniform)
        ln = lambda: nn.LayerNorm(dim, eps=1e-8)  # noqa: E731
        self.attn_norm = nn.ModuleList([ln() for _ in range(n_blocks)])
        self.query = nn.ModuleList([_glorot(nn.Linear(dim, dim)) for _ in range(n_blocks)])
        self.key = nn.ModuleList([_glorot(nn.Linear(dim, dim)) for _ in range(n_blocks)])
        self.value = nn.ModuleList([_glorot(nn.Linear(dim, dim)) for _ in range(n_blocks)])
        self.ffn_norm = nn.ModuleList([ln() for _ in range(n_blocks)])
        self.ffn_in = nn.ModuleList([_glorot(nn.Linear(dim, dim)) for _ in range(n_blocks)])
        self.ffn_out = nn.ModuleList([_glorot(nn.Linear(dim, dim)) for _ in range(n_blocks)])
        self.final_norm = ln()
        self.dropout = nn.Dropout(dropout)

    def _attention(self, b, x, visible):
        q_in = self.attn_norm[b](x)
        B, L, D = x.shape
        H, dh = self.n_heads, D // self.n_heads
        split = lambda t: t.view(B, L, H, dh).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query[b](q_in)), split(self.key[b](x)), split(self.value[b](x))
        logits = (q @ k.transpose(-1, -2) / math.sqrt(dh)).masked_fill(~visible, -1e9)
        att = self.dropout(torch.softmax(logits, dim=-1))
        return q_in + (att @ v).transpose(1, 2).reshape(B, L, D)

    def states(self, seq):
        real = seq > 0
        mask = real.unsqueeze(-1).to(self.item_embedding.weight.dtype)
        L = seq.shape[1]
        # query i sees key j when j <= i and j is an item (not padding): (B, 1, L, L)
        visible = torch.ones(L, L, dtype=torch.bool, device=seq.device).tril() & real[:, None, None, :]
        positions = torch.arange(L, device=seq.device)
        x = self.item_embedding(seq) * math.sqrt(self.dim) + self.position_embedding(positions)
        x = self.dropout(x) * mask
        for b in range(len(self.query)):
            x = self._attention(b, x, visible)
            y = self.ffn_norm[b](x)
            x = y + self.dropout(self.ffn_out[b](self.dropout(torch.relu(self.ffn_in[b](y)))))
            x = x * mask
        return self.final_norm(x)


def next_item_loss(logits, pos):
    """SASRec's objective: mean over non-padding positions of −log σ(s⁺) − log(1 − σ(s⁻))."""
    mask = (pos > 0).to(logits.dtype)
    per = nn.functional.softplus(-logits[..., 0]) + nn.functional.softplus(logits[..., 1])
    return (per * mask).sum() / mask.sum().clamp(min=1.0)


def next_item_batches(train, rated, maxlen: int, batch_size: int):
    """``batches(epoch, rng)`` for :func:`adrec.torch_nn.train.fit`: every user once per epoch in a
    random order, fresh negatives (:func:`adrec.data.sequences.next_item_examples`)."""
    from ..data.sequences import next_item_examples

    def batches(epoch, rng):
        seq, pos, neg = next_item_examples(train, rated, maxlen, rng)
        order = rng.permutation(len(seq))
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            yield seq[idx], pos[idx], neg[idx], None

    return batches


def next_item_train_loss(model, batch):
    seq, pos, neg, _ = batch
    return next_item_loss(model(seq, pos, neg), pos)


def next_item_training(train, rated, maxlen: int, batch_size: int):
    """``(loss, data)`` for :func:`adrec.torch_nn.train.fit`: SASRec's objective over
    :func:`next_item_batches` (mirrored by :func:`adrec.keras_nn.sequence.next_item_training`)."""
    return next_item_train_loss, next_item_batches(train, rated, maxlen, batch_size)


def score_fn(model, histories, device: str = "cpu"):
    """``score(rows, items)`` for :func:`adrec.ranking.evaluate_sampled`: ``histories`` (n, L) are
    the padded input sequences of the evaluated rows."""
    @torch.no_grad()  # on the scorer itself: a decorator on this factory would not reach the calls
    def score(rows, items):
        model.eval()
        uniq, inv = np.unique(rows, return_inverse=True)
        seq = torch.as_tensor(histories[uniq], device=device)
        h = model.states(seq)[:, -1]
        e = model.item_embedding(torch.as_tensor(items, device=device))
        return (h[torch.as_tensor(inv, device=device)] * e).sum(-1).cpu().numpy()

    return score


# --- weights in the Keras layout (numpy), for the parity checks ---

def _linear_params(lin):
    return [lin.weight.detach().cpu().numpy().T.copy(), lin.bias.detach().cpu().numpy().copy()]


def _load_linear(lin, kernel, bias):
    lin.weight.data.copy_(torch.as_tensor(np.asarray(kernel).T))
    lin.bias.data.copy_(torch.as_tensor(np.asarray(bias)))


def _rnn_state(rnn):
    return {k: v.detach().cpu().numpy() for k, v in rnn.state_dict().items()}


def params(model) -> dict:
    """name -> list of numpy arrays in Keras's layout (``keras_nn.sequence.params`` gives the same)."""
    out = {}
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Embedding):
            out[name] = [mod.weight.detach().cpu().numpy().copy()]
        elif isinstance(mod, nn.Linear):
            out[name] = _linear_params(mod)
        elif isinstance(mod, nn.LayerNorm):
            out[name] = [mod.weight.detach().cpu().numpy().copy(), mod.bias.detach().cpu().numpy().copy()]
        elif isinstance(mod, nn.LSTM):
            out[name] = lstm_torch_to_keras(_rnn_state(mod))
        elif isinstance(mod, nn.GRU):
            out[name] = gru_torch_to_keras(_rnn_state(mod))
    return out


def load_params(model, values: dict) -> None:
    mods = dict(model.named_modules())
    missing = set(params(model)) - set(values)
    if missing:
        raise KeyError(f"no values for {sorted(missing)}")
    for name, arrays in values.items():
        mod = mods[name]
        if isinstance(mod, nn.Embedding):
            mod.weight.data.copy_(torch.as_tensor(np.asarray(arrays[0])))
        elif isinstance(mod, nn.Linear):
            _load_linear(mod, *arrays)
        elif isinstance(mod, nn.LayerNorm):
            mod.weight.data.copy_(torch.as_tensor(np.asarray(arrays[0])))
            mod.bias.data.copy_(torch.as_tensor(np.asarray(arrays[1])))
        else:
            state = (lstm_keras_to_torch if isinstance(mod, nn.LSTM) else gru_keras_to_torch)(*arrays)
            mod.load_state_dict({k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in state.items()})
