"""Next-item models GRU4Rec and SASRec on Amazon Games: training throughput (sequences/s) and the
latency of scoring one user's history (batch of 1), PyTorch vs Keras on the torch backend vs Keras
on TensorFlow, side by side in one run; plus the latency of the LSTM user tower (``LSTMUserTower``:
whether Keras's cuDNN LSTM path on a GPU pays off at batch 1).

Each framework runs in its own subprocess (a Keras backend is fixed at import). All build the same
adrec models (:func:`adrec.experiments.next_item.build` with the ``05_sequence_models`` full
profile: dim 50, maxlen 50, 2 blocks, 1 head, dropout 0.5, batch 128, Adam lr 1e-3) and train on
the same examples: the first ``--users`` users of Amazon Games (SASRec's preprocessing, the
training part of each user's sequence), one epoch's examples drawn with seed 0 by
:func:`adrec.torch_nn.sequence.next_item_batches` / :func:`adrec.keras_nn.sequence.next_item_data`
(the same arrays), loss ``next_item_train_loss`` / ``next_item_loss``. PyTorch steps by hand
(forward, backward, Adam); Keras through ``model.compile`` + ``model.fit`` with the optimizer and
``jit_compile=False`` of :func:`adrec.keras_nn.train.fit`. After a warm-up of a few batches, one
pass over the users is timed ``--repeats`` times and the fastest counts.

Latency: ``model.score(seq, items)`` for one user's left-padded last 50 items against 101
candidates (the evaluation protocol's target + 100 negatives), inference mode (``torch.no_grad``
/ ``training=False``, eager calls: what a server answering one request at a time runs), median
over ``--calls`` calls after 5 warm-up calls (or fewer, at least 10, once
``--latency-budget-s`` seconds are spent; the count is stored). The LSTM tower (defaults: embedding 64, hidden
128, vocabulary = the items) gets the same 50 ids. A framework that cannot be imported (no
TensorFlow on a GPU machine, say) is reported as not run.

Usage: ``python benchmarks/sequence_throughput.py [--users 4096] [--repeats 3] [--calls 200]
[--latency-budget-s 10] [--threads 0] [--device auto] [--out results/benchmarks] [--note TEXT]``.
``--threads 1`` keeps each framework on one core (on a loaded shared CPU machine, library
defaults oversubscribe the cores and the numbers scatter).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from common import fastest

MODELS = ("gru4rec", "sasrec")
WORKERS = (("pytorch", "torch", None), ("keras/torch", "keras", "torch"), ("keras/tensorflow", "keras", "tensorflow"))
N_CANDIDATES, WARM_BATCHES, WARM_CALLS = 101, 5, 5


def settings():
    from adrec import profiles
    return profiles.resolve("05_sequence_models", "full")


def examples(n_users, maxlen):
    """(train sequences, rated matrix, n_items) of the first ``n_users`` Amazon Games users."""
    from adrec.data import sequences as sq
    data = sq.load_amazon_games()
    train = data.split()[0][:n_users]
    return train, data.rated()[:n_users], data.n_items


def median_ms(call, n: int, budget_s: float) -> tuple[float, int]:
    """(median ms, calls made) of up to ``n`` calls after the warm-up, stopping once ``budget_s``
    seconds are spent (at least 10 calls)."""
    for _ in range(WARM_CALLS):
        call()
    times, start = [], time.perf_counter()
    while len(times) < n and (len(times) < 10 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times)), len(times)


def limit_threads(framework, threads):
    """``threads`` intra-op threads (0: the library default), set before any op runs."""
    if not threads:
        return
    if framework == "torch" or os.environ.get("KERAS_BACKEND") == "torch":
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
    else:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def worker(framework, n_users, device, repeats, calls, budget_s, threads):
    limit_threads(framework, threads)
    from adrec import env
    from adrec.experiments.next_item import build
    dev = env.pick_device(device)
    cfg = settings()
    maxlen, bs, lr = cfg["maxlen"], cfg["batch_size"], cfg["lr"]
    train, rated, n_items = examples(n_users, maxlen)
    rng = np.random.default_rng(0)
    from adrec.data.sequences import left_pad
    one_seq = left_pad([train[int(np.argmax([len(s) for s in train]))]], maxlen)  # the longest history
    cands = rng.integers(1, n_items + 1, size=(1, N_CANDIDATES)).astype(np.int64)
    out = {"train_seq_per_s": {}, "latency_ms": {}, "latency_calls": {}}
    if framework == "torch":
        import torch

        from adrec.torch_nn import sequence as nn_seq
        sync = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
        batches = [tuple(torch.as_tensor(a, device=dev) if a is not None else None for a in b)
                   for b in nn_seq.next_item_batches(train, rated, maxlen, bs)(0, np.random.default_rng(0))]
        for name in MODELS:
            torch.manual_seed(0)
            model = build(name, "torch", n_items, cfg).to(dev)
            opt = torch.optim.Adam(model.parameters(), lr=lr)

            def run(part):
                model.train()
                for b in part:
                    loss = nn_seq.next_item_train_loss(model, b)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                sync()
            run(batches[:WARM_BATCHES])
            out["train_seq_per_s"][name] = n_users / fastest(lambda: run(batches), repeats)[0]
            model.eval()
            s, c = torch.as_tensor(one_seq, device=dev), torch.as_tensor(cands, device=dev)

            def score():
                with torch.no_grad():
                    model.score(s, c)
                sync()
            out["latency_ms"][name], out["latency_calls"][name] = median_ms(score, calls, budget_s)
        torch.manual_seed(0)
        tower = nn_seq.LSTMUserTower(n_items + 1).to(dev).eval()
        s = torch.as_tensor(one_seq, device=dev)

        def tower_call():
            with torch.no_grad():
                tower(s)
            sync()
        out["latency_ms"]["lstm_tower"], out["latency_calls"]["lstm_tower"] = median_ms(tower_call, calls, budget_s)
        out["backend"] = "torch " + torch.__version__
    else:
        import keras
        from keras import ops

        from adrec.keras_nn import sequence as nn_seq
        from adrec.keras_nn.train import _dense_gradients
        backend = keras.backend.backend()
        if backend == "torch":
            import torch
            no_grad = torch.no_grad
            sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
        else:
            import contextlib
            no_grad, sync = contextlib.nullcontext, (lambda: None)
        x, y = nn_seq.next_item_data(train, rated, maxlen)(0, np.random.default_rng(0))
        warm = WARM_BATCHES * bs
        for name in MODELS:
            keras.utils.set_random_seed(0)
            model = build(name, "keras", n_items, cfg)
            model.compile(optimizer=_dense_gradients(keras.optimizers.Adam)(lr), loss=nn_seq.next_item_loss,
                          jit_compile=False)
            model.fit(tuple(a[:warm] for a in x), y[:warm], batch_size=bs, epochs=1, shuffle=False, verbose=0)
            out["train_seq_per_s"][name] = n_users / fastest(
                lambda: model.fit(x, y, batch_size=bs, epochs=1, shuffle=False, verbose=0), repeats)[0]
            s, c = ops.convert_to_tensor(one_seq), ops.convert_to_tensor(cands)

            def score():
                with no_grad():
                    ops.convert_to_numpy(model.score(s, c))
                sync()
            out["latency_ms"][name], out["latency_calls"][name] = median_ms(score, calls, budget_s)
        keras.utils.set_random_seed(0)
        tower = nn_seq.LSTMUserTower(n_items + 1)
        s = ops.convert_to_tensor(one_seq)

        def tower_call():
            with no_grad():
                ops.convert_to_numpy(tower(s, training=False))
            sync()
        out["latency_ms"]["lstm_tower"], out["latency_calls"]["lstm_tower"] = median_ms(tower_call, calls, budget_s)
        out["backend"] = f"keras {keras.__version__} on {backend}"
    out["device"] = dev
    print("RESULT " + json.dumps(out))


def table(results, key, unit, rows, fmt):
    labels = [lbl for lbl, _, _ in WORKERS]
    base = results["pytorch"].get(key, {})
    print(f"\n{unit + ' (ratio to PyTorch)':<30}" + "".join(f"{lbl:>24}" for lbl in labels))
    for name in rows:
        cells = []
        for label in labels:
            r = results[label].get(key, {})
            if name not in r:
                cells.append(f"{'not run':>24}")
            else:
                ratio = r[name] / base[name] if name in base else float("nan")
                cells.append(f"{format(r[name], fmt):>14} ({ratio:5.2f}x)")
        print(f"{name:<30}" + "".join(cells))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=4096, help="first N Amazon Games users trained on per pass")
    ap.add_argument("--repeats", type=int, default=3, help="passes over the users; the fastest counts")
    ap.add_argument("--calls", type=int, default=200, help="batch-1 scoring calls; the median counts")
    ap.add_argument("--latency-budget-s", type=float, default=10.0,
                    help="stop the batch-1 calls of one model after this many seconds (at least 10 calls)")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads per framework (0: library default)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="results/benchmarks")
    ap.add_argument("--note", default="", help="free text stored in the JSON (e.g. machine load)")
    ap.add_argument("--worker", choices=("torch", "keras"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.users, args.device, args.repeats, args.calls, args.latency_budget_s, args.threads)

    from common import machine, run_worker, save
    device, report = machine(args.device)
    results = {}
    t0 = time.perf_counter()
    for label, framework, backend in WORKERS:
        env_updates = {**({"KERAS_BACKEND": backend} if backend else {}),
                       **({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {})}
        results[label] = run_worker(label, [__file__, "--worker", framework, "--users", str(args.users),
                                            "--repeats", str(args.repeats), "--calls", str(args.calls),
                                            "--device", args.device, "--latency-budget-s", str(args.latency_budget_s),
                                            "--threads", str(args.threads)], env_updates)
        if "error" not in results[label]:
            print(f"  {label}: done on {results[label]['device']} ({results[label]['backend']}), "
                  f"{time.perf_counter() - t0:.0f} s so far")
    table(results, "train_seq_per_s", "training sequences/s", MODELS, ",.0f")
    table(results, "latency_ms", "batch-1 latency ms (lower=better)", (*MODELS, "lstm_tower"), ".2f")
    cfg = settings()
    save(args.out, "sequence_throughput", device, report, results=results, users=args.users, repeats=args.repeats,
         calls=args.calls, latency_budget_s=args.latency_budget_s, threads=args.threads, settings={k: cfg[k] for k in ("maxlen", "dim", "n_blocks", "n_heads", "dropout", "lr",
                                                            "batch_size")},
         n_candidates=N_CANDIDATES, lstm_tower={"embed_dim": 64, "hidden": 128}, note=args.note,
         wall_s=round(time.perf_counter() - t0, 1))


if __name__ == "__main__":
    main()
