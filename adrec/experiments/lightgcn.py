"""Notebook 04's trained graph rows in PyTorch: LightGCN at any depth (0 layers = MF on the same BPR
recipe) and the weighted GCN (W + ReLU per layer), trained with BPR and evaluated by full ranking
(recall@k / ndcg@k over all test users, :func:`adrec.ranking.full_ranking_evaluator`).

The notebook and ``python -m adrec.experiments lightgcn --model lightgcn --seed 0 [--epochs N]``
build and train through the same functions here, with the same profile settings. In the full
profile every run checkpoints each epoch to
``results/full/04_gcn_propagation/rows/<model>_<L>layers_torch_seed<s>.ckpt.pt``, which stores the
row's key (a hash of the settings the run depends on, epochs excepted): an interrupted run resumes, and the
notebook's full run picks up what was trained beforehand. ``--epochs N`` stops a run early (a CPU
budget); its JSON says how many of the profile's epochs it had.
"""
from __future__ import annotations

from pathlib import Path

from .runner import Recipe, fit_row, row_for

MODELS = ("lightgcn", "gcn", "mf")
NOTEBOOK = "04_gcn_propagation"
PLOTTED = ("recall@20", "ndcg@20")  # what --plot draws
# the settings a run depends on (the number of epochs is not one: a run goes on to more)
RUN_SETTINGS = ("dataset", "subgraph_users", "test_fraction", "dim", "batch_size", "lr", "reg", "eval_every", "k",
                "bpr_draw")


def load_task(cfg: dict, data_seed: int = 0):
    """``(train, test, description)`` of the profile's dataset: MovieLens-100K split per user at
    random (``test_fraction``, seeded) or Gowalla's LightGCN split (optionally a seeded user sample)."""
    from ..data import load_gowalla, load_ml100k, sample_subgraph
    from ..graph import Interactions

    if cfg["dataset"] == "ml-100k":
        ratings = load_ml100k().ratings
        pairs = Interactions.from_pairs(ratings.user - 1, ratings.item - 1, 943, 1682)
        train, test = pairs.split_per_user(cfg["test_fraction"], seed=data_seed)
        share = cfg["test_fraction"]
        return train, test, f"MovieLens-100K, per-user random {1 - share:.0%}/{share:.0%} split (seed {data_seed})"
    if cfg["dataset"] == "gowalla":
        gowalla, sub = load_gowalla(), cfg["subgraph_users"]
        split = gowalla if sub is None else sample_subgraph(gowalla, sub, seed=data_seed)
        return split.train, split.test, "Gowalla, LightGCN split" + (
            "" if sub is None else f", {sub:,}-user subgraph (seed {data_seed})")
    raise ValueError(f"unknown dataset {cfg['dataset']!r}; choose 'ml-100k' or 'gowalla'")


def adjacency(train):
    """Â = D^-1/2 A D^-1/2 of the user–item training graph, no self-loops (LightGCN's), as a
    float32 torch sparse tensor."""
    from ..graph import bipartite_adjacency, normalized_adjacency, to_torch_sparse

    return to_torch_sparse(normalized_adjacency(bipartite_adjacency(train.matrix())))


def depth(name: str, cfg: dict, layers: int | None = None) -> int:
    """The number of layers of model ``name``: ``layers`` when given, else MF 0, GCN the profile's
    ``gcn_layers``, LightGCN its ``n_layers``."""
    if name not in MODELS:
        raise ValueError(f"unknown graph model {name!r}; choose one of {', '.join(MODELS)}")
    if name == "mf":
        return 0
    return layers if layers is not None else cfg["gcn_layers" if name == "gcn" else "n_layers"]


def run_name(name: str, cfg: dict, layers: int | None = None) -> str:
    """``lightgcn_3layers``, ``gcn_2layers``; MF is LightGCN with 0 layers (``lightgcn_0layers``)."""
    return f"{'gcn' if name == 'gcn' else 'lightgcn'}_{depth(name, cfg, layers)}layers"


def build(name: str, n_users: int, n_items: int, adj, cfg: dict, seed: int, layers: int | None = None):
    """A fresh PyTorch model, its initial vectors drawn from ``torch.manual_seed(seed)``."""
    import torch

    from ..torch_nn import gcn as tg

    n = depth(name, cfg, layers)
    torch.manual_seed(seed)
    if name == "gcn":
        return tg.GCN(n_users, n_items, cfg["dim"], adj, n_layers=n)
    return tg.LightGCN(n_users, n_items, cfg["dim"], adj, n_layers=n)


def train(run: str, model, train, test, cfg: dict, seed: int, *, data_seed: int = 0, device: str = "cpu",
          rows_dir: Path | None = None, epochs: int | None = None, progress: bool = False):
    """Train ``model`` with BPR (as many triples per epoch as training pairs, drawn as the profile's
    ``bpr_draw`` says, one sampled negative each; λ‖·‖² on the batch's initial vectors) and evaluate
    full ranking every ``eval_every`` epochs and after the last, through the one runner
    (:func:`adrec.experiments.runner.fit_row`); returns the fit loop's history. With ``rows_dir`` it
    checkpoints every epoch and resumes what the same settings made."""
    from dataclasses import replace

    from ..data.registry import REGISTRY

    # the row of the run's model (lightgcn, gcn), named by the run (its depth: lightgcn_3layers)
    row = replace(row_for(RECIPE, run.split("_")[0], "torch", seed, cfg, cfg["dataset"], rows_dir or Path("."),
                          {"data_seed": data_seed}, arrays=None if cfg["dataset"] in REGISTRY else
                          (train.users, train.items, test.users, test.items)), model=run)
    return fit_row(RECIPE, row, (train, test), cfg, epochs=epochs, device=device, progress=progress,
                   checkpoint=rows_dir is not None, model=model)[1]


def row(history, cfg: dict, epochs: int) -> dict:
    """The metrics of a trained run: after the last epoch, and at the evaluated epoch of the best
    recall@k (what LightGCN's published numbers are: the best over training), with its time."""
    k = cfg["k"]
    evaluated = [r for r in history.rows if f"recall@{k}" in r]
    best = max(evaluated, key=lambda r: r[f"recall@{k}"])
    return {f"recall@{k}": float(evaluated[-1][f"recall@{k}"]), f"ndcg@{k}": float(evaluated[-1][f"ndcg@{k}"]),
            f"best_recall@{k}": float(best[f"recall@{k}"]), f"best_ndcg@{k}": float(best[f"ndcg@{k}"]),
            "best_epoch": int(best["epoch"]), "epochs": int(history.last("epoch")),
            "profile_epochs": int(cfg["epochs"]), "requested_epochs": int(epochs),
            "train_time_s": float(history.last("wall_time_s")),
            "seconds_per_epoch": float(history.last("wall_time_s")) / int(history.last("epoch"))}


def plot_rows(row_files, k: int = 20, published: dict | None = None):
    """recall@k and ndcg@k of trained runs (their JSON files) by epoch and by training wall time,
    one line per file labelled with its stem; ``published`` values drawn as dashed lines."""
    from . import plot_rows as plot

    return plot(row_files, (f"recall@{k}", f"ndcg@{k}"), published, wall_time=True, marker="o")


# --- the recipe: what the one runner (adrec.experiments.runner) needs of a graph row ---

def _task(cfg: dict, dataset, data_seed: int):
    if dataset in (None, cfg["dataset"]):
        train_pairs, test_pairs, description = load_task(cfg, data_seed)
    else:  # a file of yours: `user item [item ...]` lines, split per user (adrec.data.gowalla.load_graph_files)
        from ..data import load_graph_files

        split = load_graph_files(dataset, test_fraction=cfg["test_fraction"], seed=data_seed)
        train_pairs, test_pairs, description = split.train, split.test, f"{dataset}, per-user split (seed {data_seed})"
    print(f"{description}: {train_pairs.n_users:,} users, {train_pairs.n_items:,} items, "
          f"{len(train_pairs):,} train / {len(test_pairs):,} test pairs")
    return (train_pairs, test_pairs), dataset or cfg["dataset"]


def _build(nn, run, task, cfg, seed, opts):
    train_pairs = task[0]
    return build(opts["model"], train_pairs.n_users, train_pairs.n_items,
                 adjacency(train_pairs), cfg, seed, opts.get("layers"))


def _training(nn, run, task, cfg, device):
    loss, data = nn.gcn.bpr_training(task[0], cfg["reg"], cfg["batch_size"], cfg["bpr_draw"], device)
    return {"loss": loss, "data": data, "lr": cfg["lr"], "batch_size": cfg["batch_size"], "shuffle": False}


def _evaluator(nn, run, task, cfg, device, epochs, done, opts=None):
    from ..ranking import full_ranking_evaluator

    return full_ranking_evaluator(task[0], task[1], k=cfg["k"], every=cfg["eval_every"], epochs=epochs, done=done)


def _variant(opts, cfg):
    """A BPR draw other than the profile's names the row ``<stem>_<draw>``."""
    from ..profiles import resolve

    draw = opts.get("bpr_draw")
    return draw if draw is not None and draw != resolve(NOTEBOOK, opts.get("profile", "full"))["bpr_draw"] else ""


RECIPE = Recipe(
    study="lightgcn", notebook=NOTEBOOK, models=MODELS, frameworks=("torch",),
    row_settings=lambda run, cfg: {key: cfg[key] for key in RUN_SETTINGS}, epochs=lambda run, cfg: cfg["epochs"],
    task=_task, build=_build, training=_training, evaluator=_evaluator,
    metrics=lambda history, cfg, run, epochs, opts: row(history, cfg, epochs),
    plotted=PLOTTED, plot=plot_rows, default_dataset=None,
    options=(("--layers", {"type": int, "default": None, "help": "default: the profile's depth of the model"}),
             ("--bpr-draw", {"choices": ("pairs", "users"), "default": None,
                             "help": "how BPR triples are drawn (default: the profile's; another names the row <stem>_<draw>)"})),
    variant=_variant, configure=lambda opts, cfg: {"bpr_draw": opts.get("bpr_draw")},
    extra=lambda opts: {"data_seed": opts.get("data_seed", 0)},
    run_name=lambda model, opts, cfg: run_name(model, cfg, opts.get("layers")))
