"""Notebook 02's trained rows in PyTorch or Keras: the dot product (mf_dot) and NCF's learned
similarities (gmf, mlp, neumf, neumf_pre) on MovieLens-1M leave-one-out, each held-out item ranked
among 99 sampled negatives (He et al. 2017's protocol, :func:`adrec.ranking.evaluate_sampled`).

The notebook and ``python -m adrec.experiments ncf --model gmf --seed 0 [--framework keras]`` build
and train through the same functions here, with the same profile settings. In the full profile
every (model, framework, seed) run checkpoints each epoch to
``results/full/02_dot_product_scoring/rows/<model>_torch_seed<s>.ckpt.pt`` (Keras:
``<model>_keras-<backend>_seed<s>.ckpt.npz``), which stores the row's key (a hash of the settings
the row depends on, epochs excepted, :mod:`adrec.experiments.row`): an interrupted run resumes, and the notebook's full run picks up the rows
trained beforehand (a finished checkpoint trains nothing more). ``--epochs N`` stops a row early (a
CPU budget); its JSON says how many of the profile's epochs it had. ``--factors N`` trains the model at
size N instead of the profile's (e.g. the dot product at another dimension of Rendle et al.'s 16-192
sweep) into ``rows/<model>_<framework>_seed<s>_dim<N>.json``. ``--model itempop|itemknn|userknn`` scores the
untrained baselines of :mod:`adrec.baselines` on the same candidates into ``rows/<name>_numpy.json``.
"""
from __future__ import annotations

from pathlib import Path

from ..ref.scoring import MODEL_NAMES, architecture
from .runner import Recipe, backend, fit_row, row_for

MODELS = ("mf_dot", "gmf", "mlp", "neumf", "neumf_pre")
FRAMEWORKS = ("torch", "keras")  # adrec.torch_nn.scoring and its mirror adrec.keras_nn.scoring
BASELINES = ("itempop", "itemknn", "userknn")  # adrec.baselines: nothing trained, no seed
NOTEBOOK = "02_dot_product_scoring"
PLOTTED = ("hr@10", "ndcg@10")  # what --plot draws


def setting(cfg: dict, key: str, name: str):
    """cfg[key] for model ``name``: one value for every model, or a dict per model (a variant such
    as neumf_pre falls back to its architecture's entry)."""
    value = cfg[key]
    if not isinstance(value, dict):
        return value
    return value[name] if name in value else value[architecture(name)]


def load_task(cfg: dict, eval_seed: int = 0, dataset: str | None = None):
    """``(split, candidates)``: the profile's users of its leave-one-out dataset (MovieLens-1M), or of
    ``dataset``, a file of yours (:func:`adrec.data.ncf.load_interactions_file`: a CSV/TSV with a
    header ``user,item[,timestamp]``), and, per user, the held-out item followed by
    ``n_eval_negatives`` items never rated (drawn with ``eval_seed``)."""
    from ..data import ncf
    from ..ranking import sample_candidates

    loo = ncf.load_loo(cfg["dataset"]) if dataset in (None, cfg["dataset"]) else ncf.load_interactions_file(dataset)
    split = ncf.subset_users(loo, cfg["n_users"], seed=cfg["subset_seed"])
    return split, sample_candidates(split.rated(), split.test_items, cfg["n_eval_negatives"], seed=eval_seed)


def score_fn(model, framework: str = "torch", device: str = "cpu"):
    """numpy scorer ``f(users, items)`` of a ``framework`` model (Keras scores on its backend's device)."""
    return backend(framework, "scoring").score_fn(model, device=device)


def build(name: str, split, cfg: dict, seed: int, factors: int | None = None, framework: str = "torch"):
    """A fresh model ``name`` of ``framework`` (``factors``: override the profile's size)."""
    if name not in MODELS:
        raise ValueError(f"unknown NCF model {name!r}; choose one of {', '.join(MODELS)}")
    return backend(framework, "scoring").build_model(
        architecture(name), split.n_users, split.n_items, factors or setting(cfg, "factors", name), cfg["n_layers"],
        init_std=setting(cfg, "init_std", name), seed=seed, reg=setting(cfg, "reg", name))


def rows_dir(notebook_dir: Path, eval_seed: int = 0) -> Path:
    """Where the rows of a full run live: ``rows`` for the notebook's default evaluation candidates
    (seed 0), ``rows_eval_seed<s>`` for others (a row's history holds the metrics on its candidates)."""
    return Path(notebook_dir) / ("rows" if eval_seed == 0 else f"rows_eval_seed{eval_seed}")


# the settings a row's training depends on (the number of epochs is not one: a row goes on to more)
ROW_SETTINGS = ("dataset", "n_users", "subset_seed", "n_layers", "factors", "reg", "init_std", "negatives", "lr",
                "batch_size", "optimizer", "neumf_alpha", "n_eval_negatives", "k")


def resized(factors, name: str, size: int) -> dict:
    """The profile's ``factors`` (one size or a dict per model) with model ``name`` at ``size``.
    Not for a variant (neumf_pre), whose size is that of the parts it is built from."""
    if name not in MODEL_NAMES:
        raise ValueError(f"a size can be set for {', '.join(MODEL_NAMES)}, not {name!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"the size of {name} must be a positive whole number, not {size!r}")
    sizes = dict(factors) if isinstance(factors, dict) else dict.fromkeys(MODEL_NAMES, factors)
    return {**sizes, name: size}


def restored_metric(cfg: dict, name: str) -> str | None:
    """The metric whose best epoch's weights a trained ``name`` keeps (``fit(restore_best=...)``):
    test HR@k for the parts of a pre-trained NeuMF under ``pretrain_from="best"``, which is what He et
    al.'s GMF.py/MLP.py and guoyang9/NCF save for pre-training; None (the last epoch's) otherwise."""
    if name in ("gmf", "mlp") and cfg.get("pretrain_from", "last") == "best":
        return f"hr@{cfg['k']}"
    return None


def train(name: str, model, split, candidates, cfg: dict, seed: int, *, device: str = "cpu",
          rows_dir: Path | None = None, epochs: int | None = None, progress: bool = False,
          framework: str = "torch"):
    """Train ``model`` (of ``framework``) with the NCF recipe (pointwise BCE, fresh negatives each
    epoch, the same draws in both frameworks) and evaluate HR@k / NDCG@k after every epoch, through
    the one runner (:func:`adrec.experiments.runner.fit_row`); returns the fit loop's history. With
    ``rows_dir`` the run checkpoints every epoch there and resumes what the same settings made. GMF
    and MLP end holding their best test epoch's weights when the profile pre-trains from it
    (:func:`restored_metric`)."""
    from ..data.registry import REGISTRY

    row = row_for(RECIPE, name, framework, seed, cfg, cfg["dataset"], rows_dir or Path("."), {},
                  arrays=None if cfg["dataset"] in REGISTRY else
                  (split.train.users, split.train.items, split.test_items, candidates))
    return fit_row(RECIPE, row, (split, candidates), cfg, epochs=epochs, device=device, progress=progress,
                   checkpoint=rows_dir is not None, model=model)[1]


def pretrained_parts(build, train, cfg: dict, seed: int, trained: dict | None = None) -> tuple:
    """The GMF and the MLP NeuMF starts from (He et al. 2017 §3.4.1): the run's own of this seed
    (``trained``) when they have NeuMF's size, else ``build(part, seed, factors)`` and
    ``train(part, model, seed)`` here. Framework-neutral: the notebook passes its Keras pair too."""
    factors, parts = setting(cfg, "factors", "neumf_pre"), []
    for part in ("gmf", "mlp"):
        if trained and part in trained and setting(cfg, "factors", part) == factors:
            parts.append(trained[part])
        else:
            parts.append(build(part, seed, factors))
            train(part, parts[-1], seed)
    return tuple(parts)


def baseline(name: str, train, cfg: dict):
    """The untrained baseline ``name`` of :data:`BASELINES` on the training matrix (KNN rows keep
    ``knn_neighbours`` neighbours), as notebook 02 builds it."""
    from ..baselines import ItemKNN, ItemPop, UserKNN

    if name == "itempop":
        return ItemPop(train)
    if name in ("itemknn", "userknn"):
        return (ItemKNN if name == "itemknn" else UserKNN)(train, k=cfg["knn_neighbours"])
    raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")


def epoch_metrics(history, k: int = 10) -> dict:
    """HR@k / NDCG@k after the last epoch (what the notebook reports: nothing is selected on the
    test users) and at the epoch of the best test HR@k, which is what He et al.'s code prints at the
    end of a run ("best iteration") and so what the published NCF rows are."""
    best = max(history.rows, key=lambda r: r[f"hr@{k}"])  # the first of equal bests, as their code
    return {f"hr@{k}": float(history.last(f"hr@{k}")), f"ndcg@{k}": float(history.last(f"ndcg@{k}")),
            f"best_hr@{k}": float(best[f"hr@{k}"]), f"best_ndcg@{k}": float(best[f"ndcg@{k}"]),
            "best_epoch": int(best["epoch"])}


def row(name: str, history, cfg: dict, epochs: int) -> dict:
    """The metrics of a trained row (:func:`epoch_metrics`) and how long it trained."""
    return {**epoch_metrics(history, cfg["k"]), "epochs": int(history.last("epoch")),
            "profile_epochs": int(setting(cfg, "epochs", name)), "requested_epochs": int(epochs),
            "train_time_s": float(history.last("wall_time_s"))}


def plot_rows(row_files, k: int = 10, published: dict | None = None):
    """HR@k and NDCG@k by epoch of trained rows (their JSON files), one line per file, labelled
    with the file's stem; ``published``: {"hr@k": value, ...} drawn as dashed lines."""
    from . import plot_rows as plot

    return plot(row_files, (f"hr@{k}", f"ndcg@{k}"), published)


# --- the recipe: what the one runner (adrec.experiments.runner) needs of an NCF row ---

def _row_settings(name: str, cfg: dict) -> dict:
    if name in BASELINES:  # nothing trained: the users, the candidates and (KNN) the neighbours
        keys = ("dataset", "n_users", "subset_seed", "n_eval_negatives", "k") + (
            ("knn_neighbours",) if name != "itempop" else ())
        return {key: cfg[key] for key in keys if key in cfg}
    keys = ROW_SETTINGS + (("pretrain_from",) if name == "neumf_pre" else ())
    return {key: setting(cfg, key, name) for key in keys if key in cfg}


def _task(cfg: dict, dataset, data_seed: int):
    return load_task(cfg, data_seed, dataset), dataset or cfg["dataset"]


def _build(nn, name, task, cfg, seed, opts):
    from ..ranking import evaluate_sampled

    if name != "neumf_pre":
        return build(name, task[0], cfg, seed, framework=nn.framework)
    parts = {}
    for part in ("gmf", "mlp"):  # the runner trains (or resumes) each part as a row of its own
        if setting(cfg, "factors", part) != setting(cfg, "factors", "neumf_pre"):
            raise ValueError(f"neumf_pre starts from the {part} row of its seed, which must have NeuMF's size "
                             f"({setting(cfg, 'factors', 'neumf_pre')}), not {setting(cfg, 'factors', part)}")
        parts[part] = opts["train_part"](part)
    model = nn.scoring.neumf_from_pretrained(parts["gmf"][0], parts["mlp"][0], alpha=cfg["neumf_alpha"],
                                             reg=setting(cfg, "reg", "neumf_pre"))
    # the epoch whose weights each part hands over (its last unless pretrain_from="best"), and epoch 0,
    # before any NeuMF step (He et al.'s code prints it as "Init" and lets it be the best iteration)
    start = {f"{n}_epoch": h.best_epoch or int(h.last("epoch")) for n, (_, h) in parts.items()}
    start.update({f"init_{k}": v for k, v in evaluate_sampled(
        nn.scoring.score_fn(model), task[1], k=cfg["k"]).items()})
    opts["start"] = start
    return model


def _training(nn, name, task, cfg, device):
    loss, data = nn.scoring.pointwise_training(task[0].train, setting(cfg, "negatives", name),
                                               setting(cfg, "batch_size", name))
    return {"loss": loss, "data": data, "lr": setting(cfg, "lr", name), "optimizer": setting(cfg, "optimizer", name),
            "batch_size": setting(cfg, "batch_size", name), "shuffle": False,
            "restore_best": restored_metric(cfg, name)}


def _evaluator(nn, name, task, cfg, device, epochs, done, opts=None):
    from ..ranking import evaluate_sampled

    return lambda m: evaluate_sampled(nn.scoring.score_fn(m, device=device), task[1], k=cfg["k"])


def _metrics(history, cfg, name, epochs, opts):
    return {**row(name, history, cfg, epochs), **opts.get("start", {})}


def _untrained(name, task, cfg):
    from ..ranking import evaluate_sampled

    return evaluate_sampled(baseline(name, task[0].train, cfg).score, task[1], k=cfg["k"])


def _configure(opts, cfg):
    if opts.get("factors") is None:
        return {}
    return {"factors": resized(cfg["factors"], opts["model"], opts["factors"])}


RECIPE = Recipe(
    study="ncf", notebook=NOTEBOOK, models=MODELS + BASELINES, frameworks=FRAMEWORKS,
    row_settings=_row_settings, epochs=lambda name, cfg: setting(cfg, "epochs", name),
    task=_task, build=_build, training=_training, evaluator=_evaluator, metrics=_metrics,
    untrained=_untrained, baselines=BASELINES, plotted=PLOTTED, plot=plot_rows, default_dataset="ml-1m",
    options=(("--factors", {"type": int, "default": None, "metavar": "N",
                            "help": "the model's size instead of the profile's; its row is <model>_<framework>_seed<s>_dim<N>"}),),
    variant=lambda opts, cfg: f"dim{opts['factors']}" if opts.get("factors") is not None else "",
    configure=_configure, extra=lambda opts: {"eval_seed": opts.get("data_seed", 0)},
    rows_dir=lambda out, opts: rows_dir(out, opts.get("data_seed", 0)))
