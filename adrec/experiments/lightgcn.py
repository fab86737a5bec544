"""Notebook 04's trained graph rows in PyTorch: LightGCN at any depth (0 layers = MF on the same BPR
recipe) and the weighted GCN (W + ReLU per layer), trained with BPR and evaluated by full ranking
(recall@k / ndcg@k over all test users, :func:`adrec.ranking.full_ranking_evaluator`).

The notebook and ``python -m adrec.experiments.lightgcn --model lightgcn --seed 0 [--epochs N]``
build and train through the same functions here, with the same profile settings. In the full
profile every run checkpoints each epoch to
``results/full/04_gcn_propagation/rows/<model>_<L>layers_torch_seed<s>_<key>.ckpt.pt`` (``key``: a
hash of the settings the run depends on, epochs excepted): an interrupted run resumes, and the
notebook's full run picks up what was trained beforehand. ``--epochs N`` stops a run early (a CPU
budget); its JSON says how many of the profile's epochs it had.
"""
from __future__ import annotations

from pathlib import Path

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


def checkpoint_path(rows_dir: Path | None, run: str, seed: int, cfg: dict, data_seed: int = 0) -> Path | None:
    if rows_dir is None:
        return None
    from ..profiles import settings_hash

    key = settings_hash({key: cfg[key] for key in RUN_SETTINGS} | {"seed": data_seed})
    return Path(rows_dir) / f"{run}_torch_seed{seed}_{key}.ckpt.pt"


def train(run: str, model, train, test, cfg: dict, seed: int, *, data_seed: int = 0, device: str = "cpu",
          rows_dir: Path | None = None, epochs: int | None = None, progress: bool = False):
    """Train ``model`` with BPR (as many triples per epoch as training pairs, drawn as the profile's
    ``bpr_draw`` says, one sampled negative each; λ‖·‖² on the batch's initial vectors) and evaluate
    full ranking every ``eval_every`` epochs and after the last; returns the fit loop's history.
    With ``rows_dir`` it checkpoints every epoch and resumes."""
    from ..ranking import full_ranking_evaluator
    from ..torch_nn import gcn as tg
    from ..torch_nn.train import checkpoint_epoch, fit

    epochs = epochs or cfg["epochs"]
    checkpoint = checkpoint_path(rows_dir, run, seed, cfg, data_seed)
    evaluate = full_ranking_evaluator(train, test, k=cfg["k"], every=cfg["eval_every"], epochs=epochs,
                                      done=checkpoint_epoch(checkpoint))
    batches = tg.bpr_batches(train, cfg["batch_size"], device, cfg["bpr_draw"])
    return fit(model, tg.bpr_loss_fn(cfg["reg"]), batches, epochs=epochs, lr=cfg["lr"], device=device,
               evaluate=evaluate, seed=seed, progress=progress, desc=run, checkpoint=checkpoint)


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


def main(argv=None) -> None:
    import json

    import torch

    from .. import paths, run
    from . import parse_row_args, row_provenance, row_runner_parser

    p = row_runner_parser(__doc__, MODELS, NOTEBOOK, PLOTTED, "figures/04_gowalla_rows_full.png")
    p.add_argument("--layers", type=int, default=None, help="default: the profile's depth of the model")
    p.add_argument("--seed", type=int, default=0, help="the model's seed (initial vectors and BPR samples)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the split / user sample (the notebook's seed)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--bpr-draw", choices=("pairs", "users"), default=None,
                   help="how BPR triples are drawn (default: the profile's; another choice names the row <stem>_<draw>)")
    a = parse_row_args(p, argv, plot_rows, PLOTTED)
    if a is None:
        return
    from ..profiles import resolve

    default_draw = resolve(NOTEBOOK, a.profile)["bpr_draw"]
    nb = run.start(NOTEBOOK, profile=a.profile, seed=a.data_seed, device=a.device, bpr_draw=a.bpr_draw)
    cfg = nb.settings
    if a.threads:
        torch.set_num_threads(a.threads)
    epochs = a.epochs or cfg["epochs"]
    out = paths.results_dir() / a.profile / NOTEBOOK / "rows"
    out.mkdir(parents=True, exist_ok=True)
    train_pairs, test_pairs, data_name = load_task(cfg, a.data_seed)
    print(f"{data_name}: {train_pairs.n_users:,} users, {train_pairs.n_items:,} items, "
          f"{len(train_pairs):,} train / {len(test_pairs):,} test pairs; {torch.get_num_threads()} threads")
    name = run_name(a.model, cfg, a.layers)
    model = build(a.model, train_pairs.n_users, train_pairs.n_items, adjacency(train_pairs), cfg, a.seed, a.layers)
    history = train(name, model, train_pairs, test_pairs, cfg, a.seed, data_seed=a.data_seed, device=nb.device,
                    rows_dir=out, epochs=epochs, progress=True)
    metrics = row(history, cfg, epochs)
    stem = f"{name}_torch_seed{a.seed}" + ("" if cfg["bpr_draw"] == default_draw else f"_{cfg['bpr_draw']}")
    result = {"model": name, "framework": "torch", "seed": a.seed, "data_seed": a.data_seed, "dataset": data_name,
              "metrics": metrics, "history": history.rows,
              "provenance": row_provenance(nb, history, epochs=epochs, threads=torch.get_num_threads())}
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"row": stem, **metrics}))


if __name__ == "__main__":
    main()
