"""Frappe (Baltrunas et al. 2015, arXiv:1505.03014): context-aware mobile-app usage, with eight
real context fields per log entry.

``frappe/Mobile_Frappe.zip`` holds ``Mobile_Frappe/frappe/frappe.csv`` (tab-separated: user,
item, cnt, daytime, weekday, isweekend, homework, cost, weather, country, city; 96,203 rows, 957
users, 4,082 apps) and ``meta.csv`` (app name, category, ... ; "unknown" for 550 rarely
downloaded apps).

* :func:`load_frappe` reads both tables.
* :func:`frappe_ctr` builds the CTR version used by NFM (He & Chua, SIGIR 2017) and BARS
  (Frappe_x1): every log entry is a positive, and two negatives per positive share its user and its
  context, with an app drawn uniformly among the apps that user never used (and two different
  ones): 96,203 x 3 = 288,609 rows.
* :func:`frappe_task` adds behaviour histories (:mod:`adrec.data.histories`). Frappe has **no
  timestamps** (each entry aggregates usage into a count, ``cnt``); its only order is the file's,
  in which user and app ids are numbered by first appearance (:func:`first_appearance_ordered`),
  i.e. the order the log was written in. We use it as the time axis: the history of a row is the
  user's earlier log entries, and the split keeps the first 70 % of the entries (with their
  negatives) for training, the next 20 % for validation and the last 10 % for testing (NFM's
  7:2:1 proportions, but in log order instead of at random).
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .histories import (PAD, HistoryTask, assemble, ctx_encoder, item_id_tokens, item_token_matrix,
                        key_split, tokenize)
from .registry import fetch

CONTEXT_FIELDS = ("daytime", "weekday", "isweekend", "homework", "cost", "weather", "country", "city")
N_LOG, N_USERS, N_ITEMS = 96_203, 957, 4_082
_MEMBERS = {"log": "Mobile_Frappe/frappe/frappe.csv", "meta": "Mobile_Frappe/frappe/meta.csv"}
CNT_BUCKETS = 13  # behaviour = floor(log2(cnt)) capped at 12: 1, 2-3, 4-7, ..., >= 4096


@dataclass
class Frappe:
    log: pd.DataFrame  # user, item (0-based), cnt, the eight context fields (strings)
    meta: pd.DataFrame  # item, package, category, downloads, developer, icon, language, ..., name, price, rating


def load_frappe() -> Frappe:
    """The Frappe log (96,203 rows) and app metadata (4,082 apps), read from the verified zip."""
    with zipfile.ZipFile(fetch("frappe", "Mobile_Frappe.zip")) as zf:
        log = pd.read_csv(io.BytesIO(zf.read(_MEMBERS["log"])), sep="\t",
                          dtype={**{f: str for f in CONTEXT_FIELDS}, "user": np.int64, "item": np.int64,
                                 "cnt": np.int64}, keep_default_na=False)
        meta = pd.read_csv(io.BytesIO(zf.read(_MEMBERS["meta"])), sep="\t", dtype=str, keep_default_na=False)
    meta["item"] = meta["item"].astype(np.int64)
    return Frappe(log=log, meta=meta)


def first_appearance_ordered(ids) -> bool:
    """True when ids are numbered 0, 1, 2, ... in the order they first appear."""
    ids = np.asarray(ids)
    _, first = np.unique(ids, return_index=True)
    return bool(np.array_equal(ids[np.sort(first)], np.arange(len(first))))


def sample_negatives(users, used_codes, n_items: int, n_neg: int, rng) -> np.ndarray:
    """(len(users), n_neg) item ids drawn uniformly among items the user never used
    (``used_codes`` = sorted ``user * n_items + item`` codes), distinct within a row."""
    users = np.asarray(users, np.int64)
    out = rng.integers(0, n_items, size=(len(users), n_neg))

    def bad(cand):
        codes = users[:, None] * n_items + cand
        pos = np.searchsorted(used_codes, codes)
        hit = used_codes[np.minimum(pos, len(used_codes) - 1)] == codes
        dup = np.zeros_like(hit)
        for j in range(1, n_neg):
            dup[:, j] = (cand[:, :j] == cand[:, j:j + 1]).any(axis=1)
        return hit | dup

    mask = bad(out)
    while mask.any():
        out[mask] = rng.integers(0, n_items, size=int(mask.sum()))
        mask = bad(out)
    return out


def frappe_ctr(frappe: Frappe | None = None, n_neg: int = 2, seed: int = 0) -> pd.DataFrame:
    """NFM's CTR version of Frappe: each log row (label 1) followed by ``n_neg`` rows (label 0)
    with the same user and context and an app the user never used. ``key`` = the log row."""
    frappe = frappe or load_frappe()
    log = frappe.log
    used = np.unique(log.user.to_numpy() * N_ITEMS + log.item.to_numpy())
    rng = np.random.default_rng(seed)
    neg = sample_negatives(log.user.to_numpy(), used, N_ITEMS, n_neg, rng)
    key = np.arange(len(log), dtype=np.int64)
    pos = log.assign(key=key, label=1)
    negs = [log.assign(key=key, label=0, item=neg[:, j], cnt=0) for j in range(n_neg)]
    rows = pd.concat([pos, *negs], ignore_index=True)
    order = np.lexsort((-rows.label.to_numpy(), rows.key.to_numpy()))  # by log row, positive first
    return rows.iloc[order].reset_index(drop=True)


def cnt_bucket(cnt) -> np.ndarray:
    """Behaviour id 1..13 of a usage count: 1 + min(floor(log2 cnt), 12)."""
    cnt = np.maximum(np.asarray(cnt, np.int64), 1)
    return 1 + np.minimum(np.floor(np.log2(cnt)).astype(np.int64), CNT_BUCKETS - 1)


def app_bags(meta: pd.DataFrame, min_df: int = 2, max_df: float = 0.05) -> list:
    """Per app (by item id): ``cat=<category>`` and the words of its name (regex tokenizer), words
    kept when in at least ``min_df`` names and at most ``max_df`` of them; "unknown" metadata gives
    ``cat=unknown`` and no words."""
    meta = meta.sort_values("item")
    names = [[] if n == "unknown" else sorted(set(tokenize(n))) for n in meta.name]
    df = pd.Series([w for ws in names for w in ws], dtype=object).value_counts()
    keep = set(df.index[(df >= min_df) & (df <= max_df * len(names))])
    return [[f"cat={c}", *(f"word={w}" for w in ws if w in keep)] for c, ws in zip(meta.category, names)]


def frappe_task(max_len: int = 20, fractions=(0.7, 0.2, 0.1), n_neg: int = 2, seed: int = 0,
                min_item_count: int = 1) -> HistoryTask:
    """Frappe's CTR rows (:func:`frappe_ctr`) with histories of earlier log entries (behaviour =
    usage-count bucket, context = the eight fields), split in log order."""
    frappe = load_frappe()
    rows = frappe_ctr(frappe, n_neg=n_neg, seed=seed)
    rows["item"] = rows.item + 1  # 0 is the padding item
    events = frappe.log.assign(key=np.arange(len(frappe.log), dtype=np.int64), item=frappe.log.item + 1,
                               beh=cnt_bucket(frappe.log.cnt))
    train_mask, _, _ = key_split(rows.key.to_numpy(), fractions)
    id_tok = item_id_tokens(N_ITEMS, rows.item.to_numpy()[train_mask], min_item_count)
    bags = [[t, *bag] for t, bag in zip(id_tok, app_bags(frappe.meta))]
    item_tokens, content_vocab = item_token_matrix(bags)
    vocab, _ = ctx_encoder(rows, CONTEXT_FIELDS)
    beh_vocab = (PAD, *(f"cnt>={2 ** b}" for b in range(CNT_BUCKETS)))
    return assemble("frappe", rows, events, item_tokens, content_vocab, vocab, beh_vocab,
                    CONTEXT_FIELDS, CONTEXT_FIELDS, max_len, fractions,
                    notes={"label": "logged use (1) vs two sampled never-used apps (0), same context",
                           "split": "file order (Frappe has no timestamps)"})
