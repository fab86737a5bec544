"""Numpy reference of the LSTM cell, in Keras's weight layout, and the converters between the
Keras and PyTorch layouts.

Keras ``LSTM`` keeps ``kernel`` (in, 4h), ``recurrent_kernel`` (h, 4h) and one ``bias`` (4h,),
gates in the order i, f, c, o. ``torch.nn.LSTM`` keeps ``weight_ih_l0`` (4h, in), ``weight_hh_l0``
(4h, h) and two biases ``bias_ih_l0`` + ``bias_hh_l0``, gates in the order i, f, g, o — the same
order (torch's g is Keras's c, the cell candidate), so a conversion transposes the kernels and
splits the bias (all of it into ``bias_ih``, zeros into ``bias_hh``; back: their sum).

Keras ``GRU`` (``reset_after=True``, its default and torch's formulation) keeps ``bias`` (2, 3h)
(input row, recurrent row) with gates z, r, h; torch's GRU orders them r, z, n — here the order
does differ, and :func:`gru_keras_to_torch` permutes the blocks.
"""
from __future__ import annotations

import numpy as np

LSTM_GATES_KERAS = ("i", "f", "c", "o")
LSTM_GATES_TORCH = ("i", "f", "g", "o")
GRU_GATES_KERAS = ("z", "r", "h")
GRU_GATES_TORCH = ("r", "z", "n")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_forward(x, kernel, recurrent_kernel, bias):
    """All hidden states (B, T, h) and the final cell state (B, h) of an LSTM from zero state.

    x: (B, T, in); Keras layout. Per step: z = x_t W + h U + b split into i, f, c, o;
    c_t = σ(f) c_{t-1} + σ(i) tanh(c); h_t = σ(o) tanh(c_t)."""
    x = np.asarray(x, dtype=np.float64)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h = np.zeros((B, H))
    c = np.zeros((B, H))
    out = np.empty((B, T, H))
    for t in range(T):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = (z[:, k * H:(k + 1) * H] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out[:, t] = h
    return out, c


def lstm_keras_to_torch(kernel, recurrent_kernel, bias) -> dict:
    """Keras LSTM weights -> the state dict entries of a one-layer ``torch.nn.LSTM``."""
    return {"weight_ih_l0": np.ascontiguousarray(kernel.T), "weight_hh_l0": np.ascontiguousarray(recurrent_kernel.T),
            "bias_ih_l0": np.asarray(bias).copy(), "bias_hh_l0": np.zeros_like(bias)}


def lstm_torch_to_keras(state: dict) -> list:
    """A one-layer ``torch.nn.LSTM`` state dict (numpy) -> Keras ``[kernel, recurrent_kernel, bias]``."""
    return [np.ascontiguousarray(state["weight_ih_l0"].T), np.ascontiguousarray(state["weight_hh_l0"].T),
            state["bias_ih_l0"] + state["bias_hh_l0"]]


def _permute_gates(w, axis, src, dst):
    blocks = np.split(w, len(src), axis=axis)
    return np.concatenate([blocks[src.index(g)] for g in dst], axis=axis)


_GRU_TORCH_AS_KERAS = ("r", "z", "h")  # torch's n is Keras's h (the candidate)


def gru_keras_to_torch(kernel, recurrent_kernel, bias) -> dict:
    """Keras GRU (reset_after=True) weights -> a one-layer ``torch.nn.GRU`` state dict."""
    perm = lambda w, axis: _permute_gates(w, axis, GRU_GATES_KERAS, _GRU_TORCH_AS_KERAS)  # noqa: E731
    return {"weight_ih_l0": np.ascontiguousarray(perm(kernel, 1).T),
            "weight_hh_l0": np.ascontiguousarray(perm(recurrent_kernel, 1).T),
            "bias_ih_l0": perm(bias[0], 0), "bias_hh_l0": perm(bias[1], 0)}


def gru_torch_to_keras(state: dict) -> list:
    perm = lambda w, axis: _permute_gates(w, axis, _GRU_TORCH_AS_KERAS, GRU_GATES_KERAS)  # noqa: E731
    return [np.ascontiguousarray(perm(state["weight_ih_l0"].T, 1)), np.ascontiguousarray(perm(state["weight_hh_l0"].T, 1)),
            np.stack([perm(state["bias_ih_l0"], 0), perm(state["bias_hh_l0"], 0)])]
