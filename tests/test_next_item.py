"""adrec.experiments.next_item: the best-validation row, argument errors, and that both models
learn a sequence rule a random scorer cannot (PyTorch here; the Keras twin in the keras pass)."""
import numpy as np
import pytest

from adrec.data.sequences import Sequences, sequence_task
from adrec.experiments import next_item
from adrec.history import History

CFG = {"maxlen": 10, "dim": 16, "n_blocks": 1, "n_heads": 1, "dropout": 0.0, "lr": 0.01,
       "batch_size": 64, "eval_every": 10, "k": 1}


def cyclic_task(n_users=300, n_items=40, length=12, seed=0):
    """Every user walks the items in a cycle (i -> i + 1) from a random start: the next item is
    determined by the last one, so a sequence model can rank it first among 10 sampled items."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n_items, n_users)
    seqs = [((s + np.arange(length)) % n_items + 1).astype(np.int64) for s in starts]
    return sequence_task(Sequences("cyclic", n_items, seqs), n_negatives=10, seed=seed)


def test_best_row_takes_test_numbers_at_best_validation():
    h = History()
    h.add(epoch=1, train_loss=1.0, wall_time_s=1.0)
    h.add(epoch=2, train_loss=0.9, wall_time_s=2.0, **{"valid_ndcg@10": 0.30, "test_hr@10": 0.50, "test_ndcg@10": 0.29})
    h.add(epoch=4, train_loss=0.8, wall_time_s=4.0, **{"valid_ndcg@10": 0.35, "test_hr@10": 0.55, "test_ndcg@10": 0.33})
    h.add(epoch=6, train_loss=0.7, wall_time_s=6.0, **{"valid_ndcg@10": 0.34, "test_hr@10": 0.60, "test_ndcg@10": 0.36})
    best = next_item.best_row(h)
    assert (best["best_epoch"], best["hr@10"], best["ndcg@10"]) == (4, 0.55, 0.33)
    assert best["epochs"] == 6 and best["train_time_s"] == 6.0


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown next-item model 'bert4rec'"):
        next_item.build("bert4rec", "torch", 10, CFG)
    with pytest.raises(ValueError, match="unknown framework 'jax'"):
        next_item.build("sasrec", "jax", 10, CFG)
    with pytest.raises(ValueError, match="unknown sequence dataset 'netflix'"):
        next_item.load_task("netflix")


def test_candidates_exclude_the_users_items():
    task = cyclic_task()
    for users, cands in ((task.eval_users, task.valid_candidates), (task.eval_users, task.test_candidates)):
        for u, row in zip(users[:50], cands[:50]):
            assert not set(row[1:]) & set(task.data.sequences[u].tolist())


@pytest.mark.parametrize("model", next_item.MODELS)
def test_torch_models_learn_the_cycle(model):
    task = cyclic_task()
    _, history, best = next_item.train(model, "torch", task, CFG, epochs=30, progress=False)
    # a random scorer puts the target first among 11 items 1/11 of the time
    assert best["hr@1"] > 0.9, best
    assert [r["epoch"] for r in history.rows if "valid_ndcg@1" in r] == [10, 20, 30]


@pytest.mark.keras
@pytest.mark.parametrize("model", next_item.MODELS)
def test_keras_models_learn_the_cycle(model):
    task = cyclic_task()
    _, _, best = next_item.train(model, "keras", task, CFG, epochs=30, progress=False)
    assert best["hr@1"] > 0.9, best


def test_interrupted_run_resumes_with_its_evaluations(tmp_path):
    """A run stopped after 10 epochs and resumed to 20 keeps epoch 10's evaluation and evaluates at
    epoch 20 (the schedule continues from the checkpoint), as an uninterrupted run does."""
    task, ckpt = cyclic_task(), tmp_path / "row.ckpt.pt"
    next_item.train("gru4rec", "torch", task, CFG, epochs=10, progress=False, checkpoint=ckpt)
    _, history, _ = next_item.train("gru4rec", "torch", task, CFG, epochs=20, progress=False, checkpoint=ckpt)
    assert [r["epoch"] for r in history.rows] == list(range(1, 21))
    assert [r["epoch"] for r in history.rows if "valid_ndcg@1" in r] == [10, 20]
    _, straight, _ = next_item.train("gru4rec", "torch", task, CFG, epochs=20, progress=False)
    assert history.rows[9]["valid_ndcg@1"] == straight.rows[9]["valid_ndcg@1"]
    assert history.rows[19]["train_loss"] == pytest.approx(straight.rows[19]["train_loss"], rel=1e-6)
