"""Top-k of every user over every item by dot product, training items excluded.

Side by side on the same embeddings and the same training matrix (Gowalla's shapes by default:
29,858 users x 40,981 items, d = 64, k = 20, the LightGCN training set masked):

* ``adrec``: :func:`adrec.ranking.topk_full_ranking` (torch, user blocks, -inf mask, topk with
  ties broken toward the lower item id);
* ``torch plain``: blocks of 4,096 users, dense scores, -inf mask and a bare ``torch.topk`` of the
  whole row (no tie rule): the loop of PyG's LightGCN example, and the benchmarks' baseline
  (``common.plain_topk``); ``plain, 256`` the same loop at adrec's CPU block size, so the output
  separates what the block size gives from what the two-stage top-k gives;
* ``numpy``: the plain baseline: one block of scores in numpy, mask, ``argsort`` of each row
  (``--numpy-users N``: timed on the first N users and scaled to all, for a GPU session's minutes).

All three must return the same top-k sets (checked, printed). On a GPU the output adds the
fraction of the memory-bandwidth roofline: the scores block is written and read once, so
bytes moved ~ 2 x 4 x n_users x n_items, at the device-to-device copy rate measured in the same
run (bytes read + written per second, best of 10 copies of 1 GiB), over the measured time.

Usage: ``python benchmarks/topk_scoring.py [--device auto] [--synthetic] [--numpy-users N] [--out results/benchmarks]``.
"""
from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp
import torch

from adrec.ranking import topk_full_ranking
from common import fastest, machine, plain_topk, save



def numpy_topk(U, V, R, k, batch=4096):
    out = np.empty((U.shape[0], k), dtype=np.int64)
    for s in range(0, U.shape[0], batch):
        scores = U[s:s + batch] @ V.T
        block = R[s:s + batch].tocoo()
        scores[block.row, block.col] = -np.inf
        out[s:s + batch] = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return out


def copy_bandwidth(device: str, n_bytes: int = 1 << 30, repeats: int = 10) -> float:
    """Bytes read + written per second by the best of ``repeats`` device-to-device copies."""
    src = torch.empty(n_bytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    dst.copy_(src)  # warm-up
    torch.cuda.synchronize()
    best, _ = timed(lambda: dst.copy_(src), repeats)
    return 2 * n_bytes / best


def timed(fn, repeat=1):
    """:func:`common.fastest` of ``fn``, each timed call waiting for the GPU to finish."""
    def step():
        result = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return result
    return fastest(step, repeat)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--synthetic", action="store_true", help="random 29,858 x 40,981 training matrix instead of Gowalla")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--numpy-users", type=int, default=0,
                    help="time numpy on the first N users and scale to all (0: all users)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: library default)")
    ap.add_argument("--out", default="results/benchmarks")
    args = ap.parse_args(argv)
    if args.numpy_users < 0:
        ap.error(f"--numpy-users must be >= 0, got {args.numpy_users}")
    if args.threads:
        torch.set_num_threads(args.threads)
    device, report = machine(args.device)
    print(f"torch intra-op threads: {torch.get_num_threads()}")

    rng = np.random.default_rng(args.seed)
    if args.synthetic:
        n_users, n_items = 29_858, 40_981
        R = sp.random(n_users, n_items, density=810_128 / (n_users * n_items), format="csr", random_state=args.seed)
        source = "random sparse matrix with Gowalla's shape and density"
    else:
        from adrec.data.gowalla import load_gowalla
        split = load_gowalla()
        n_users, n_items, R = split.n_users, split.n_items, split.train.matrix()
        source = "Gowalla training matrix (LightGCN split)"
    U = rng.standard_normal((n_users, args.dim)).astype(np.float32)
    V = rng.standard_normal((n_items, args.dim)).astype(np.float32)
    print(f"{n_users:,} users x {n_items:,} items, d={args.dim}, k={args.k}; {source}; {R.nnz:,} masked entries")

    t_ours, top_ours = timed(lambda: topk_full_ranking(U, V, R, k=args.k, device=device))
    t_plain, top_plain = timed(lambda: plain_topk(U, V, R, args.k, device=device))
    t_small, top_small = timed(lambda: plain_topk(U, V, R, args.k, batch=256, device=device))
    n_np = min(args.numpy_users or n_users, n_users)
    t_np, top_np = timed(lambda: numpy_topk(U[:n_np], V, R[:n_np], args.k))
    t_np *= n_users / n_np  # scaled to all users (the blocks are alike: the time is linear in users)
    if n_np < n_users:
        print(f"numpy timed on the first {n_np:,} users, scaled x{n_users / n_np:.2f} to all")
    same = lambda a, b: float(np.mean(np.sort(a[:len(b)], 1) == np.sort(b, 1)))  # noqa: E731
    rows = {"seconds": (t_ours, t_plain, t_small, t_np),
            "numpy / this": (t_np / t_ours, t_np / t_plain, t_np / t_small, 1.0),
            "this / adrec": (1.0, t_plain / t_ours, t_small / t_ours, t_np / t_ours),
            "top-k sets equal to adrec's (share)": (1.0, same(top_plain, top_ours), same(top_small, top_ours),
                                                    same(top_ours, top_np))}
    extra = {}
    if device == "cuda":
        extra["copy_bytes_per_s"] = bandwidth = copy_bandwidth(device)
        print(f"device-to-device copy: {bandwidth / 1e12:.2f} TB/s (read + written)")
        ideal = 2 * 4 * n_users * n_items / bandwidth
        rows["fraction of bandwidth roofline"] = (ideal / t_ours, ideal / t_plain, ideal / t_small, float("nan"))
    print(f"\n{'top-k full ranking, ' + device:<40} {'adrec':>10} {'torch plain':>12} {'plain, 256':>11} {'numpy':>10}")
    for key, (a, b, c, d) in rows.items():
        print(f"{key:<40} {a:>10.4g} {b:>12.4g} {c:>11.4g} {d:>10.4g}")
    save(args.out, "topk_scoring", device, report, rows={k: list(v) for k, v in rows.items()}, source=source,
         k=args.k, dim=args.dim, threads=torch.get_num_threads(), numpy_users_timed=n_np, **extra)


if __name__ == "__main__":
    main()
