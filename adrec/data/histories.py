"""Click tasks with a per-row behaviour history: the input format of the user-profile fusion
models of notebook 01 (:mod:`adrec.ref.fusion`).

Every task is two tables drawn from a time-ordered log:

* **events**, the interactions a profile is made of: ``user``, ``item``, ``beh`` (a behaviour code:
  a rating, a usage-count bucket, shown / clicked / converted), a few context fields and an
  ordering ``key`` (log position);
* **rows**, the labelled impressions to score: ``user``, ``item``, ``label``, the row's own context
  fields and its ``key``.

The history of a row is the user's events with a key *strictly below* the row's key, the most
recent ``max_len`` of them, most recent first (``hist_age`` = 0 for the latest). Nothing logged at
or after the row leaks into it. Padding uses item id 0, behaviour 0 and context id 0.

Item content is a bag of content tokens per item (``item_tokens``, one row per item id, 0 = pad):
the item's own id token, its categories and the words of its title/name. Context values are
``"field=value"`` tokens of one vocabulary (``ctx_vocab``) shared by the history's context fields
and the row's context fields.

:func:`ad_world_task` turns the synthetic ad world (:mod:`adrec.data.synthetic`) into such a task;
the MovieLens-100K and Frappe tasks are in :mod:`adrec.data.ml100k_click` and
:mod:`adrec.data.frappe`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PAD = "<pad>"
RARE = "<rare>"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-cased words and numbers (a regex tokenizer: no NLTK data package is needed).

    >>> tokenize("Usual Suspects, The (1995)")
    ['usual', 'suspects', 'the', '1995']
    """
    return _WORD.findall(str(text).lower())


@dataclass
class HistorySplit:
    """One split of a history task; every array has one row per labelled impression."""

    target_item: np.ndarray  # (N,) int32, 1-based item ids (0 is the padding item)
    row_ctx: np.ndarray  # (N, Fr) int32 ids into ctx_vocab
    hist_item: np.ndarray  # (N, L) int32, 0 = no event
    hist_beh: np.ndarray  # (N, L) int32 ids into beh_vocab, 0 = no event
    hist_ctx: np.ndarray  # (N, L, Fh) int32 ids into ctx_vocab, 0 = no event
    hist_age: np.ndarray  # (N, L) int32: 0 = most recent event, 1 = the one before, ...
    y: np.ndarray  # (N,) float32 label
    user: np.ndarray  # (N,) int64 user id (not a model input: for analysis)
    key: np.ndarray  # (N,) int64 log position of the row

    @property
    def inputs(self) -> tuple:
        """The six model inputs, in the order of ``model(*inputs)``."""
        return (self.target_item, self.row_ctx, self.hist_item, self.hist_beh, self.hist_ctx,
                self.hist_age)

    @property
    def hist_len(self) -> np.ndarray:
        return (self.hist_item > 0).sum(axis=1)

    def __len__(self):
        return len(self.y)

    def subset(self, idx) -> "HistorySplit":
        idx = np.asarray(idx)
        return HistorySplit(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


@dataclass
class HistoryTask:
    name: str
    item_tokens: np.ndarray  # (n_items + 1, T) int32 content-token ids; row 0 = the padding item
    content_vocab: list  # token id -> token string (0 = <pad>)
    ctx_vocab: list  # context id -> "field=value" (0 = <pad>)
    beh_vocab: list  # behaviour id -> name (0 = <pad>)
    hist_ctx_fields: tuple
    row_ctx_fields: tuple
    train: HistorySplit
    valid: HistorySplit
    test: HistorySplit
    notes: dict = field(default_factory=dict)

    @property
    def sizes(self) -> dict:
        """Table sizes a model is built with."""
        return {"n_content": len(self.content_vocab), "n_ctx": len(self.ctx_vocab),
                "n_beh": len(self.beh_vocab), "n_items": int(self.item_tokens.shape[0]),
                "n_hist_ctx": len(self.hist_ctx_fields), "n_row_ctx": len(self.row_ctx_fields),
                "max_len": int(self.train.hist_item.shape[1])}

    def subsample(self, max_rows: dict, seed: int = 0) -> "HistoryTask":
        """A copy with at most ``max_rows[part]`` rows in each named split (a seeded random subset,
        kept in log order; histories are untouched: they were built from the whole log)."""
        rng = np.random.default_rng(seed)
        parts = {}
        for part in ("train", "valid", "test"):
            s = getattr(self, part)
            cap = max_rows.get(part)
            if cap is not None and cap < len(s):
                s = s.subset(np.sort(rng.choice(len(s), cap, replace=False)))
            parts[part] = s
        return HistoryTask(**{**{k: getattr(self, k) for k in self.__dataclass_fields__}, **parts})

    def stats(self) -> dict:
        out = {}
        for part in ("train", "valid", "test"):
            s = getattr(self, part)
            out[part] = {"rows": len(s), "positive_rate": float(s.y.mean()),
                         "users": int(len(np.unique(s.user))),
                         "mean_history": float(s.hist_len.mean()),
                         "no_history": float((s.hist_len == 0).mean())}
        return out


# ----------------------------------------------------------------------------------------------
# building blocks


def make_vocab(tokens, min_count: int = 1, reserved=(PAD,)) -> dict:
    """token -> id for tokens seen at least ``min_count`` times; ids after ``reserved`` (0 = pad),
    tokens sorted so the vocabulary does not depend on row order."""
    counts = pd.Series(list(tokens), dtype=object).value_counts()
    kept = sorted(counts.index[counts >= min_count].tolist())
    vocab = {t: i for i, t in enumerate(reserved)}
    for t in kept:
        if t not in vocab:
            vocab[t] = len(vocab)
    return vocab


def ctx_encoder(frame: pd.DataFrame, fields) -> tuple[dict, list]:
    """One vocabulary of ``"field=value"`` tokens over ``fields`` of ``frame`` (all values kept:
    context values carry no label)."""
    tokens = []
    for f in fields:
        tokens.extend((f + "=" + frame[f].astype(str)).unique().tolist())
    vocab = make_vocab(tokens)
    return vocab, list(vocab)


def encode_ctx(frame: pd.DataFrame, fields, vocab: dict) -> np.ndarray:
    """(N, F) int32 ids of ``"field=value"`` tokens (0 for an unknown value)."""
    cols = []
    for f in fields:
        uniq, inverse = np.unique(frame[f].astype(str).to_numpy(), return_inverse=True)
        lookup = np.array([vocab.get(f"{f}={u}", 0) for u in uniq], dtype=np.int32)
        cols.append(lookup[inverse.reshape(-1)])
    return np.stack(cols, axis=1) if cols else np.zeros((len(frame), 0), np.int32)


def item_token_matrix(bags: list) -> tuple[np.ndarray, list]:
    """Pad a list of token bags (one per item id, starting at item 1) into an (n_items + 1, T) id
    matrix over one content vocabulary (row 0 = the padding item, all zeros)."""
    vocab = {PAD: 0}
    for bag in bags:
        for t in bag:
            vocab.setdefault(t, len(vocab))
    width = max((len(b) for b in bags), default=1) or 1
    mat = np.zeros((len(bags) + 1, width), np.int32)
    for i, bag in enumerate(bags, start=1):
        mat[i, :len(bag)] = [vocab[t] for t in bag]
    return mat, list(vocab)


def build_histories(ev_user, ev_key, ev_item, ev_beh, ev_ctx, row_user, row_key, max_len: int):
    """Histories of labelled rows: for each row, the user's events with ``key < row_key``, the
    ``max_len`` most recent first.

    ``ev_key`` and ``row_key`` are non-negative integers (log positions). Returns ``hist_item``,
    ``hist_beh``, ``hist_ctx`` (N, L, Fh) and ``hist_age`` (0 = most recent; padding slots hold 0
    everywhere; the model tells them apart by ``hist_item == 0``).
    """
    ev_user, ev_key = np.asarray(ev_user, np.int64), np.asarray(ev_key, np.int64)
    row_user, row_key = np.asarray(row_user, np.int64), np.asarray(row_key, np.int64)
    ev_ctx = np.asarray(ev_ctx, np.int32).reshape(len(ev_user), -1)
    span = int(max(ev_key.max(initial=0), row_key.max(initial=0))) + 1
    composite = ev_user * span + ev_key
    order = np.argsort(composite, kind="stable")
    composite = composite[order]
    # a leading padding event (index 0) that every empty slot points at
    item = np.concatenate([[0], np.asarray(ev_item, np.int32)[order]]).astype(np.int32)
    beh = np.concatenate([[0], np.asarray(ev_beh, np.int32)[order]]).astype(np.int32)
    ctx = np.concatenate([np.zeros((1, ev_ctx.shape[1]), np.int32), ev_ctx[order]])
    end = np.searchsorted(composite, row_user * span + row_key, side="left")
    start = np.searchsorted(composite, row_user * span, side="left")
    n_hist = np.minimum(end - start, max_len)
    age = np.arange(max_len, dtype=np.int32)
    valid = age[None, :] < n_hist[:, None]  # (N, L)
    pos = np.where(valid, end[:, None] - age[None, :], 0)  # index into the padded event arrays
    return item[pos], beh[pos], ctx[pos], np.where(valid, age[None, :], 0).astype(np.int32)


def key_split(keys, fractions=(0.8, 0.1, 0.1)):
    """Boolean masks of train / valid / test by log position: the first ``fractions[0]`` of the
    distinct keys train, the next valid, the last test (rows sharing a key stay together)."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three numbers summing to 1, got {fractions}")
    keys = np.asarray(keys)
    uniq = np.unique(keys)
    n = len(uniq)
    a = uniq[min(int(round(fractions[0] * n)), n - 1)]
    b = uniq[min(int(round((fractions[0] + fractions[1]) * n)), n - 1)]
    return keys < a, (keys >= a) & (keys < b), keys >= b


def assemble(name, rows: pd.DataFrame, events: pd.DataFrame, item_tokens, content_vocab,
             ctx_vocab: dict, beh_vocab, hist_ctx_fields, row_ctx_fields, max_len: int,
             fractions, notes=None) -> HistoryTask:
    """Encode contexts, split the rows by key and build each split's histories. ``rows`` needs
    user, item, label, key and the row context fields; ``events`` user, item, beh, key and the
    history context fields."""
    ev_ctx = encode_ctx(events, hist_ctx_fields, ctx_vocab)
    ev = (events.user.to_numpy(), events.key.to_numpy(), events.item.to_numpy(), events.beh.to_numpy(), ev_ctx)
    row_ctx = encode_ctx(rows, row_ctx_fields, ctx_vocab)
    key = rows.key.to_numpy(np.int64)
    parts = []
    for mask in key_split(key, fractions):
        idx = np.flatnonzero(mask)
        user = rows.user.to_numpy(np.int64)[idx]
        hist = build_histories(*ev, user, key[idx], max_len)
        parts.append(HistorySplit(
            target_item=rows.item.to_numpy(np.int32)[idx], row_ctx=row_ctx[idx], hist_item=hist[0],
            hist_beh=hist[1], hist_ctx=hist[2], hist_age=hist[3],
            y=rows.label.to_numpy(np.float32)[idx], user=user, key=key[idx]))
    return HistoryTask(name=name, item_tokens=item_tokens, content_vocab=list(content_vocab),
                       ctx_vocab=list(ctx_vocab), beh_vocab=list(beh_vocab),
                       hist_ctx_fields=tuple(hist_ctx_fields), row_ctx_fields=tuple(row_ctx_fields),
                       train=parts[0], valid=parts[1], test=parts[2], notes=dict(notes or {}))


def item_id_tokens(n_items: int, train_items, min_count: int = 1) -> list:
    """``item=<id>`` for items seen at least ``min_count`` times among training rows, else
    ``item=<rare>`` (an item first seen in valid/test gets no embedding of its own: it is scored
    through its other content tokens)."""
    counts = np.bincount(np.asarray(train_items, np.int64), minlength=n_items + 1)
    return [f"item={i}" if counts[i] >= min_count else f"item={RARE}" for i in range(1, n_items + 1)]


# ----------------------------------------------------------------------------------------------
# the synthetic ad world

AD_BEHAVIOURS = (PAD, "shown", "clicked", "converted")


def ad_world_task(world, max_len: int = 20, fractions=(0.8, 0.1, 0.1), min_count: int = 1) -> HistoryTask:
    """The synthetic ad world's log as a history task.

    Events are all earlier impressions of the user (behaviour shown / clicked / converted, context
    hour, device, slot); rows are impressions labelled by ``click``, with row context hour, device,
    slot and the user's age group and gender. Content: ad id, category and tags.
    """
    log = world.log.reset_index(drop=True)
    key = np.arange(len(log), dtype=np.int64)
    n_train = int(round(fractions[0] * len(log)))
    id_tok = item_id_tokens(len(world.ads), log.ad_id.to_numpy()[:n_train] + 1, min_count)
    bags = [[id_tok[i], f"cat={c}", *(f"tag={t}" for t in tags.split())]
            for i, (c, tags) in enumerate(zip(world.ads.category.astype(str), world.ads.tags))]
    item_tokens, content_vocab = item_token_matrix(bags)
    users = world.users.set_index("user_id")
    frame = pd.DataFrame({
        "user": log.user_id.to_numpy(np.int64), "item": log.ad_id.to_numpy(np.int64) + 1, "key": key,
        "label": log.click.to_numpy(), "hour": log.hour.to_numpy(), "device": log.device.astype(str).to_numpy(),
        "slot": log.slot.to_numpy(),
        "age_group": users.age_group.astype(str).to_numpy()[log.user_id.to_numpy()],
        "gender": users.gender.astype(str).to_numpy()[log.user_id.to_numpy()],
    })
    frame["beh"] = 1 + log.click.to_numpy() + log.conversion.to_numpy()
    hist_fields, row_fields = ("hour", "device", "slot"), ("hour", "device", "slot", "age_group", "gender")
    vocab, _ = ctx_encoder(frame, row_fields)
    return assemble("synthetic", frame, frame, item_tokens, content_vocab, vocab, AD_BEHAVIOURS,
                    hist_fields, row_fields, max_len, fractions,
                    notes={"label": "click", "split": "log order (time)"})
