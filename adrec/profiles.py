"""One table of run sizes for every notebook: the ``quick`` profile (CPU, minutes) and the ``full``
profile (paper-size, meant for a GPU).

A notebook's ``parameters`` cell names only ``profile``, ``seed`` and ``device`` (plus optional
overrides); the sizes come from here through :func:`resolve`, which checks every value before any
work starts.
"""
from __future__ import annotations

import copy
import hashlib
import json

PROFILE_NAMES = ("quick", "full")

# notebook stem -> profile -> settings. Integers are sizes/counts (must be >= 1 unless listed in
# _ZERO_OK), floats are rates (must be > 0).
PROFILES: dict[str, dict[str, dict]] = {
    "00_overview": {
        "quick": {"synthetic_users": 2_000, "synthetic_ads": 200, "synthetic_impressions": 50_000},
        "full": {"synthetic_users": 100_000, "synthetic_ads": 5_000, "synthetic_impressions": 2_000_000},
    },
    # --- notebooks of issue 3 add their entries below this line ---
    "02_dot_product_scoring": {  # document 002 §4.1-4.3, document 003 §4.3.3: dot product vs learned similarity, NCF protocol
        # models / keras_models: trained in PyTorch / Keras ("neumf_pre": NeuMF initialised from the
        # GMF and MLP of the same seed, He et al. 2017 §3.4.1, with output weights alpha = neumf_alpha);
        # n_seeds: seeds seed, seed+1, ... (rows report the mean, and the std when n_seeds > 1).
        # factors, reg, init_std, epochs, negatives, lr, batch_size, optimizer: one value for every
        # model, or a dict per model ("neumf_pre" falls back to "neumf" when it has no entry).
        "quick": {"dataset": "ml-1m", "n_users": 1_000, "subset_seed": 1, "n_seeds": 1,
                  "models": ["mf_dot", "gmf", "neumf"], "keras_models": ["mf_dot", "gmf", "neumf"],
                  "factors": {"mf_dot": 16, "gmf": 16, "mlp": 16, "neumf": 16}, "n_layers": 3,
                  "reg": {"mf_dot": 0.003, "gmf": 0.0, "mlp": 0.0, "neumf": 0.0}, "init_std": 0.01,
                  "epochs": 8, "negatives": 4, "lr": 0.005, "batch_size": 2_048, "optimizer": "adam",
                  "neumf_alpha": 0.5, "n_eval_negatives": 99, "k": 10, "knn_neighbours": 50},
        # full: the published settings (reference numbers: He et al. 2017 for the NCF models,
        # Rendle et al. 2020 for mf_dot), all 6,040 users, 3 seeds
        "full": {"dataset": "ml-1m", "n_users": 6_040, "subset_seed": 1, "n_seeds": 3,
                 "models": ["mf_dot", "gmf", "mlp", "neumf", "neumf_pre"],
                 "keras_models": ["mf_dot", "gmf", "mlp", "neumf", "neumf_pre"],  # keras_models=[]: PyTorch only
                 # He et al.: 32 predictive factors (GMF's vector and the MLP's last layer; the MLP's
                 # embedding is 32·2^(3-1) = 128, tower 256->128->64->32, 3 layers). Rendle et al. tune
                 # the dot product's dimension over 16-192; 128 is inside that range
                 "factors": {"mf_dot": 128, "gmf": 32, "mlp": 32, "neumf": 32}, "n_layers": 3,
                 # He et al.'s code: no regularisation of the NCF models. Rendle et al.: reg 0.005, but
                 # their code (mf_simple.py) steps each row by lr·reg·v, the gradient of (reg/2)·|v|²;
                 # our loss adds reg·|v|² (per example, mean over the batch), so their 0.005 is 0.0025 here
                 "reg": {"mf_dot": 0.0025, "gmf": 0.0, "mlp": 0.0, "neumf": 0.0},
                 # He et al.: embeddings N(0, 0.01²); Rendle et al.: init std 0.1
                 "init_std": {"mf_dot": 0.1, "gmf": 0.01, "mlp": 0.01, "neumf": 0.01},
                 # Rendle et al.: 256 epochs. He et al.'s code runs 20 epochs in its README and the
                 # paper (Figure 6) finds the most effective updates in the first 10 iterations
                 "epochs": {"mf_dot": 256, "gmf": 20, "mlp": 20, "neumf": 20},
                 # He et al.: 4 negatives per positive; Rendle et al.: 8
                 "negatives": {"mf_dot": 8, "gmf": 4, "mlp": 4, "neumf": 4},
                 # He et al.: batch 256, Adam, lr 0.001; the pre-trained NeuMF with vanilla SGD
                 # (§3.4.1: Adam's moments are not carried over), lr 0.001 (the paper gives no other).
                 # Rendle et al.: per-example SGD, lr 0.002. SGD on the mean loss of a batch of B with
                 # lr 0.002·B sums the per-example steps of the batch; with B = 4,096 of 8.9 M examples
                 # an item's row occurs about once per batch (negatives are uniform over 3,706 items),
                 # so the steps are nearly the sequential ones; an epoch takes ~16 s on 2 CPU threads here,
                 # against ~57 s on one thread at B = 256
                 "lr": {"mf_dot": 0.002 * 4_096, "gmf": 0.001, "mlp": 0.001, "neumf": 0.001, "neumf_pre": 0.001},
                 "batch_size": {"mf_dot": 4_096, "gmf": 256, "mlp": 256, "neumf": 256},
                 "optimizer": {"mf_dot": "sgd", "gmf": "adam", "mlp": "adam", "neumf": "adam", "neumf_pre": "sgd"},
                 "neumf_alpha": 0.5,  # He et al. §3.4.1: alpha = 0.5
                 # the GMF and MLP NeuMF starts from: their best test-HR epoch, as He et al.'s GMF.py /
                 # MLP.py and guoyang9/NCF's main.py save them ("last": the 20th epoch's weights)
                 "pretrain_from": "best",
                 "n_eval_negatives": 99, "k": 10, "knn_neighbours": 50},
    },
    "03_bce_training": {  # document 004 §4.1-4.2, §5.2: BCE, LR/MLP click models on Avazu/Criteo heads
        "quick": {"epochs": 6, "batch_size": 256, "hash_buckets": 65_536, "min_count": 2, "embed_dim": 8,
                  "hidden_sizes": [64, 32], "lr": 0.001, "lr_logreg": 0.01, "n_seeds": 3,
                  "misuse_epochs": 2, "misuse_batch_size": 32, "listing_epochs": 3, "calibration_bins": 10,
                  "ml100k_users": 300, "ml100k_epochs": 5, "ml100k_batch_size": 1024},
        "full": {"epochs": 20, "batch_size": 256, "hash_buckets": 1_048_576, "min_count": 2, "embed_dim": 16,
                 "hidden_sizes": [256, 128], "lr": 0.001, "lr_logreg": 0.01, "n_seeds": 5,
                 "misuse_epochs": 10, "misuse_batch_size": 32, "listing_epochs": 10, "calibration_bins": 10,
                 "ml100k_users": 943, "ml100k_epochs": 10, "ml100k_batch_size": 1024},
    },
    "01_user_profile_fusion": {  # document 000 §4.1-4.2, document 003 §4.3.1: fused user profiles
        # max_*_rows: caps on each split's rows (None = all); max_len: history length (ML-100K,
        # synthetic), frappe_max_len: Frappe's; keras_fusions: the fusions also trained in Keras
        "quick": {"n_seeds": 3, "epochs": 2, "dim": 16, "att_hidden": 16, "mlp_hidden": 32,
                  "batch_size": 512, "lr": 0.01, "max_len": 20, "frappe_max_len": 10,
                  "max_train_rows": 20_000, "max_valid_rows": 4_000, "max_test_rows": 8_000,
                  "synthetic_users": 2_000, "synthetic_ads": 200, "synthetic_impressions": 50_000,
                  "keras_fusions": ["din"], "compare_concat": True},
        "full": {"n_seeds": 5, "epochs": 4, "dim": 16, "att_hidden": 32, "mlp_hidden": 64,
                 "batch_size": 512, "lr": 0.003, "max_len": 50, "frappe_max_len": 20,
                 "max_train_rows": None, "max_valid_rows": None, "max_test_rows": None,
                 "synthetic_users": 20_000, "synthetic_ads": 1_000, "synthetic_impressions": 1_000_000,
                 "keras_fusions": ["mean", "recency", "din"], "compare_concat": True},
    },
    "04_gcn_propagation": {  # document 003 §3.2.1, §4.2.1, §5.2-5.4: GCN / LightGCN, BPR, full ranking
        # dataset: "ml-100k" (per-user random split, test_fraction), "gowalla" (LightGCN split;
        # subgraph_users = a seeded user sample, None = all); gcn_layers: the weighted GCN's depth;
        # smoothing_layers: depth of the over-smoothing sweep; eval_every: epochs between evaluations;
        # depth_sweep: LightGCN depths trained besides 0 (MF) and n_layers; bpr_draw: how an epoch's
        # BPR triples are drawn (Interactions.sample_bpr): "pairs" = each training pair once,
        # "users" = as many uniform users as pairs, one random item each (LightGCN's reference code)
        "quick": {"dataset": "ml-100k", "test_fraction": 0.2, "subgraph_users": None,
                  "n_layers": 3, "gcn_layers": 2, "dim": 64, "epochs": 20, "batch_size": 4_096,
                  "lr": 0.02, "reg": 1e-4, "eval_every": 1, "k": 20, "smoothing_layers": 64,
                  "depth_sweep": [1, 2, 4], "bpr_draw": "pairs"},
        "full": {"dataset": "gowalla", "test_fraction": 0.2, "subgraph_users": None,
                 "n_layers": 3, "gcn_layers": 2, "dim": 64, "epochs": 1_000, "batch_size": 2_048,
                 "lr": 0.001, "reg": 1e-4, "eval_every": 10, "k": 20, "smoothing_layers": 64,
                 "depth_sweep": [1, 2, 4], "bpr_draw": "users"},
    },
    "05_sequence_models": {  # document 002 §5.2-5.4, document 001 §1.2: LSTM two-tower, GRU4Rec, SASRec
        # datasets: next-item datasets trained in order (first = the main row); maxlen, dim, n_blocks,
        # n_heads, dropout, lr, batch_size: SASRec's reference setting (Kang & McAuley 2018; dropout
        # 0.2 for MovieLens, 0.5 for the sparse Amazon sets); adam_beta2: Adam's second-moment decay
        # in the authors' code (0.98; PyTorch/Keras default 0.999); epochs / rnn_epochs: SASRec / GRU4Rec
        # epochs; rnn_dropout: GRU4Rec's dropout; eval_every: epochs between validation evaluations; listing_epochs: epochs of
        # document 002's listing (10 in the document); keras_models: next-item models also trained in Keras
        "quick": {"datasets": ["ml-100k"], "maxlen": 50, "dim": 50, "n_blocks": 2, "n_heads": 1,
                  "dropout": 0.2, "lr": 0.001, "adam_beta2": 0.98, "batch_size": 128, "epochs": 40,
                  "rnn_epochs": 20, "rnn_dropout": 0.0,
                  "eval_every": 5, "n_negatives": 100, "k": 10, "listing_epochs": 10,
                  "keras_models": ["gru4rec", "sasrec"]},
        "full": {"datasets": ["amazon-games", "amazon-beauty"], "maxlen": 50, "dim": 50, "n_blocks": 2,
                 "n_heads": 1, "dropout": 0.5, "lr": 0.001, "adam_beta2": 0.98, "batch_size": 128,
                 "epochs": 200,
                 "rnn_epochs": 100, "rnn_dropout": 0.0, "eval_every": 10, "n_negatives": 100, "k": 10, "listing_epochs": 10,
                 "keras_models": ["gru4rec", "sasrec"]},
    },
    "06_llm_ad_generation": {  # document 000 §3-5, document 002 §2.1, §3.2: LM ad copy, text-embedding cold start
        # train_rows: AdvertiseGen training rows used (of the registered 5,000); eval_rows: dev rows
        # evaluated (None = all 1,070); n_users: seeded interest profiles; decoding: greedy|beam|top_p;
        # coldstart_users: seeded ML-1M users of the text cold start (None = all 6,040); cold_share:
        # the share of items held out of training
        "quick": {"train_rows": 2_000, "eval_rows": 96, "max_len": 112, "n_layer": 2, "n_embd": 64,
                  "n_head": 2, "dropout": 0.1, "epochs": 2, "batch_size": 16, "lr": 0.003,
                  "n_users": 50, "max_new_tokens": 80, "decoding": "greedy", "temperature": 0.8,
                  "top_p": 0.9, "num_beams": 4, "gen_batch_size": 48, "coldstart_users": 1_000,
                  "cold_share": 0.1},
        "full": {"train_rows": 5_000, "eval_rows": None, "max_len": 256, "n_layer": 4, "n_embd": 128,
                 "n_head": 4, "dropout": 0.1, "epochs": 10, "batch_size": 32, "lr": 0.001,
                 "n_users": 200, "max_new_tokens": 160, "decoding": "greedy", "temperature": 0.8,
                 "top_p": 0.9, "num_beams": 4, "gen_batch_size": 64, "coldstart_users": None,
                 "cold_share": 0.1},
    },
    "smoke": {  # the tiny notebook the test-suite runs through papermill
        "quick": {"n": 10},
        "full": {"n": 1_000},
    },
}

_ZERO_OK = {"weight_decay", "dropout", "rnn_dropout", "l2", "reg", "warmup_epochs"}


class ProfileError(ValueError):
    """An unknown profile, an unknown notebook or an invalid setting."""


def _check_value(key, value, notebook, profile):
    if isinstance(value, bool) or value is None or isinstance(value, (str, list, tuple, dict)):
        return
    if isinstance(value, (int, float)):
        lowest_ok = 0 if key in _ZERO_OK else None
        bad = value < 0 if lowest_ok == 0 else value <= 0
        if bad:
            need = ">= 0" if lowest_ok == 0 else "> 0"
            raise ProfileError(
                f"{notebook}: setting {key}={value!r} is invalid for profile {profile!r}: it must be {need}."
            )


def settings_hash(settings: dict) -> str:
    """8 hex digits naming a set of settings (checkpoint names: resume only what the same settings made)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _kind_of(values):
    """A default that stands for every value of a list or dict default (None: mixed, not checked)."""
    kinds = {type(v) for v in values}
    if not kinds:
        return None
    if len(kinds) == 1:
        return next(iter(values))
    if kinds <= {int, float}:
        return 1.0
    return None


def _like(value, default):
    """``value`` converted to the type of the profile's ``default``; TypeError naming the type expected.

    int settings take ints (a whole float is fine), float settings numbers, list settings lists (a
    comma string is split; items as the default's items), str settings str, bool settings bool,
    dict settings a dict or one value of their values' kind (for every key); a None default (an
    optional size) None or an int.
    """
    if default is None:
        return value if value is None else _like(value, 1)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise TypeError("a bool (True or False)")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise TypeError("an int (a whole number)")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError("a number")
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise TypeError("a str")
    if isinstance(default, list):
        if isinstance(value, str):  # "a,b" from a command line
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise TypeError("a list (or a comma-separated str)")
        item = _kind_of(default)
        if item is None:
            return list(value)
        try:
            return [_like(v, item) for v in value]
        except TypeError as exc:
            raise TypeError(f"a list whose items are each {exc}") from None
    if isinstance(default, dict):
        item = _kind_of(list(default.values()))
        if item is None:
            if isinstance(value, dict):
                return value
            raise TypeError("a dict")
        try:
            if isinstance(value, dict):
                return {k: _like(v, item) for k, v in value.items()}
            return _like(value, item)
        except TypeError as exc:
            raise TypeError(f"a dict whose values are each {exc}, or one such value for every key") from None
    return value


def resolve(notebook: str, profile: str = "quick", **overrides) -> dict:
    """Settings of ``notebook`` under ``profile``, with non-None ``overrides`` applied and checked.

    Raises :class:`ProfileError` for an unknown profile or notebook, an override that names no
    setting, an override whose type is not the default's (see :func:`_like`), or a size that is
    not positive.
    """
    if profile not in PROFILE_NAMES:
        raise ProfileError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_NAMES)}.")
    if notebook not in PROFILES:
        raise ProfileError(f"no profile table for notebook {notebook!r}; known: {', '.join(sorted(PROFILES))}.")
    settings = copy.deepcopy(PROFILES[notebook][profile])
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in settings:
            raise ProfileError(
                f"{notebook}: unknown setting {key!r}; settings are {', '.join(sorted(settings))}."
            )
        try:
            settings[key] = _like(value, settings[key])
        except TypeError as exc:
            raise ProfileError(
                f"{notebook}: setting {key}={value!r} ({type(value).__name__}) has the wrong type for "
                f"profile {profile!r}: expected {exc}, like the profile's {settings[key]!r}."
            ) from None
    for key, value in settings.items():
        _check_value(key, value, notebook, profile)
    return settings
