"""GCN / LightGCN propagation and the BPR loss (document 003 §4.2.1): the numpy reference against
hand computation and brute force, PyTorch and Keras (TensorFlow and torch backends) against the
reference with the same weights, and one epoch of training identical in both frameworks."""
import numpy as np
import pytest
import torch

from adrec.graph import Interactions, bipartite_adjacency, normalized_adjacency, to_torch_sparse
from adrec.ref import gcn as ref

N_USERS, N_ITEMS, DIM = 7, 9, 5


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(0)
    x = Interactions.from_pairs(rng.integers(0, N_USERS, 30), rng.integers(0, N_ITEMS - 1, 30), N_USERS, N_ITEMS)
    adj = normalized_adjacency(bipartite_adjacency(x.matrix()))  # the last item is isolated
    E0 = rng.normal(scale=0.3, size=(N_USERS + N_ITEMS, DIM)).astype(np.float32)
    Ws = [rng.normal(scale=0.5, size=(DIM, DIM)).astype(np.float32) for _ in range(2)]
    users, pos, neg = x.sample_bpr(np.random.default_rng(1))
    return x, adj, E0, Ws, (users, pos, neg)


# ------------------------------------------------------------------------------ numpy reference

def test_document_rule_needs_the_stacked_node_matrix():
    """§4.2.1 writes the rule for one user's vector h_u; Â is (N, N), so it only applies to the
    stacked (N, d) node matrix H (a single d-vector does not conform)."""
    A = np.array([[0, 1.0], [1.0, 0]])
    h_u = np.ones(3)
    with pytest.raises(ValueError):
        A @ h_u
    H = np.array([[1.0, -2.0], [3.0, 4.0]])
    np.testing.assert_allclose(ref.gcn_layer(A, H), [[3.0, 4.0], [1.0, 0.0]])  # relu([[3,4],[1,-2]])


def test_lightgcn_is_the_mean_of_matrix_powers(graph):
    x, adj, E0, _, _ = graph
    A = adj.toarray().astype(np.float64)
    E = E0.astype(np.float64)
    want = (E + A @ E + A @ A @ E + A @ A @ A @ E) / 4
    np.testing.assert_allclose(ref.lightgcn_embeddings(adj.astype(np.float64), E, 3), want, atol=1e-12)
    np.testing.assert_allclose(ref.lightgcn_embeddings(adj, E, 0), E, atol=0)  # 0 layers = MF


def test_gcn_embeddings_by_hand(graph):
    _, adj, E0, Ws, _ = graph
    A = adj.toarray().astype(np.float64)
    H1 = np.maximum(A @ E0 @ Ws[0], 0)
    H2 = np.maximum(A @ H1 @ Ws[1], 0)
    np.testing.assert_allclose(ref.gcn_embeddings(adj, E0, Ws), H2, atol=1e-6)
    np.testing.assert_allclose(ref.gcn_embeddings(adj, E0, Ws, last_activation=False), A @ H1 @ Ws[1], atol=1e-6)


def test_bpr_loss_by_hand():
    u = np.array([[1.0, 0.0], [0.0, 2.0]])
    i = np.array([[2.0, 0.0], [0.0, 1.0]])
    j = np.array([[0.0, 1.0], [1.0, 1.0]])
    # margins: 2 - 0 = 2 and 2 - 2 = 0 -> losses log(1 + e^-2) and log 2
    want = (np.log1p(np.exp(-2.0)) + np.log(2.0)) / 2
    assert ref.bpr_loss(u, i, j) == pytest.approx(want, rel=1e-12)
    reg = 0.1 * 0.5 * ((1 + 4) + (4 + 1) + (1 + 2)) / 2
    assert ref.bpr_loss(u, i, j, u, i, j, reg=0.1) == pytest.approx(want + reg, rel=1e-12)


def test_mean_pairwise_cosine_equals_brute_force():
    H = np.random.default_rng(3).normal(size=(12, 4))
    H[5] = 0.0  # a zero row is left out
    X = np.delete(H, 5, axis=0)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = X @ X.T
    want = (C.sum() - np.trace(C)) / (11 * 10)
    assert ref.mean_pairwise_cosine(H) == pytest.approx(want, rel=1e-12)
    assert ref.mean_pairwise_cosine(np.tile([1.0, 2.0], (5, 1))) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------- PyTorch

def torch_model(kind, adj, E0, Ws, n_layers=3):
    from adrec.torch_nn import gcn as tg
    A = to_torch_sparse(adj)
    if kind == "lightgcn":
        m = tg.LightGCN(N_USERS, N_ITEMS, DIM, A, n_layers=n_layers)
    else:
        m = tg.GCN(N_USERS, N_ITEMS, DIM, A, n_layers=len(Ws))
        with torch.no_grad():
            for k, W in zip(m.kernels, Ws):
                k.copy_(torch.from_numpy(W))
    with torch.no_grad():
        m.embedding.copy_(torch.from_numpy(E0))
    return m


def ref_nodes(kind, adj, E0, Ws, n_layers=3):
    return ref.lightgcn_embeddings(adj, E0, n_layers) if kind == "lightgcn" else ref.gcn_embeddings(adj, E0, Ws)


def ref_loss(nodes, E0, users, pos, neg, reg):
    n = N_USERS
    return ref.bpr_loss(nodes[users], nodes[n + pos], nodes[n + neg], E0[users], E0[n + pos], E0[n + neg], reg=reg)


@pytest.mark.parametrize("kind", ["lightgcn", "gcn"])
def test_torch_matches_numpy_reference(graph, kind):
    from adrec.torch_nn.gcn import bpr_loss
    x, adj, E0, Ws, (users, pos, neg) = graph
    m = torch_model(kind, adj, E0, Ws)
    want = ref_nodes(kind, adj, E0, Ws)
    with torch.no_grad():
        np.testing.assert_allclose(m.node_embeddings().numpy(), want, atol=1e-5)
        U, V = m.embeddings()
        assert U.shape == (N_USERS, DIM) and V.shape == (N_ITEMS, DIM)
        out = m(torch.from_numpy(users), torch.from_numpy(pos), torch.from_numpy(neg))
        assert out.shape == (len(users), 2)
        got = float(bpr_loss(out, reg=0.01))
    assert got == pytest.approx(ref_loss(want, E0, users, pos, neg, 0.01), abs=1e-5)


def test_torch_sparse_backward_equals_dense_autograd(graph):
    from adrec.torch_nn.gcn import as_csr, propagate
    _, adj, E0, _, _ = graph
    A = to_torch_sparse(adj).double()
    csr, csr_t = as_csr(A), as_csr(A.t())
    H = torch.from_numpy(E0).double().requires_grad_()
    G = torch.randn(H.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (propagate(csr, propagate(csr, H, csr_t), csr_t) * G).sum().backward()
    fast = H.grad.clone()
    H.grad = None
    D = A.to_dense()
    (D @ (D @ H) * G).sum().backward()
    np.testing.assert_allclose(fast.numpy(), H.grad.numpy(), atol=1e-12)
    # and the non-symmetric case uses the transpose, not the matrix itself
    M = torch.tensor([[0.0, 2.0], [0.5, 0.0]], dtype=torch.float64)
    h = torch.tensor([[1.0], [3.0]], dtype=torch.float64, requires_grad=True)
    propagate(as_csr(M), h, as_csr(M.t())).sum().backward()
    np.testing.assert_allclose(h.grad.numpy().ravel(), M.sum(0).numpy())  # [0.5, 2.0]


# ------------------------------------------------------------------------------------ Keras

def keras_model(kind, adj, E0, Ws, n_layers=3):
    from adrec.keras_nn import gcn as kg
    if kind == "lightgcn":
        m = kg.LightGCN(N_USERS, N_ITEMS, DIM, adj, n_layers=n_layers)
    else:
        m = kg.GCN(N_USERS, N_ITEMS, DIM, adj, n_layers=len(Ws))
        for k, W in zip(m.kernels, Ws):
            k.assign(W)
    m.embedding.assign(E0)
    return m


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["lightgcn", "gcn"])
def test_keras_matches_numpy_reference(graph, kind):
    import keras
    from adrec.keras_nn.gcn import BPRLoss, bpr_loss
    x, adj, E0, Ws, (users, pos, neg) = graph
    m = keras_model(kind, adj, E0, Ws)
    want = ref_nodes(kind, adj, E0, Ws)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(m.node_embeddings()), want, atol=1e-5)
    U, V = m.embeddings()
    assert tuple(U.shape) == (N_USERS, DIM) and tuple(V.shape) == (N_ITEMS, DIM)
    out = m((users.astype("int32"), pos.astype("int32"), neg.astype("int32")))
    assert tuple(out.shape) == (len(users), 2)
    expected = ref_loss(want, E0, users, pos, neg, 0.01)
    assert float(keras.ops.convert_to_numpy(bpr_loss(out, reg=0.01))) == pytest.approx(expected, abs=1e-5)
    per_triple = BPRLoss(reg=0.01)(np.zeros(len(users), "float32"), out)
    assert float(keras.ops.convert_to_numpy(per_triple)) == pytest.approx(expected, abs=1e-5)


@pytest.mark.keras
def test_keras_epochs_get_the_torch_loops_triples(graph):
    from adrec.keras_nn.gcn import bpr_epochs
    from adrec.torch_nn.gcn import bpr_batches
    x = graph[0]
    positives = sorted(zip(x.users.tolist(), x.items.tolist()))
    data = bpr_epochs(x)
    seen = []
    for epoch in range(2):
        (u, i, j), y = data(epoch, np.random.default_rng([4, epoch]))
        assert u.dtype == np.int32 and y.shape == u.shape
        assert sorted(zip(u.tolist(), i.tolist())) == positives  # each pair once per epoch
        assert not x.contains(u, j).any()
        tb = list(bpr_batches(x, 8)(epoch, np.random.default_rng([4, epoch])))
        for a, b in zip((u, i, j), zip(*(t[:3] for t in tb))):
            np.testing.assert_array_equal(a, np.concatenate([t.numpy() for t in b]))
        seen.append(j)
    assert not np.array_equal(seen[0], seen[1])  # fresh negatives
    # the reference's user-uniform draw reaches both loops the same way
    (u, i, j), _ = bpr_epochs(x, "users")(0, np.random.default_rng([4, 0]))
    tb = list(bpr_batches(x, 8, draw="users")(0, np.random.default_rng([4, 0])))
    for a, b in zip((u, i, j), zip(*(t[:3] for t in tb))):
        np.testing.assert_array_equal(a, np.concatenate([t.numpy() for t in b]))
    assert sorted(zip(u.tolist(), i.tolist())) != positives  # not each pair once


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["lightgcn", "gcn"])
def test_one_sgd_epoch_gives_the_same_weights_in_keras_and_torch(graph, kind):
    """Same start, same triples, plain SGD: every update is -lr * gradient, so equal weights after
    two epochs of 4 batches each (fresh triples in the second) mean equal gradients in both
    frameworks (to float32 rounding)."""
    import keras
    from adrec.keras_nn.gcn import BPRLoss, bpr_epochs
    from adrec.keras_nn.train import fit as keras_fit
    from adrec.torch_nn.gcn import bpr_batches, bpr_loss_fn
    from adrec.torch_nn.train import fit as torch_fit
    x, adj, E0, Ws, _ = graph
    tm, km = torch_model(kind, adj, E0, Ws, n_layers=2), keras_model(kind, adj, E0, Ws, n_layers=2)
    batch, lr, reg = 8, 0.5, 0.01
    torch_fit(tm, bpr_loss_fn(reg), bpr_batches(x, batch), epochs=2, lr=lr, optimizer="sgd", seed=2, progress=False)
    keras_fit(km, BPRLoss(reg), bpr_epochs(x), epochs=2, lr=lr, optimizer="sgd",
              batch_size=batch, seed=2, shuffle=False, progress=False, jit_compile=False)
    moved = np.abs(tm.embedding.detach().numpy() - E0).max()
    assert moved > 2e-3  # training did change the weights (by far more than the tolerance)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(km.embedding), tm.embedding.detach().numpy(), atol=1e-5)
    if kind == "gcn":
        for kk, tk, W in zip(km.kernels, tm.kernels, Ws):
            assert np.abs(tk.detach().numpy() - W).max() > 2e-3
            np.testing.assert_allclose(keras.ops.convert_to_numpy(kk), tk.detach().numpy(), atol=1e-5)
