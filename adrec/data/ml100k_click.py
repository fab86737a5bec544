"""MovieLens-100K as a click task with behaviour histories (notebook 01).

* **Label**: a rating of 4 or 5 is a "click" (the user liked the film shown), 1-3 is not. MovieLens
  holds only films the user chose to watch, so this is a post-exposure preference label, the closest
  a rating log gets to an ad click; the threshold splits the ratings 55 / 45 and is the usual one
  when MovieLens is turned into a CTR task (AutoInt, Song et al. 2019, treats ratings above 3 as
  positive; it drops the 3s, we keep them as negatives so no row is discarded).
* **Behaviour** of a history event: its rating (1-5) - the strength of the action.
* **Content** of a film: its id, its genres (19 flags), the words of its title (regex tokenizer,
  words in at least two titles and at most 5 % of them) and its release decade.
* **Context**: hour of day and weekday of the timestamp (UTC: MovieLens gives no time zone).
* **Order and split**: ratings sorted by (timestamp, user, item); the history of a rating is the
  user's earlier ratings; the first 80 % of the ratings in time train, the next 10 % validate, the
  last 10 % test (a time-based split: the model never sees the future).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .histories import (PAD, HistoryTask, assemble, ctx_encoder, item_id_tokens, item_token_matrix,
                        key_split, tokenize)
from .movielens import ML100K_GENRES, load_ml100k

LABEL_THRESHOLD = 4  # rating >= 4 -> positive
BEHAVIOURS = (PAD, "rating=1", "rating=2", "rating=3", "rating=4", "rating=5")
HIST_CTX = ("hour", "weekday")
ROW_CTX = ("hour", "weekday")
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def title_bags(titles, min_df: int = 2, max_df: float = 0.05) -> list:
    """Per title: ``word=<w>`` for its words (year removed) kept by document frequency, plus
    ``decade=<d>`` from the trailing year when there is one."""
    words, decades = [], []
    for title in titles:
        title = str(title)
        year = _YEAR.search(title)
        decades.append(f"decade={year.group(1)[:3]}0s" if year else None)
        words.append(sorted(set(tokenize(_YEAR.sub("", title)))))
    df = pd.Series([w for ws in words for w in ws], dtype=object).value_counts()
    keep = set(df.index[(df >= min_df) & (df <= max_df * len(words))])
    return [[f"word={w}" for w in ws if w in keep] + ([d] if d else []) for ws, d in zip(words, decades)]


def ml100k_click_frame(max_users: int | None = None, seed: int = 0):
    """Ratings in time order with label, key, hour, weekday (and the MovieLens tables)."""
    ml = load_ml100k()
    r = ml.ratings.sort_values(["timestamp", "user", "item"], kind="stable").reset_index(drop=True)
    if max_users is not None and max_users < r.user.nunique():
        keep = np.random.default_rng(seed).choice(np.sort(r.user.unique()), max_users, replace=False)
        r = r[r.user.isin(keep)].reset_index(drop=True)
    when = pd.to_datetime(r.timestamp, unit="s", utc=True)
    r["key"] = np.arange(len(r), dtype=np.int64)
    r["label"] = (r.rating >= LABEL_THRESHOLD).astype(np.int64)
    r["beh"] = r.rating.astype(np.int64)  # ids 1..5 into BEHAVIOURS
    r["hour"] = when.dt.hour.to_numpy()
    r["weekday"] = when.dt.day_name().to_numpy()
    return r, ml


def ml100k_click_task(max_len: int = 20, fractions=(0.8, 0.1, 0.1), min_item_count: int = 1,
                      max_users: int | None = None, seed: int = 0) -> HistoryTask:
    """The MovieLens-100K click task (see the module docstring). ``max_users`` keeps a seeded
    random subset of users (smaller runs)."""
    r, ml = ml100k_click_frame(max_users, seed)
    train_mask, _, _ = key_split(r.key.to_numpy(), fractions)
    items = ml.items.sort_values("item").reset_index(drop=True)
    assert (items.item.to_numpy() == np.arange(1, len(items) + 1)).all()
    id_tok = item_id_tokens(len(items), r.item.to_numpy()[train_mask], min_item_count)
    genre_flags = items[list(ML100K_GENRES)].to_numpy(bool)
    bags = [[id_tok[i], *(f"genre={g}" for g, on in zip(ML100K_GENRES, genre_flags[i]) if on), *words]
            for i, words in enumerate(title_bags(items.title))]
    item_tokens, content_vocab = item_token_matrix(bags)
    vocab, _ = ctx_encoder(r, ROW_CTX)
    return assemble("ml100k", r, r, item_tokens, content_vocab, vocab, BEHAVIOURS, HIST_CTX, ROW_CTX,
                    max_len, fractions,
                    notes={"label": f"rating >= {LABEL_THRESHOLD}", "split": "time (timestamp order)"})
