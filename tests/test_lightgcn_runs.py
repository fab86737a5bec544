"""adrec.experiments.lightgcn: the graph runs notebook 04 and ``python -m adrec.experiments.lightgcn``
share — names and depths, a run stopped part-way resumes to the uninterrupted result, a finished
checkpoint trains nothing more, the reported row, and the learning-curve figure."""
import json

import numpy as np
import pytest

from adrec.experiments import lightgcn as gcn_runs
from adrec.experiments import row_provenance
from adrec.graph import Interactions
from adrec.history import History

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
    # the training time goes on across the resume, and a row's provenance reports it, not the last run's
    walls = [r["wall_time_s"] for r in resumed.rows]
    assert walls == sorted(walls) and walls[3] > walls[2] > 0

    class Run:  # the part of adrec.run.Run a row's provenance reads
        def provenance(self):
            return {"seed": 3, "wall_time_s": 0.2}

    prov = row_provenance(Run(), again, epochs=4)
    assert prov == {"seed": 3, "wall_time_s": round(walls[3], 1), "invocation_s": 0.2, "epochs": 4}
    # another setting is another checkpoint; another number of epochs or another model seed's data is not
    path = gcn_runs.checkpoint_path(tmp_path, "lightgcn_2layers", 3, CFG)
    assert path.exists() and path.name.startswith("lightgcn_2layers_torch_seed3_")
    assert gcn_runs.checkpoint_path(tmp_path, "lightgcn_2layers", 3, {**CFG, "lr": 0.01}) != path
    assert gcn_runs.checkpoint_path(tmp_path, "lightgcn_2layers", 3, {**CFG, "epochs": 1000}) == path
    assert gcn_runs.checkpoint_path(tmp_path, "lightgcn_2layers", 3, CFG, data_seed=1) != path
    assert gcn_runs.checkpoint_path(tmp_path, "lightgcn_2layers", 3, {**CFG, "bpr_draw": "users"}) != path
    # the two groups are learnable: well above ranking at random (8 of 30 items, 2 held out per user)
    assert resumed.last("recall@5") > 0.4


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
    gcn_runs.main(["--plot", str(tmp_path / "run.json"), "--figure", str(out)])
    assert out.stat().st_size > 1000


def test_runner_refuses_missing_model_or_figure(capsys):
    for argv, message in (([], "--model is required"), (["--plot", "a.json"], "--plot needs --figure"),
                          (["--model", "ngcf"], "invalid choice: 'ngcf'")):
        with pytest.raises(SystemExit):
            gcn_runs.main(argv)
        assert message in capsys.readouterr().err
