"""Click rows through the one runner: the command line writes a row for a registered ad log, and the
epoch the row reports (read back from its history) is the one BestEpoch selected while training."""
import json

import numpy as np
import pytest

from adrec.experiments import click, runner


def test_the_command_line_trains_a_click_row(tmp_path, capsys):
    assert runner.main(["click", "--model", "lr", "--dataset", "avazu", "--profile", "quick", "--epochs", "2"]) == 0
    row = json.loads(next((tmp_path / "results").rglob("avazu-head10k_lr_torch_seed0.json")).read_text())
    assert row["study"] == "click" and row["dataset"] == "avazu-head10k" and len(row["history"]) == 2
    assert row["settings"]["lr"] == row["provenance"]["settings"]["lr_logreg"]
    assert 0.6 < row["metrics"]["auc"] < 0.9  # a trained LR on the Avazu head: above chance, below the Bayes-free ceiling


def test_reported_epoch_is_the_lowest_validation_logloss_one():
    from adrec.data import ctr

    task = ctr.ctr_task("avazu", n_buckets=4096, min_count=2)
    run = click.train_click_model(task, "mlp", epochs=3, batch_size=256, lr=0.003, embed_dim=4, hidden_sizes=(8,))
    from_history = click.best_epoch(run.history)
    assert from_history["best_epoch"] == run.best.epoch
    assert from_history["auc"] == pytest.approx(run.test_auc, abs=0) and from_history["logloss"] == run.test_logloss
    losses = [r["valid_logloss"] for r in run.history.rows]
    assert run.best.epoch == int(np.argmin(losses)) + 1


def test_a_click_row_needs_a_dataset():
    with pytest.raises(ValueError, match="need --dataset"):
        runner.train_row("click", "lr", profile="quick")


def test_an_interrupted_click_row_resumes_to_the_uninterrupted_numbers(tmp_path, monkeypatch):
    def row(results, epochs):
        monkeypatch.setenv("ADREC_RESULTS_DIR", str(tmp_path / results))
        return runner.train_row("click", "mlp", dataset="avazu", profile="quick", epochs=epochs, progress=False,
                                hash_buckets=4096, hidden_sizes=[8], embed_dim=4)

    straight = row("straight", 3)
    row("cut", 1)
    resumed = row("cut", 3)
    strip = lambda h: [{k: v for k, v in r.items() if k != "wall_time_s"} for r in h]  # noqa: E731
    assert strip(resumed["history"]) == strip(straight["history"])  # bit-identical, epoch by epoch
    assert resumed["key"] == straight["key"]


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be >= 1"),
    (["--threads", "0"], "thread count must be a whole number >= 1"),
    (["--set", "lr=oops"], "setting lr"),
])
def test_bad_options_are_one_error_before_any_work(argv, message, capsys):
    """``--epochs 0`` used to mean "the profile's epochs"; now it, a bad thread count and a setting
    of the wrong type each stop the command with one message (exit 2) and nothing trained."""
    try:
        code = runner.main(["click", "--model", "lr", "--dataset", "avazu", "--profile", "quick", *argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2 and message in capsys.readouterr().err
