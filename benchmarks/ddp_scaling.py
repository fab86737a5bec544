"""DDP scaling of adrec's one PyTorch loop (``adrec.torch_nn.train.fit``): MF and LightGCN trained by
1 process and by 2 processes (``torchrun --standalone --nproc_per_node 2``, gloo on CPU), side by side
in one run, with the ratio.

* MF (``mf_dot``, 64 factors, bias, L2 0.0025): MovieLens-1M leave-one-out, a 2,000-user sample
  (seed 1), 4 fresh negatives per positive every epoch, batch 4,096, Adam 1e-3.
* LightGCN (dim 64, 3 layers, BPR, L2 1e-4): MovieLens-100K, per-user 80/20 split (seed 0), one
  BPR triple per training pair every epoch, batch 4,096, Adam 1e-3 (notebook 04's quick setting).

Each configuration runs in its own subprocess(es) and trains ``--epochs`` epochs without evaluation;
seconds per epoch is the fastest epoch after the first (the first pays for allocation), examples/s
is the epoch's rows (MF: positives + negatives; LightGCN: BPR triples) over it; the time includes
the epoch's sampling, which every rank repeats (each draws the whole epoch, then trains its half of
each batch). Each process runs one torch thread (1 process x 1 thread vs 2 processes x 1 thread:
the ratio is the scaling by processes). The last epoch's train loss is printed for each: the
2-process run computes the same updates (to float32 rounding). The machine's load average before
and after is recorded: on a shared machine the other jobs' load is part of what is measured.

DDP all-reduces every parameter's gradient after every batch: here the whole (dense) embedding
tables, (users + items) x dim floats per step, which is printed.

Usage: ``python benchmarks/ddp_scaling.py [--epochs 3] [--out results/benchmarks]`` (the datasets
through ``$ADREC_DATA_MIRROR`` or the cache).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

MF_USERS, DIM, BATCH, LR = 2_000, 64, 4_096, 1e-3
CONFIGS = (("1 process", 1), ("2 processes", 2))
MODELS = ("mf", "lightgcn")


def task(name):
    """(model, loss, data, rows per epoch) of a fresh, seeded model."""
    from adrec.torch_nn import gcn, scoring

    if name == "mf":
        from adrec.data import ncf
        split = ncf.subset_users(ncf.load_loo("ml-1m"), MF_USERS, seed=1)
        model = scoring.build_model("mf_dot", split.n_users, split.n_items, DIM, init_std=0.1, seed=0, reg=0.0025)
        loss, data = scoring.pointwise_training(split.train, 4, BATCH)
        return model, loss, data, 5 * len(split.train)
    from adrec.experiments.lightgcn import adjacency, load_task
    from adrec.torch_nn.train import set_seed
    pairs = load_task({"dataset": "ml-100k", "test_fraction": 0.2}, data_seed=0)[0]
    set_seed(0)
    model = gcn.LightGCN(pairs.n_users, pairs.n_items, DIM, adjacency(pairs), n_layers=3)
    loss, data = gcn.bpr_training(pairs, 1e-4, BATCH, "pairs")
    return model, loss, data, len(pairs)


def worker(name, epochs):
    import torch

    from adrec.torch_nn import train
    torch.set_num_threads(1)
    model, loss, data, rows = task(name)
    history = train.fit(model, loss, data, epochs=epochs, lr=LR, seed=0, progress=False)
    walls = [0.0] + [r["wall_time_s"] for r in history.rows]
    seconds = min(b - a for a, b in zip(walls[1:-1], walls[2:]))  # epochs 2..: the fastest
    if int(os.environ.get("RANK", "0")) == 0:
        params = sum(p.numel() for p in model.parameters())
        print("RESULT " + json.dumps({"s_per_epoch": seconds, "examples_per_s": rows / seconds, "rows": rows,
                                      "batches": -(-rows // BATCH), "gradient_floats_per_step": params,
                                      "last_train_loss": history.last("train_loss"),
                                      "processes": int(os.environ.get("WORLD_SIZE", "1")),
                                      "threads": torch.get_num_threads()}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="epochs per configuration (>= 2; the first is not timed)")
    ap.add_argument("--out", default="results/benchmarks")
    ap.add_argument("--worker", choices=MODELS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.epochs < 2:
        ap.error(f"--epochs must be >= 2 (the first epoch is not timed), got {args.epochs}")
    if args.worker:
        return worker(args.worker, args.epochs)

    from common import machine, run_worker, save
    _, report = machine("cpu")
    load_before, results = os.getloadavg(), {}
    for name in MODELS:
        for label, processes in CONFIGS:
            launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)] \
                if processes > 1 else []
            results.setdefault(name, {})[label] = run_worker(
                f"{name}, {label}", [*launcher, __file__, "--worker", name, "--epochs", str(args.epochs)],
                {"OMP_NUM_THREADS": "1"})
            print(f"  {name}, {label}: {results[name][label]}")
    load_after = os.getloadavg()
    base = CONFIGS[0][0]
    print(f"\n{'CPU, gloo, 1 thread each':<24}" + "".join(f"{label:>28}" for label, _ in CONFIGS))
    for name in MODELS:
        for what, key, fmt in (("s/epoch", "s_per_epoch", "{:>16.3f}"), ("examples/s", "examples_per_s", "{:>16,.0f}"),
                               ("last train loss", "last_train_loss", "{:>16.7f}")):
            cells = []
            for label, _ in CONFIGS:
                r = results[name][label]
                if key not in r:
                    cells.append(f"{'n/a':>28}")
                    continue
                ratio = f" ({r[key] / results[name][base][key]:5.2f}x)" if key != "last_train_loss" else " " * 9
                cells.append(f"{fmt.format(r[key])}{ratio:>12}")
            print(f"{name + ' ' + what:<24}" + "".join(cells))
    print(f"(ratio: to 1 process) load average (1, 5, 15 min) before {load_before}, after {load_after}")
    save(args.out, "ddp_scaling", "cpu", report, results=results, epochs=args.epochs, batch_size=BATCH, dim=DIM,
         mf_users=MF_USERS, lr=LR, backend="gloo", threads_per_process=1, load_average_before=load_before,
         load_average_after=load_after, command=" ".join(["python", *sys.argv]))


if __name__ == "__main__":
    main()
