"""Training throughput (examples/s) of MF (dot product) and NeuMF on MovieLens-1M: PyTorch vs Keras
on the torch backend vs Keras on TensorFlow, side by side in one run.

Each framework runs in its own subprocess (a Keras backend is fixed at import). All train the same
adrec models (``adrec.torch_nn.scoring`` / ``adrec.keras_nn.scoring``, full-profile factors) on the
same pointwise examples (ML-1M implicit leave-one-out train set, 4 sampled negatives per positive,
seed 0), batch 1024, Adam: after a warm-up of a few batches (compilation, allocator), the
``--examples`` examples are trained on ``--repeats`` times and the fastest pass is reported (one
pass on a shared 2-core machine varied by up to 3x). A framework that cannot be imported (no TensorFlow on a GPU
machine, say) is reported as such.

Usage: ``python benchmarks/mf_throughput.py [--examples 300000] [--repeats 3] [--device auto] [--out results/benchmarks]``.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from common import fastest

MODELS = {"mf_dot": 64, "neumf": 32}
BATCH, NEGATIVES, LR = 1024, 4, 1e-3
WARM_UP = 20 * BATCH  # examples trained before the timing (compilation, allocator)
WORKERS = (("pytorch", "torch", None), ("keras/torch", "keras", "torch"), ("keras/tensorflow", "keras", "tensorflow"))


def examples(n):
    from adrec.data import ncf
    split = ncf.load_loo("ml-1m")
    u, i, y = ncf.sample_pointwise(split.train, NEGATIVES, np.random.default_rng(0))
    return split, u[:n], i[:n], y[:n]


def worker(framework, n, device, repeats):
    from adrec import env
    dev = env.pick_device(device)
    split, u, i, y = examples(n)
    out = {}
    if framework == "torch":
        import torch

        from adrec.torch_nn import scoring as tsc
        for name, factors in MODELS.items():
            model = tsc.build_model(name, split.n_users, split.n_items, factors, 3, seed=0).to(dev)
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            tu, ti, ty = (torch.as_tensor(a, device=dev) for a in (u, i, y))

            def run(lo, hi):
                for s in range(lo, hi, BATCH):
                    loss = tsc.pointwise_loss(model, (tu[s:s + BATCH], ti[s:s + BATCH], ty[s:s + BATCH]))
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                if dev == "cuda":
                    torch.cuda.synchronize()
            run(0, WARM_UP)
            out[name] = (n - WARM_UP) / fastest(lambda: run(WARM_UP, n), repeats)[0]
    else:
        import keras

        from adrec.keras_nn import scoring as ksc
        from adrec.keras_nn.train import _dense_gradients
        for name, factors in MODELS.items():
            model = ksc.build_model(name, split.n_users, split.n_items, factors, 3, seed=0)
            model.compile(optimizer=_dense_gradients(keras.optimizers.Adam)(LR),
                          loss=keras.losses.BinaryCrossentropy(from_logits=True))
            model.fit((u[:WARM_UP], i[:WARM_UP]), y[:WARM_UP].astype("float32"), batch_size=BATCH, epochs=1,
                      shuffle=False, verbose=0)
            rest = ((u[WARM_UP:], i[WARM_UP:]), y[WARM_UP:].astype("float32"))
            out[name] = (n - WARM_UP) / fastest(
                lambda: model.fit(*rest, batch_size=BATCH, epochs=1, shuffle=False, verbose=0), repeats)[0]
        out["backend"] = keras.backend.backend()
    out["device"] = dev
    print("RESULT " + json.dumps(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=300_000)
    ap.add_argument("--repeats", type=int, default=3, help="passes over the examples; the fastest counts")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="results/benchmarks")
    ap.add_argument("--worker", choices=("torch", "keras"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.examples <= WARM_UP + BATCH:
        ap.error(f"--examples must exceed the {WARM_UP:,} warm-up examples by at least a batch ({BATCH}), "
                 f"got {args.examples:,}")
    if args.worker:
        return worker(args.worker, args.examples, args.device, args.repeats)

    from common import machine, run_worker, save
    device, report = machine(args.device)
    results = {}
    for label, framework, backend in WORKERS:
        results[label] = run_worker(label, [__file__, "--worker", framework, "--examples", str(args.examples),
                                            "--repeats", str(args.repeats), "--device", args.device],
                                    {"KERAS_BACKEND": backend} if backend else {})
        if "error" not in results[label]:
            print(f"  {label}: done on {results[label]['device']}")
    base = results["pytorch"]
    print(f"\n{'examples/s (ratio to PyTorch)':<20}" + "".join(f"{lbl:>26}" for lbl, _, _ in WORKERS))
    for name in MODELS:
        cells = []
        for label, _, _ in WORKERS:
            r = results[label]
            if name not in r:
                cells.append(f"{'n/a':>26}")
            else:
                ratio = r[name] / base[name] if name in base else float("nan")
                cells.append(f"{r[name]:>16,.0f} ({ratio:5.2f}x)")
        print(f"{name:<20}" + "".join(cells))
    save(args.out, "mf_throughput", device, report, examples_per_s=results, examples=args.examples, repeats=args.repeats,
         batch_size=BATCH, factors=MODELS)


if __name__ == "__main__":
    main()
