"""adrec.experiments.next_item: the best-validation row, argument errors, that both models learn a
sequence rule a random scorer cannot (PyTorch here; the Keras twin in the keras pass), and that an
interrupted row resumes its evaluation schedule (a checkpoint of other settings is refused)."""
import numpy as np
import pytest

from adrec.data.sequences import Sequences, sequence_task
from adrec.experiments import next_item, runner
from adrec.history import History

# next_item.ROW_SETTINGS + rnn_dropout; adam_beta2 is the fit loops' default (what a bare cfg trained with)
CFG = {"maxlen": 10, "dim": 16, "n_blocks": 1, "n_heads": 1, "dropout": 0.0, "rnn_dropout": 0.0, "lr": 0.01,
       "adam_beta2": 0.999, "batch_size": 64, "n_negatives": 10, "eval_every": 10, "k": 1}


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


def test_row_settings_are_the_declared_ones():
    assert set(next_item.RECIPE.row_settings("sasrec", CFG)) == set(next_item.ROW_SETTINGS)
    assert set(next_item.RECIPE.row_settings("gru4rec", CFG)) == {*next_item.ROW_SETTINGS, "rnn_dropout"}
    assert set(CFG) == {*next_item.ROW_SETTINGS, "rnn_dropout"}  # this file's settings are exactly those


def test_interrupted_run_resumes_with_its_evaluations(tmp_path):
    """A run stopped after 10 epochs and resumed to 20 keeps epoch 10's evaluation and evaluates at
    epoch 20 (the schedule continues from the checkpoint), as an uninterrupted run does; a resume
    under other settings is refused and ``restart`` trains the row afresh."""
    import torch

    from adrec.torch_nn.train import CheckpointMismatch

    task = cyclic_task()
    next_item.train("gru4rec", "torch", task, CFG, epochs=10, progress=False, checkpoint_dir=tmp_path)
    row = runner.row_for(next_item.RECIPE, "gru4rec", "torch", 0, CFG, "cyclic", tmp_path, {},
                         arrays=task.data.sequences)
    assert row.checkpoint_path.name == "cyclic_gru4rec_torch_seed0.ckpt.pt"
    assert torch.load(row.checkpoint_path, weights_only=True)["settings_key"] == row.key
    _, history, _ = next_item.train("gru4rec", "torch", task, CFG, epochs=20, progress=False, checkpoint_dir=tmp_path)
    assert [r["epoch"] for r in history.rows] == list(range(1, 21))
    assert [r["epoch"] for r in history.rows if "valid_ndcg@1" in r] == [10, 20]
    _, straight, _ = next_item.train("gru4rec", "torch", task, CFG, epochs=20, progress=False)
    assert history.rows[9]["valid_ndcg@1"] == straight.rows[9]["valid_ndcg@1"]
    assert history.rows[19]["train_loss"] == pytest.approx(straight.rows[19]["train_loss"], rel=1e-6)
    # other settings, the same row: refused with one message naming --restart; restart starts afresh
    changed = {**CFG, "rnn_dropout": 0.1}
    with pytest.raises(CheckpointMismatch, match="--restart"):
        next_item.train("gru4rec", "torch", task, changed, epochs=21, progress=False, checkpoint_dir=tmp_path)
    new_row = runner.row_for(next_item.RECIPE, "gru4rec", "torch", 0, changed, "cyclic", tmp_path, {},
                             arrays=task.data.sequences)
    assert new_row.key != row.key and new_row.checkpoint_path == row.checkpoint_path
    _, restarted = runner.fit_row(next_item.RECIPE, new_row, task, changed, epochs=1, restart=True, progress=False)
    assert [r["epoch"] for r in restarted.rows] == [1]  # from scratch, under the new settings
    assert torch.load(row.checkpoint_path, weights_only=True)["settings_key"] == new_row.key
