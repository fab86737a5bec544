"""A runner that cannot lie: a row interrupted mid-run resumes to exactly the numbers of an
uninterrupted run (dropout included: every generator state is in the checkpoint), and a checkpoint
written under other settings is refused with one error instead of being resumed."""
import numpy as np
import pytest

from adrec.data.sequences import Sequences, sequence_task
from adrec.experiments import next_item
from adrec.experiments.runner import row_for

CFG = {"maxlen": 8, "dim": 16, "n_blocks": 1, "n_heads": 1, "dropout": 0.3, "rnn_dropout": 0.3, "lr": 0.01,
       "adam_beta2": 0.98, "batch_size": 32, "eval_every": 2, "k": 3, "n_negatives": 10}


def walk_task(n_users=60, n_items=30, length=10, seed=0):
    rng = np.random.default_rng(seed)
    seqs = [((s + np.arange(length)) % n_items + 1).astype(np.int64) for s in rng.integers(0, n_items, n_users)]
    return sequence_task(Sequences("walk", n_items, seqs), n_negatives=10, seed=seed)


def train(framework, model, tmp, epochs, cfg=CFG):
    return next_item.train(model, framework, walk_task(), cfg, epochs=epochs, seed=3, progress=False,
                           checkpoint_dir=tmp)


def assert_same_history(a, b):
    assert [r["epoch"] for r in a.rows] == [r["epoch"] for r in b.rows]
    for ra, rb in zip(a.rows, b.rows):
        assert {k: v for k, v in ra.items() if k != "wall_time_s"} == {k: v for k, v in rb.items() if k != "wall_time_s"}


def check_interrupted_equals_straight(framework, model, tmp_path):
    _, straight, best_straight = train(framework, model, tmp_path / "straight", 4)
    train(framework, model, tmp_path / "cut", 2)  # "interrupted" after epoch 2: its checkpoint holds 2 epochs
    _, resumed, best_resumed = train(framework, model, tmp_path / "cut", 4)
    assert_same_history(straight, resumed)  # bit-identical losses and metrics, epoch by epoch
    assert best_straight == {**best_resumed, "train_time_s": best_straight["train_time_s"]}
    # and the dropout really draws: a run of another seed differs
    _, other, _ = next_item.train(model, framework, walk_task(), CFG, epochs=1, seed=4, progress=False)
    assert other.rows[0]["train_loss"] != straight.rows[0]["train_loss"]


@pytest.mark.parametrize("model", ["sasrec", "gru4rec"])
def test_torch_dropout_model_resumes_bit_identically(model, tmp_path):
    check_interrupted_equals_straight("torch", model, tmp_path)


@pytest.mark.keras
@pytest.mark.parametrize("model", ["sasrec", "gru4rec"])
def test_keras_dropout_model_resumes_bit_identically(model, tmp_path):
    check_interrupted_equals_straight("keras", model, tmp_path)


def test_a_checkpoint_of_other_settings_is_refused_and_restart_discards_it(tmp_path):
    from adrec.experiments.runner import fit_row
    from adrec.torch_nn.train import CheckpointMismatch

    train("torch", "sasrec", tmp_path, 1)
    changed = {**CFG, "dropout": 0.1}
    with pytest.raises(CheckpointMismatch, match="--restart"):
        train("torch", "sasrec", tmp_path, 2, cfg=changed)
    row = row_for(next_item.RECIPE, "sasrec", "torch", 3, changed, "walk", tmp_path, {},
                  arrays=walk_task().data.sequences)
    _, history = fit_row(next_item.RECIPE, row, walk_task(), changed, epochs=1, restart=True, progress=False)
    assert [r["epoch"] for r in history.rows] == [1]  # from scratch, under the new settings


def test_the_key_covers_the_settings_data_and_trainer_but_not_the_epochs(tmp_path):
    key = lambda cfg=CFG, **kw: row_for(next_item.RECIPE, kw.get("model", "sasrec"), "torch", kw.get("seed", 3),  # noqa: E731
                                        cfg, kw.get("data", "ml-100k"), tmp_path, {}).key
    assert key() == key({**CFG, "epochs": 999})
    assert key() != key({**CFG, "lr": 0.02})
    assert key() != key(seed=4)
    assert key() != key(data="amazon-games")
    assert key(model="sasrec") != key(model="gru4rec")


def test_every_committed_row_loads_through_the_row_type_with_its_numbers_unchanged():
    """Rows written before the row schema load through adrec.experiments.row.load: the missing fields
    are read from their provenance and the metrics and history are the file's, value for value."""
    import json
    from pathlib import Path

    from adrec.experiments import row as rows_io

    files = sorted((Path(__file__).resolve().parent.parent / "results" / "full").glob("*/rows*/*.json"))
    assert len(files) >= 30
    studies = set()
    for path in files:
        raw, row = json.loads(path.read_text()), rows_io.load(path)
        assert set(rows_io.FIELDS) <= set(row)
        assert row["metrics"] == raw["metrics"] and row["history"] == raw.get("history", [])
        assert row["model"] == raw["model"] and row["framework"] == raw["framework"]
        assert row["seed"] == raw.get("seed", raw["provenance"].get("seed") if raw["framework"] != "numpy" else None)
        studies.add(row["study"])
    assert studies == {"ncf", "lightgcn", "next_item"}
