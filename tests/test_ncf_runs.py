"""adrec.experiments.ncf: the rows notebook 02 and ``python -m adrec.experiments ncf`` share — a run
stopped part-way resumes to the uninterrupted result, a finished checkpoint trains nothing more, a
checkpoint of other settings is refused (``--restart`` trains afresh), NeuMF's pre-training reuses
the run's own GMF and MLP, and settings resolve per model."""
import json
from pathlib import Path

import numpy as np
import pytest

from adrec.data.ncf import from_id_pairs
from adrec.experiments import ncf as ncf_runs
from adrec.experiments import runner
from adrec.ranking import sample_candidates

ROOT = Path(__file__).resolve().parent.parent

CFG = {"dataset": "blocks", "factors": {"mf_dot": 8, "gmf": 8, "mlp": 8, "neumf": 8}, "n_layers": 2,
       "reg": {"mf_dot": 0.001, "gmf": 0.0, "mlp": 0.0, "neumf": 0.0}, "init_std": 0.01,
       "epochs": {"mf_dot": 4, "gmf": 4, "mlp": 4, "neumf": 4}, "negatives": 2, "lr": 0.01,
       "batch_size": 64, "optimizer": {"mf_dot": "adam", "gmf": "adam", "mlp": "adam", "neumf": "adam",
                                       "neumf_pre": "sgd"},
       "neumf_alpha": 0.5, "n_eval_negatives": 9, "k": 3}


def block_task(n_users=60, n_items=30, seed=0):
    """Two user groups, each rating (most of) its own half of the items: learnable from ids."""
    rng = np.random.default_rng(seed)
    tu, ti, su, si = [], [], [], []
    for u in range(n_users):
        half = np.arange(n_items // 2) + (u % 2) * (n_items // 2)
        items = rng.permutation(half)[:10]
        tu += [u] * 9
        ti += items[:9].tolist()
        su.append(u)
        si.append(items[9])
    split = from_id_pairs(tu, ti, su, si, name="blocks")
    return split, sample_candidates(split.rated(), split.test_items, CFG["n_eval_negatives"], seed=0)


def block_row(name, seed, cfg, rows_dir, framework="torch"):
    """The row ``ncf_runs.train`` trains on :func:`block_task` (in-memory data: keyed by its arrays)."""
    split, cands = block_task()
    return runner.row_for(ncf_runs.RECIPE, name, framework, seed, cfg, cfg["dataset"], rows_dir, {},
                          arrays=(split.train.users, split.train.items, split.test_items, cands))


def stored_key(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)["settings_key"]


def test_settings_resolve_per_model_and_variant():
    assert ncf_runs.setting(CFG, "factors", "neumf_pre") == 8  # falls back to its architecture
    assert ncf_runs.setting(CFG, "optimizer", "neumf_pre") == "sgd"  # its own entry wins
    assert ncf_runs.setting(CFG, "lr", "gmf") == 0.01  # one value for every model
    with pytest.raises(ValueError, match="unknown NCF model 'bpr'"):
        ncf_runs.build("bpr", block_task()[0], CFG, seed=0)


def test_interrupted_row_resumes_and_a_finished_one_trains_nothing(tmp_path):
    split, cands = block_task()
    whole = ncf_runs.train("gmf", ncf_runs.build("gmf", split, CFG, 0), split, cands, CFG, 0)
    ncf_runs.train("gmf", ncf_runs.build("gmf", split, CFG, 0), split, cands, CFG, 0, rows_dir=tmp_path, epochs=2)
    path = block_row("gmf", 0, CFG, tmp_path).checkpoint_path
    assert path.exists() and stored_key(path) == block_row("gmf", 0, CFG, tmp_path).key
    resumed = ncf_runs.train("gmf", ncf_runs.build("gmf", split, CFG, 0), split, cands, CFG, 0, rows_dir=tmp_path)
    assert [r["epoch"] for r in resumed.rows] == [1, 2, 3, 4]
    for key in ("train_loss", "hr@3", "ndcg@3"):
        np.testing.assert_allclose(resumed.frame()[key], whole.frame()[key], rtol=1e-5)
    again = ncf_runs.train("gmf", ncf_runs.build("gmf", split, CFG, 0), split, cands, CFG, 0, rows_dir=tmp_path)
    assert again.rows == resumed.rows  # nothing trained: the same history, wall times included
    row = ncf_runs.row("gmf", resumed, CFG, epochs=4)
    assert (row["epochs"], row["profile_epochs"], row["hr@3"]) == (4, 4, resumed.last("hr@3"))
    assert row["hr@3"] > 3 / 10 + 0.2  # well above chance (3 of 10 candidates)


def test_epoch_metrics_report_the_last_epoch_and_the_best_test_epoch():
    from adrec.history import History

    h = History()
    for epoch, hr, ndcg in ((1, 0.60, 0.35), (2, 0.70, 0.41), (3, 0.70, 0.43), (4, 0.66, 0.40)):
        h.add(epoch=epoch, train_loss=1.0 / epoch, wall_time_s=float(epoch), **{"hr@10": hr, "ndcg@10": ndcg})
    got = ncf_runs.epoch_metrics(h, 10)
    assert got == {"hr@10": 0.66, "ndcg@10": 0.40, "best_hr@10": 0.70, "best_ndcg@10": 0.41, "best_epoch": 2}


def test_pretraining_reuses_the_runs_own_parts_and_trains_missing_ones():
    split, cands = block_task()
    calls = []

    def build(name, seed, factors):
        return ncf_runs.build(name, split, CFG, seed, factors)

    def train(name, model, seed):
        calls.append(name)
        return ncf_runs.train(name, model, split, cands, CFG, seed)

    gmf = build("gmf", 0, 8)
    parts = ncf_runs.pretrained_parts(build, train, CFG, 0, trained={"gmf": gmf})
    assert parts[0] is gmf and calls == ["mlp"]


def test_checkpoint_epoch_and_rows_dirs(tmp_path):
    from adrec.torch_nn.train import CheckpointMismatch, checkpoint_epoch

    split, cands = block_task()
    row = block_row("mf_dot", 3, CFG, tmp_path)
    path = row.checkpoint_path
    assert checkpoint_epoch(path) == 0 and checkpoint_epoch(None) == 0
    ncf_runs.train("mf_dot", ncf_runs.build("mf_dot", split, CFG, 3), split, cands, CFG, 3, rows_dir=tmp_path, epochs=2)
    assert checkpoint_epoch(path) == 2 and path.name == "mf_dot_torch_seed3.ckpt.pt"
    assert stored_key(path) == row.key  # the row's key travels inside its one checkpoint
    # another setting of the row is another key; another number of epochs is the same one
    key = lambda name, cfg: block_row(name, 3, cfg, tmp_path).key  # noqa: E731
    assert key("mf_dot", {**CFG, "lr": 0.02}) != row.key
    assert key("mf_dot", {**CFG, "epochs": 99}) == row.key
    assert key("gmf", {**CFG, "reg": {**CFG["reg"], "mf_dot": 0.5}}) == key("gmf", CFG)  # only gmf's own settings count
    assert block_row("mf_dot", 3, {**CFG, "lr": 0.02}, tmp_path).checkpoint_path == path  # one file per row
    # resuming under other settings is refused (one message naming --restart); --restart trains afresh
    changed = {**CFG, "lr": 0.02}
    with pytest.raises(CheckpointMismatch, match="--restart"):
        ncf_runs.train("mf_dot", ncf_runs.build("mf_dot", split, changed, 3), split, cands, changed, 3,
                       rows_dir=tmp_path, epochs=3)
    assert checkpoint_epoch(path) == 2 and stored_key(path) == row.key  # the refused run changed nothing
    _, history = runner.fit_row(ncf_runs.RECIPE, block_row("mf_dot", 3, changed, tmp_path), (split, cands), changed,
                                epochs=1, restart=True, progress=False,
                                model=ncf_runs.build("mf_dot", split, changed, 3))
    assert [r["epoch"] for r in history.rows] == [1]  # from scratch, under the new settings
    assert checkpoint_epoch(path) == 1 and stored_key(path) == key("mf_dot", changed)
    assert not list(tmp_path.glob("*.tmp"))  # saved through a temporary file, then renamed
    assert ncf_runs.rows_dir(tmp_path).name == "rows" and ncf_runs.rows_dir(tmp_path, 2).name == "rows_eval_seed2"


def test_plot_rows_draws_each_rows_history(tmp_path):
    import json

    for stem, hr in (("a", [0.4, 0.6]), ("b", [0.5, 0.55])):
        (tmp_path / f"{stem}.json").write_text(json.dumps({"history": [
            {"epoch": e + 1, "hr@10": h, "ndcg@10": h / 2} for e, h in enumerate(hr)]}))
    fig = ncf_runs.plot_rows([tmp_path / "a.json", tmp_path / "b.json"], published={"hr@10": 0.7294})
    hr_ax, ndcg_ax = fig.axes
    lines = {line.get_label(): line for line in hr_ax.get_lines()}
    assert list(lines["a"].get_ydata()) == [0.4, 0.6] and list(lines["b"].get_xdata()) == [1, 2]
    assert list(lines["published 0.7294"].get_ydata()) == [0.7294, 0.7294]
    assert [list(line.get_ydata()) for line in ndcg_ax.get_lines()] == [[0.2, 0.3], [0.25, 0.275]]
    out = tmp_path / "f.png"
    assert runner.main(["ncf", "--plot", str(tmp_path / "a.json"), "--figure", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_baseline_rows_equal_the_committed_quick_notebook(tmp_path, capsys):
    """The runner's untrained baselines are built and scored as notebook 02 does: on the quick
    profile they give the committed quick run's ItemPop / ItemKNN / UserKNN numbers exactly."""
    committed = json.loads((ROOT / "results" / "quick" / ncf_runs.NOTEBOOK / "metrics.json").read_text())
    for name in ("itempop", "itemknn"):
        assert runner.main(["ncf", "--model", name, "--profile", "quick"]) == 0
        row = json.loads((tmp_path / "results" / "quick" / ncf_runs.NOTEBOOK / "rows" / f"{name}_numpy.json").read_text())
        assert row["metrics"] == committed[name]
    with pytest.raises(ValueError, match="unknown baseline"):
        ncf_runs.baseline("mostpop", None, {})


def test_parts_keep_their_best_test_epoch_and_resume_with_it(tmp_path):
    """pretrain_from="best": GMF ends holding the weights of its best-HR epoch (He et al.'s GMF.py and
    guoyang9/NCF save the part whenever test HR improves), also when the run resumed from a checkpoint
    part-way; its scores then equal a run stopped at that epoch."""
    import torch

    from adrec.ranking import evaluate_sampled
    from adrec.torch_nn import scoring as tsc

    cfg = {**CFG, "pretrain_from": "best", "epochs": {**CFG["epochs"], "gmf": 6}, "lr": 0.05}
    split, cands = block_task()
    assert ncf_runs.restored_metric(cfg, "gmf") == "hr@3" and ncf_runs.restored_metric(cfg, "neumf") is None
    assert ncf_runs.restored_metric(CFG, "gmf") is None  # no pretrain_from: the last epoch's weights
    # a neumf_pre row started from other parts has another key; the parts' own rows do not
    assert block_row("neumf_pre", 0, cfg, tmp_path).key != block_row("neumf_pre", 0, CFG, tmp_path).key
    assert block_row("gmf", 0, cfg, tmp_path).key == block_row("gmf", 0, {**cfg, "pretrain_from": "last"}, tmp_path).key

    model = ncf_runs.build("gmf", split, cfg, 0)
    hist = ncf_runs.train("gmf", model, split, cands, cfg, 0)
    hrs = [r["hr@3"] for r in hist.rows]
    assert hist.best_epoch == 1 + int(np.argmax(hrs))  # the first of equal bests
    assert hrs[hist.best_epoch - 1] > hrs[-1]  # this task overfits: the best epoch is not the last
    held = evaluate_sampled(tsc.score_fn(model), cands, k=3)
    assert held["hr@3"] == pytest.approx(max(hrs)) and held["ndcg@3"] == pytest.approx(hist.rows[hist.best_epoch - 1]["ndcg@3"])
    stopped = ncf_runs.build("gmf", split, cfg, 0)
    ncf_runs.train("gmf", stopped, split, cands, {**cfg, "pretrain_from": "last"}, 0, epochs=hist.best_epoch)
    for a, b in zip(model.state_dict().values(), stopped.state_dict().values()):
        torch.testing.assert_close(a, b)

    # interrupted after 2 epochs, resumed to 6: the same best epoch and weights
    ncf_runs.train("gmf", ncf_runs.build("gmf", split, cfg, 0), split, cands, cfg, 0, rows_dir=tmp_path, epochs=2)
    resumed_model = ncf_runs.build("gmf", split, cfg, 0)
    resumed = ncf_runs.train("gmf", resumed_model, split, cands, cfg, 0, rows_dir=tmp_path)
    assert resumed.best_epoch == hist.best_epoch
    for a, b in zip(model.state_dict().values(), resumed_model.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_restore_best_refuses_a_checkpoint_without_best_weights(tmp_path):
    split, cands = block_task()
    ncf_runs.train("gmf", ncf_runs.build("gmf", split, CFG, 0), split, cands, CFG, 0, rows_dir=tmp_path, epochs=2)
    with pytest.raises(ValueError, match="keeps no best weights by 'hr@3'.*delete it"):
        ncf_runs.train("gmf", ncf_runs.build("gmf", split, CFG, 0), split, cands, {**CFG, "pretrain_from": "best"}, 0,
                       rows_dir=tmp_path)


@pytest.mark.keras
def test_keras_loop_restores_the_best_epoch_as_the_torch_loop():
    """The Keras loop's restore_best mirrors the PyTorch one: the model ends holding the best test-HR
    epoch's weights (scoring exactly that epoch's HR and NDCG again), the first of equal bests."""
    import keras

    from adrec.keras_nn import scoring as ksc
    from adrec.keras_nn.train import fit
    from adrec.ranking import evaluate_sampled
    from adrec.ref.scoring import architecture

    split, cands = block_task()
    model = ksc.build_model(architecture("gmf"), split.n_users, split.n_items, 8, 2, init_std=0.01, seed=0)
    hist = fit(model, keras.losses.BinaryCrossentropy(from_logits=True), ksc.pointwise_data(split.train, 2), epochs=6,
               lr=0.05, batch_size=64, seed=0, shuffle=False, progress=False, restore_best="hr@3",
               evaluate=lambda m: evaluate_sampled(ksc.score_fn(m), cands, k=3))
    hrs = [r["hr@3"] for r in hist.rows]
    assert hist.best_epoch == 1 + int(np.argmax(hrs)) and hrs[hist.best_epoch - 1] > hrs[-1]
    again = evaluate_sampled(ksc.score_fn(model), cands, k=3)
    assert again["hr@3"] == pytest.approx(max(hrs))
    assert again["ndcg@3"] == pytest.approx(hist.rows[hist.best_epoch - 1]["ndcg@3"])
    with pytest.raises(ValueError, match="needs an evaluate function"):
        fit(model, "mse", ksc.pointwise_data(split.train, 2), epochs=1, restore_best="hr@3")


@pytest.mark.keras
def test_interrupted_keras_row_resumes_to_the_uninterrupted_run(tmp_path):
    """A Keras row stopped after 2 epochs resumes from its .npz checkpoint (weights, Adam's moments,
    history, best epoch) to the same numbers as an uninterrupted run; a finished one trains nothing."""
    import keras

    from adrec.keras_nn import scoring as ksc

    split, cands = block_task()
    cfg = {**CFG, "pretrain_from": "best"}  # GMF keeps its best test epoch: the best travels too

    def keras_row(**kw):
        model = ncf_runs.build("gmf", split, cfg, 0, framework="keras")
        return model, ncf_runs.train("gmf", model, split, cands, cfg, 0, framework="keras", **kw)

    whole_model, whole = keras_row()
    keras_row(rows_dir=tmp_path, epochs=2)
    row = block_row("gmf", 0, cfg, tmp_path, framework="keras")
    path = row.checkpoint_path
    # the backend is in the name (and the key): a Keras row on torch must not resume one trained on TensorFlow
    assert path.name == f"gmf_keras-{keras.config.backend()}_seed0.ckpt.npz"
    assert path.exists() and str(np.load(path)["settings_key"]) == row.key
    resumed_model, resumed = keras_row(rows_dir=tmp_path)
    assert [r["epoch"] for r in resumed.rows] == [1, 2, 3, 4] and resumed.best_epoch == whole.best_epoch
    for key in ("train_loss", "hr@3", "ndcg@3"):
        np.testing.assert_allclose(resumed.frame()[key], whole.frame()[key], rtol=1e-5)
    users = np.arange(split.n_users)  # the model each run ends with: the best epoch's weights
    np.testing.assert_allclose(ksc.score_fn(resumed_model)(users, split.test_items),
                               ksc.score_fn(whole_model)(users, split.test_items), rtol=1e-5, atol=1e-6)
    _, again = keras_row(rows_dir=tmp_path)
    assert again.rows == resumed.rows  # nothing trained: the same history, wall times included


@pytest.mark.keras
def test_keras_restore_best_refuses_a_checkpoint_without_best_weights(tmp_path):
    split, cands = block_task()
    ncf_runs.train("gmf", ncf_runs.build("gmf", split, CFG, 0, framework="keras"), split, cands, CFG, 0,
                   framework="keras", rows_dir=tmp_path, epochs=1)
    with pytest.raises(ValueError, match="keeps no best weights by 'hr@3'.*delete it"):
        ncf_runs.train("gmf", ncf_runs.build("gmf", split, CFG, 0, framework="keras"), split, cands,
                       {**CFG, "pretrain_from": "best"}, 0, framework="keras", rows_dir=tmp_path)


@pytest.mark.keras
def test_keras_runner_row_equals_the_committed_quick_notebook(tmp_path):
    """``--framework keras`` trains as notebook 02 trains its Keras rows: on the quick profile the
    runner's GMF gives the committed quick run's gmf_keras numbers (that run used TensorFlow)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the committed quick notebook ran Keras on TensorFlow")
    committed = json.loads((ROOT / "results" / "quick" / ncf_runs.NOTEBOOK / "metrics.json").read_text())["gmf_keras"]
    assert runner.main(["ncf", "--model", "gmf", "--framework", "keras", "--profile", "quick", "--device", "cpu"]) == 0
    rows = tmp_path / "results" / "quick" / ncf_runs.NOTEBOOK / "rows"
    row = json.loads((rows / "gmf_keras-tensorflow_seed0.json").read_text())
    assert row["framework"] == "keras" and row["provenance"]["keras_backend"] == "tensorflow"
    for key in ("hr@10", "ndcg@10", "best_hr@10", "best_ndcg@10", "best_epoch"):
        assert row["metrics"][key] == pytest.approx(committed[key], rel=1e-6), key
    assert (rows / "gmf_keras-tensorflow_seed0.ckpt.npz").exists()  # checkpointed, as the full profile's rows


def test_factors_option_trains_its_own_row_at_that_size(tmp_path, capsys):
    """``--factors N`` trains the model at size N (recorded in the row's settings, so its checkpoint key
    differs from the profile size's) into ``<model>_torch_seed<s>_dim<N>.json``, not the profile-size row."""
    assert ncf_runs.resized({"mf_dot": 128, "gmf": 32}, "mf_dot", 192) == {"mf_dot": 192, "gmf": 32}
    assert ncf_runs.resized(16, "gmf", 8) == {"mf_dot": 16, "gmf": 8, "mlp": 16, "neumf": 16}
    for name, size in (("neumf_pre", 8), ("itempop", 8), ("mf_dot", 0), ("mf_dot", 8.5)):
        with pytest.raises(ValueError):
            ncf_runs.resized(16, name, size)
    assert runner.main(["ncf", "--model", "neumf_pre", "--profile", "quick", "--factors", "8"]) == 2
    assert "a size can be set for" in capsys.readouterr().err
    assert runner.main(["ncf", "--model", "mf_dot", "--profile", "quick", "--epochs", "1", "--factors", "4"]) == 0
    rows = tmp_path / "results" / "quick" / ncf_runs.NOTEBOOK / "rows"
    row = json.loads((rows / "mf_dot_torch_seed0_dim4.json").read_text())
    assert row["settings"]["factors"] == 4  # the row's own settings, so its key differs from the profile size's
    assert row["provenance"]["settings"]["factors"]["mf_dot"] == 4
    assert row["provenance"]["settings"]["factors"]["gmf"] == 16  # the others keep the profile's size
    assert row["metrics"]["epochs"] == 1 and 0 < row["metrics"]["hr@10"] < 1
    assert not (rows / "mf_dot_torch_seed0.json").exists()
