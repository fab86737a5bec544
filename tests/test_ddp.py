"""Scale-out on PyTorch's engine: ``adrec.torch_nn.train.fit`` under ``torchrun --nproc_per_node 2``
(DDP, gloo on CPU) makes the updates one process makes. A small MF (pointwise BCE + L2 through
``model.logits_and_l2``, restore-best by HR@5) and a small LightGCN (BPR through ``model(u, i, j)``,
full-ranking recall/NDCG) are trained for 4 epochs by one process, and by two processes in two
launches (2 epochs, checkpointed by rank 0, then resumed to 4 by both ranks). The batch sizes are
odd, so the two ranks' slices differ by one row in every batch, and MF's last batch has one row (one
rank gets none and adds nothing).

Tolerance: the two runs compute the same sums in another order (each rank sums its slice's
gradient, gloo adds the two halves), so float32 results differ in the last bits and Adam carries the
differences on; over 4 epochs the per-epoch train losses agree to a relative 1e-5 and the ranking
metrics exactly (a metric changes only when two scores swap, which such differences do not cause
here). A run without the gradient all-reduce (each rank training on its half) misses the 1e-5 by
orders of magnitude. Both ranks return the same history, bit for bit (every rank evaluates).

Run directly (``python tests/test_ddp.py OUT CHECKPOINT_DIR EPOCHS``) this file is the worker.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).resolve()
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]  # torchrun; a free localhost port
LAUNCH_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
MF_BATCH, LIGHTGCN_BATCH, NEGATIVES = 101, 97, 4


def grouped_pairs(n_users, n_items, per_user, rng, groups=4):
    """Each user's items drawn from its own group of items (u % groups == i % groups): structure a
    model learns in a few epochs, so the metrics move."""
    users, items = [], []
    for u, n in enumerate(per_user):
        own = np.arange(u % groups, n_items, groups)
        users += [u] * n
        items += list(rng.choice(own, size=n, replace=False))
    return np.array(users), np.array(items)


def counted(loss, evaluate):
    """``loss`` and ``evaluate`` that also count the rows the loss is given in each epoch (``seen``)."""
    seen = [0]

    def loss_counted(model, batch):
        seen[-1] += len(batch[0])
        return loss(model, batch)

    def evaluate_counted(model):
        seen.append(0)
        return evaluate(model)

    return loss_counted, evaluate_counted, seen


def train_mf(epochs, checkpoint):
    from adrec.data.ncf import LeaveOneOut
    from adrec.graph import Interactions
    from adrec.ranking import evaluate_sampled, sample_candidates
    from adrec.torch_nn import scoring, train

    rng = np.random.default_rng(0)
    n_users, n_items = 50, 80
    # 586 training pairs x (1 + 4 negatives) = 2,930 rows = 29 batches of 101 + a last batch of 1 row
    users, items = grouped_pairs(n_users, n_items, [12 + (u < 36) for u in range(n_users)], rng)
    held_out = np.r_[True, users[1:] != users[:-1]]  # each user's first item is its test item
    split = LeaveOneOut(Interactions.from_pairs(users[~held_out], items[~held_out], n_users, n_items),
                        items[held_out], np.arange(n_users), np.arange(n_items))
    assert len(split.train) * (1 + NEGATIVES) % MF_BATCH == 1
    candidates = sample_candidates(split.rated(), split.test_items, 20, seed=0)
    model = scoring.build_model("mf_dot", n_users, n_items, 8, init_std=0.1, seed=0, reg=0.003)
    loss, data = scoring.pointwise_training(split.train, NEGATIVES, MF_BATCH)
    loss, evaluate, seen = counted(loss, lambda m: evaluate_sampled(scoring.score_fn(m), candidates, k=5))
    history = train.fit(model, loss, data, epochs=epochs, lr=0.01, evaluate=evaluate, restore_best="hr@5",
                        checkpoint=checkpoint, settings_key="mf", seed=1, progress=False)
    return history, seen[:-1]


def train_lightgcn(epochs, checkpoint):
    from adrec.experiments.lightgcn import adjacency
    from adrec.graph import Interactions
    from adrec.ranking import full_ranking_evaluator
    from adrec.torch_nn import gcn, train

    n_users, n_items = 50, 120
    users, items = grouped_pairs(n_users, n_items, [10] * n_users, np.random.default_rng(1))
    pairs, test = Interactions.from_pairs(users, items, n_users, n_items).split_per_user(0.2, seed=0)
    train.set_seed(0)
    model = gcn.LightGCN(n_users, n_items, 16, adjacency(pairs), n_layers=2)
    loss, data = gcn.bpr_training(pairs, 1e-4, LIGHTGCN_BATCH, "pairs")
    loss, evaluate, seen = counted(loss, full_ranking_evaluator(pairs, test, k=10, every=1, epochs=epochs))
    history = train.fit(model, loss, data, epochs=epochs, lr=0.01, evaluate=evaluate, checkpoint=checkpoint,
                        settings_key="lightgcn", seed=2, progress=False)
    return history, seen[:-1]


def worker(out, checkpoint_dir, epochs):
    """Train both models; each rank writes ``<out>.rank<r>.json`` (history, rows its loss saw per epoch)."""
    import torch
    torch.set_num_threads(1)
    result = {}
    for name, run in (("mf", train_mf), ("lightgcn", train_lightgcn)):
        checkpoint = None if checkpoint_dir == "-" else Path(checkpoint_dir) / f"{name}.ckpt.pt"
        history, seen = run(epochs, checkpoint)
        result[name] = {"rows": [{k: v for k, v in r.items() if k != "wall_time_s"} for r in history.rows],
                        "best_epoch": history.best_epoch, "seen": seen}
    Path(f"{out}.rank{os.environ.get('RANK', '0')}.json").write_text(json.dumps(result))


def launch(tmp_path, name, epochs, processes, checkpoint_dir="-"):
    """Run the worker in ``processes`` processes (torchrun for more than one)."""
    out = tmp_path / name
    command = ([*TORCHRUN, "--nproc_per_node", str(processes)] if processes > 1 else [sys.executable]) + [
        str(WORKER), str(out), str(checkpoint_dir), str(epochs)]
    env = {**{k: v for k, v in os.environ.items() if k not in LAUNCH_VARIABLES}, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads(Path(f"{out}.rank{r}.json").read_text()) for r in range(processes)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One process for 4 epochs; two processes for 2 epochs (checkpointed), then resumed to 4."""
    tmp = tmp_path_factory.mktemp("ddp")
    one = launch(tmp, "one", 4, 1)[0]
    (tmp / "checkpoints").mkdir()
    first = launch(tmp, "first", 2, 2, tmp / "checkpoints")
    resumed = launch(tmp, "resumed", 4, 2, tmp / "checkpoints")
    return one, first, resumed, tmp / "checkpoints"


@pytest.mark.parametrize("model", ["mf", "lightgcn"])
def test_two_processes_make_the_updates_of_one(runs, model):
    one, first, resumed, _ = runs
    rows, reference = resumed[0][model]["rows"], one[model]["rows"]
    assert [r["epoch"] for r in rows] == [r["epoch"] for r in reference] == [1, 2, 3, 4]
    assert rows[:2] == first[0][model]["rows"]  # the resumed launch kept the first launch's epochs
    for got, want in zip(rows, reference):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-5, abs=0)
        assert {k: v for k, v in got.items() if k != "train_loss"} == {k: v for k, v in want.items() if k != "train_loss"}
    assert resumed[0][model]["best_epoch"] == one[model]["best_epoch"]
    # the metrics moved, so equal metrics say something
    metric = [k for k in reference[0] if k not in ("epoch", "train_loss")][0]
    assert reference[-1][metric] > reference[0][metric]


def test_every_rank_returns_the_same_history(runs):
    _, first, resumed, _ = runs
    for launched in (first, resumed):
        for model in ("mf", "lightgcn"):
            assert launched[0][model]["rows"] == launched[1][model]["rows"]
            assert launched[0][model]["best_epoch"] == launched[1][model]["best_epoch"]


def test_each_rank_trains_on_its_slice_of_every_batch(runs):
    one, first, resumed, checkpoints = runs
    # MF: 29 batches of 101 rows (rank 0 takes 50, rank 1 51) and a last batch of 1 row, which rank 1
    # takes while rank 0, left without rows, computes it with weight 0
    assert one["mf"]["seen"] == [2930] * 4
    assert [run[r]["mf"]["seen"] for run in (first, resumed) for r in (0, 1)] == [[29 * 50 + 1] * 2, [29 * 51 + 1] * 2] * 2
    # LightGCN: 400 BPR triples = 4 batches of 97 (48 / 49) and one of 12 (6 / 6)
    assert one["lightgcn"]["seen"] == [400] * 4
    assert [resumed[r]["lightgcn"]["seen"] for r in (0, 1)] == [[4 * 48 + 6] * 2, [4 * 49 + 6] * 2]
    from adrec.torch_nn.train import checkpoint_epoch
    assert checkpoint_epoch(checkpoints / "mf.ckpt.pt") == checkpoint_epoch(checkpoints / "lightgcn.ckpt.pt") == 4


def test_a_batch_is_shared_so_that_the_weighted_slice_losses_average_to_its_mean():
    import torch

    from adrec.torch_nn.train import _share
    x, per_row = torch.arange(7), torch.linspace(0.0, 1.0, 7)
    for world in (2, 3, 8):
        shares = [_share((x, None), r, world) for r in range(world)]
        assert torch.cat([s[0][0] for s in shares if s[2]]).tolist() == x.tolist()  # a partition, in order
        assert all(s[0][1] is None for s in shares)
        # DDP's average of the weighted slice means is the batch mean
        mean = sum(per_row[s[0][0]].mean() * s[1] for s in shares) / world
        assert float(mean) == pytest.approx(float(per_row.mean()), rel=1e-6)
    assert _share((x,), 0, 8)[1:] == (0.0, 0)  # 7 rows over 8 ranks: rank 0 gets none, weight 0


def test_a_partial_torchrun_environment_is_one_clear_error(monkeypatch):
    from adrec.torch_nn.train import _launch
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT unset"):
        _launch()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert _launch() is None


@pytest.mark.keras
def test_a_keras_row_under_torchrun_is_refused_before_any_work(monkeypatch, tmp_path):
    """Only the PyTorch loop splits its batches over processes: N Keras processes would each train
    the whole row and write the same files."""
    from adrec.experiments.runner import train_row
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("ADREC_RESULTS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="keras rows do not train under torchrun"):
        train_row("ncf", "mf_dot", framework="keras", profile="quick")
    assert not any(tmp_path.iterdir())


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2], int(sys.argv[3]))
