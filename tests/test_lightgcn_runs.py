"""adrec.experiments.lightgcn: the graph runs notebook 04 and ``python -m adrec.experiments lightgcn``
share — names and depths, a run stopped part-way resumes to the uninterrupted result, a finished
checkpoint trains nothing more, a checkpoint of other settings is refused (``--restart`` trains
afresh), the reported row and its provenance, and the learning-curve figure."""
import json

import numpy as np
import pytest
import torch

from adrec.experiments import lightgcn as gcn_runs
from adrec.experiments import runner
from adrec.graph import Interactions
from adrec.history import History
from adrec.torch_nn.train import CheckpointMismatch

CFG = {"dataset": "blocks", "subgraph_users": None, "test_fraction": 0.2, "n_layers": 2, "gcn_layers": 1,
       "dim": 8, "epochs": 4, "batch_size": 64, "lr": 0.02, "reg": 1e-4, "eval_every": 2, "k": 5,
       "bpr_draw": "pairs"}


def block_graph(n_users=40, n_items=30, seed=0):
    """Two user groups, each interacting with its own half of the items: learnable from the graph."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(n_users):
        half = np.arange(n_items // 2) + (u % 2) * (n_items // 2)
        chosen = rng.permutation(half)[:8]
        users += [u] * len(chosen)
        items += chosen.tolist()
    return Interactions.from_pairs(users, items, n_users, n_items).split_per_user(0.25, seed=seed)


def graph_row(cfg, rows_dir, seed=3, data_seed=0, model="lightgcn"):
    """The row ``gcn_runs.train`` trains on :func:`block_graph` (in-memory data: keyed by its arrays)."""
    train, test = block_graph()
    return runner.row_for(gcn_runs.RECIPE, model, "torch", seed, cfg, cfg["dataset"], rows_dir,
                          {"data_seed": data_seed}, arrays=(train.users, train.items, test.users, test.items))


def test_names_and_depths_follow_the_profile():
    assert gcn_runs.run_name("lightgcn", CFG) == "lightgcn_2layers"
    assert gcn_runs.run_name("lightgcn", CFG, layers=4) == "lightgcn_4layers"
    assert gcn_runs.run_name("mf", CFG) == "lightgcn_0layers"  # MF is LightGCN without propagation
    assert gcn_runs.run_name("gcn", CFG) == "gcn_1layers"
    with pytest.raises(ValueError, match="unknown graph model 'ngcf'"):
        gcn_runs.depth("ngcf", CFG)
    with pytest.raises(ValueError, match="unknown dataset 'movielens'"):
        gcn_runs.load_task({**CFG, "dataset": "movielens"})


def test_interrupted_run_resumes_and_a_finished_one_trains_nothing(tmp_path):
    train, test = block_graph()
    adj = gcn_runs.adjacency(train)

    def fresh():
        return gcn_runs.build("lightgcn", train.n_users, train.n_items, adj, CFG, seed=3)

    whole = gcn_runs.train("lightgcn_2layers", fresh(), train, test, CFG, 3)
    gcn_runs.train("lightgcn_2layers", fresh(), train, test, CFG, 3, rows_dir=tmp_path, epochs=3)
    resumed = gcn_runs.train("lightgcn_2layers", fresh(), train, test, CFG, 3, rows_dir=tmp_path)
    assert [r["epoch"] for r in resumed.rows] == [1, 2, 3, 4]
    # evaluated every 2 epochs and after the last one of each run (epoch 3 ended the first)
    assert [r["epoch"] for r in resumed.rows if "recall@5" in r] == [2, 3, 4]
    np.testing.assert_allclose(resumed.frame()["train_loss"], whole.frame()["train_loss"], rtol=1e-5)
    for epoch in (2, 4):  # the same trajectory: the same metrics where both runs evaluated
        for key in ("recall@5", "ndcg@5"):
            np.testing.assert_allclose(resumed.rows[epoch - 1][key], whole.rows[epoch - 1][key], rtol=1e-5)
    again = gcn_runs.train("lightgcn_2layers", fresh(), train, test, CFG, 3, rows_dir=tmp_path)
    assert again.rows == resumed.rows  # nothing trained: the same history, wall times included
    # the training time goes on across the resume (a row's provenance reports it: test_row_provenance...)
    walls = [r["wall_time_s"] for r in resumed.rows]
    assert walls == sorted(walls) and walls[3] > walls[2] > 0
    # one checkpoint per row, holding the row's key: another setting, the data's split seed, the BPR
    # draw or the depth is another key; another number of epochs is not
    row = graph_row(CFG, tmp_path)
    path = row.checkpoint_path
    assert row.model == "lightgcn_2layers" and path.name == "lightgcn_2layers_torch_seed3.ckpt.pt"
    assert path.exists() and torch.load(path, weights_only=True)["settings_key"] == row.key
    assert graph_row({**CFG, "lr": 0.01}, tmp_path).key != row.key
    assert graph_row({**CFG, "epochs": 1000}, tmp_path).key == row.key
    assert graph_row(CFG, tmp_path, data_seed=1).key != row.key
    assert graph_row({**CFG, "bpr_draw": "users"}, tmp_path).key != row.key
    assert graph_row({**CFG, "n_layers": 3}, tmp_path).key != row.key
    # resuming under other settings is refused (one message naming --restart); --restart trains afresh
    changed = {**CFG, "lr": 0.01}
    with pytest.raises(CheckpointMismatch, match="--restart"):
        gcn_runs.train("lightgcn_2layers", fresh(), train, test, changed, 3, rows_dir=tmp_path)
    _, restarted = runner.fit_row(gcn_runs.RECIPE, graph_row(changed, tmp_path), (train, test), changed, epochs=1,
                                  restart=True, progress=False, model=fresh())
    assert [r["epoch"] for r in restarted.rows] == [1]  # from scratch, under the new settings
    assert torch.load(path, weights_only=True)["settings_key"] == graph_row(changed, tmp_path).key
    # the two groups are learnable: well above ranking at random (8 of 30 items, 2 held out per user)
    assert resumed.last("recall@5") > 0.4


def test_row_provenance_reports_the_rows_training_time_not_the_last_invocations(tmp_path):
    """The runner writes a row's provenance: ``wall_time_s`` is the training time summed over the
    runs that made it (the history's), ``invocation_s`` this call's; a finished row trains nothing."""
    kw = {"profile": "quick", "progress": False, "dim": 8}  # MovieLens-100K, the quick profile; small vectors
    first = runner.train_row("lightgcn", "mf", epochs=1, **kw)
    second = runner.train_row("lightgcn", "mf", epochs=2, **kw)  # resumes the first's checkpoint
    assert second["key"] == first["key"] and second["model"] == "lightgcn_0layers"
    assert [r["epoch"] for r in second["history"]] == [1, 2]
    assert second["history"][0] == first["history"][0]  # epoch 1 was not trained again
    prov = second["provenance"]
    assert prov["wall_time_s"] == round(second["history"][-1]["wall_time_s"], 1)
    assert second["history"][-1]["wall_time_s"] > first["history"][-1]["wall_time_s"]  # summed over both runs
    assert prov["epochs"] == 2 and prov["invocation_s"] >= 0
    saved = json.loads((tmp_path / "results" / "quick" / gcn_runs.NOTEBOOK / "rows" /
                        "lightgcn_0layers_torch_seed0.json").read_text())
    assert saved["provenance"] == prov and saved["metrics"]["epochs"] == 2
    assert runner.train_row("lightgcn", "mf", epochs=2, **kw) == saved  # finished: loaded, nothing trained


def test_row_reports_the_last_and_the_best_evaluated_epoch():
    h = History()
    for epoch, recall in ((1, None), (2, 0.10), (3, None), (4, 0.14), (5, 0.12)):
        metrics = {} if recall is None else {"recall@20": recall, "ndcg@20": recall / 2}
        h.add(epoch=epoch, train_loss=1.0 / epoch, wall_time_s=10.0 * epoch, **metrics)
    got = gcn_runs.row(h, {"k": 20, "epochs": 1000}, epochs=5)
    assert got == {"recall@20": 0.12, "ndcg@20": 0.06, "best_recall@20": 0.14, "best_ndcg@20": 0.07,
                   "best_epoch": 4, "epochs": 5, "profile_epochs": 1000, "requested_epochs": 5,
                   "train_time_s": 50.0, "seconds_per_epoch": 10.0}


def test_plot_rows_draws_metrics_by_epoch_and_by_wall_time(tmp_path):
    rows = [{"epoch": 1, "wall_time_s": 3600.0}, {"epoch": 2, "wall_time_s": 7200.0, "recall@20": 0.1, "ndcg@20": 0.08},
            {"epoch": 4, "wall_time_s": 14400.0, "recall@20": 0.15, "ndcg@20": 0.12}]
    (tmp_path / "run.json").write_text(json.dumps({"history": rows}))
    fig = gcn_runs.plot_rows([tmp_path / "run.json"], published={"recall@20": 0.1830})
    by_epoch, by_time = fig.axes[0], fig.axes[1]  # top row: recall; columns: epoch, wall time
    run_line = by_epoch.get_lines()[0]
    assert list(run_line.get_xdata()) == [2, 4] and list(run_line.get_ydata()) == [0.1, 0.15]
    assert list(by_time.get_lines()[0].get_xdata()) == [2.0, 4.0]  # hours
    assert [line.get_label() for line in by_epoch.get_lines()] == ["run", "published 0.183"]
    out = tmp_path / "f.png"
    assert runner.main(["lightgcn", "--plot", str(tmp_path / "run.json"), "--figure", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_runner_refuses_missing_model_or_figure(capsys):
    for argv, message in ((["lightgcn"], "--model is required"), (["lightgcn", "--plot", "a.json"], "--plot needs --figure"),
                          (["lightgcn", "--model", "ngcf"], "invalid choice: 'ngcf'")):
        with pytest.raises(SystemExit) as exit_:
            runner.main(argv)
        assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert runner.main([]) == 2 and "usage: python -m adrec.experiments" in capsys.readouterr().err  # no study
