"""A row: one (study, model, framework, dataset, seed) trained under a profile's settings — the unit
this project produces. :class:`Row` is its frozen description: the settings its recipe declares,
resolved once, one key over them, one file-name scheme, one checkpoint path and one JSON schema.

File names: ``[<dataset>_]<model>_<framework tag>[_seed<s>][_<variant>]`` with ``.json`` for the
result and ``.ckpt.pt`` (PyTorch) or ``.ckpt.npz`` (Keras) for the checkpoint, in the study's rows
folder. The dataset is named when it is not the profile's own (a user's file, or one of several
sequence datasets); ``variant`` names a non-default choice (``dim192``, ``users``). The checkpoint
stores :attr:`Row.key`; the training loops refuse to resume one of another key.

JSON schema (:data:`FIELDS`): ``study, model, framework, dataset, seed, key, settings, data,
metrics, history, provenance``. Rows written before this schema (``results/full/*/rows/``) load
through :func:`load` unchanged on disk: the missing fields are read from their provenance.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..profiles import settings_hash
from ..run import write_json

FIELDS = ("study", "model", "framework", "dataset", "seed", "key", "settings", "data", "metrics", "history",
          "provenance")
CHECKPOINT_SUFFIX = {"torch": "pt", "keras": "npz"}


@dataclass(frozen=True)
class Row:
    study: str                 # the recipe: ncf, lightgcn, next_item, click
    model: str                 # the recipe's model name (its run name for graph models: lightgcn_3layers)
    framework: str             # torch | keras | numpy (untrained baselines)
    tag: str                   # what trained it, as file names say: torch, keras-<backend>, numpy
    dataset: str               # the dataset's name
    seed: int | None           # None: nothing random (baselines)
    settings: dict             # exactly the settings the recipe declares for this model (epochs excepted)
    data: dict                 # the data's identity: name and sha256 of each file read
    rows_dir: Path
    named_dataset: bool = False  # the dataset appears in the file name
    variant: str = ""
    extra: dict = field(default_factory=dict)  # recipe fields kept in the JSON (eval_seed, data_seed)

    @property
    def key(self) -> str:
        """8 hex digits over the declared settings, the data's identity, what trains the row, its seeds
        and the recipe's extra fields (the evaluation or split seed)."""
        return settings_hash({"settings": self.settings, "data": self.data, "tag": self.tag,
                              "model": self.model, "seed": self.seed, **self.extra})

    @property
    def stem(self) -> str:
        parts = ([self.dataset] if self.named_dataset else []) + [self.model, self.tag]
        parts += [f"seed{self.seed}"] if self.seed is not None else []
        parts += [self.variant] if self.variant else []
        return "_".join(parts)

    @property
    def json_path(self) -> Path:
        return Path(self.rows_dir) / f"{self.stem}.json"

    @property
    def checkpoint_path(self) -> Path | None:
        suffix = CHECKPOINT_SUFFIX.get(self.framework)
        return None if suffix is None else Path(self.rows_dir) / f"{self.stem}.ckpt.{suffix}"

    def record(self, metrics: dict, history=None, provenance: dict | None = None) -> dict:
        """The row's JSON object (:data:`FIELDS`, then the recipe's extra fields)."""
        return {"study": self.study, "model": self.model, "framework": self.framework, "dataset": self.dataset,
                "seed": self.seed, "key": self.key, "settings": self.settings, "data": self.data,
                "metrics": metrics, "history": list(history or []), "provenance": provenance or {}, **self.extra}

    def save(self, metrics: dict, history=None, provenance: dict | None = None) -> Path:
        """Write the row's JSON atomically (a killed write leaves the previous file)."""
        return write_json(self.json_path, self.record(metrics, history, provenance))

    def matches(self, saved: dict) -> bool:
        """Whether a saved row was made under exactly this row's settings, data and trainer."""
        return saved.get("key") == self.key


def load(path) -> dict:
    """A row's JSON in the current schema; rows of the earlier shapes gain the fields they lack from
    their provenance (``key`` None: they predate the key, so no key check can accept them)."""
    row = json.loads(Path(path).read_text())
    prov = row.get("provenance", {})
    if "study" not in row:
        row = {"study": _STUDY_OF_NOTEBOOK.get(prov.get("notebook"), prov.get("notebook")),
               "model": row["model"], "framework": row["framework"],
               "dataset": row.get("dataset", prov.get("settings", {}).get("dataset")),
               "seed": row.get("seed", prov.get("seed") if row["framework"] != "numpy" else None),
               "key": None, "settings": prov.get("settings", {}), "data": prov.get("datasets", {}),
               "metrics": row["metrics"], "history": row.get("history", []), "provenance": prov,
               **{k: v for k, v in row.items() if k not in FIELDS}}
    missing = [f for f in FIELDS if f not in row]
    if missing:
        raise ValueError(f"{path}: not a row (missing {', '.join(missing)})")
    return row


_STUDY_OF_NOTEBOOK = {"02_dot_product_scoring": "ncf", "04_gcn_propagation": "lightgcn",
                      "05_sequence_models": "next_item", "03_bce_training": "click"}
