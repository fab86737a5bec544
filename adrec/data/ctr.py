"""Real ad impressions for click models: the 10,000-line heads of Avazu and Criteo (Kaggle 2014).

* :func:`load_avazu_head` - Avazu mobile ads, ``avazu-head10k/train-10k``: a CSV with a header;
  ``click`` is the label, every other column is categorical (anonymised ids, hashed site/app/device
  fields); ``hour`` is ``YYMMDDHH``.
* :func:`load_criteo_head` - Criteo display ads, ``criteo-head10k/train-10k.txt``: tab-separated,
  no header: label, 13 integer features ``I1..I13`` (counts; some negative), 26 hashed categorical
  features ``C1..C26``; an empty field is a missing value.

:class:`CTREncoder` turns a raw frame into model inputs, fitted on the training rows only:

* categorical fields -> one shared table of ``n_buckets`` rows (the hashing trick: a stable
  blake2b hash of ``"<field>=<value>"``, so equal values of different fields land in different
  buckets), or, with ``mode="vocab"``, a vocabulary per field learned on train with one
  out-of-vocabulary id per field. Values seen fewer than ``min_count`` times in train are folded into
  the field's ``<rare>`` token in both modes (values first seen in valid/test are rare too), and a
  missing value is its own ``<missing>`` token, so "missing" is a category the model can learn;
* integer features -> ``sign(x) * log1p(|x|)`` (heavy-tailed counts tamed), missing -> 0, then
  standardised with the train mean/std, plus one 0/1 missing indicator per feature.

:func:`ml100k_ctr_task` gives notebook 01's MovieLens-100K click task the same flat form.

:func:`ctr_task` loads a dataset, splits it (``"ordered"``: the first rows train, the next valid,
the last test - the files are in log order; or ``"random"``, seeded) and encodes it, through
:func:`encode_task` (the split-and-encode step, public for any frame).

Your own data: :func:`load_ctr_file` reads a click log of yours by path: a CSV (or TSV) with a
header, a 0/1 label column, categorical columns (any text; empty = missing) and optionally
numeric columns (numbers; empty = missing), rows in log order. It gives the same
:class:`CTRTask` as the Avazu and Criteo heads, so LR / MLP / DIN train on it unchanged.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .registry import fetch, integer_column, malformed, read_table

CRITEO_INT = tuple(f"I{i}" for i in range(1, 14))
CRITEO_CAT = tuple(f"C{i}" for i in range(1, 27))
AVAZU_CAT = ("hour_of_day", "weekday", "C1", "banner_pos", "site_id", "site_domain", "site_category",
             "app_id", "app_domain", "app_category", "device_id", "device_ip", "device_model",
             "device_type", "device_conn_type", "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21")
MISSING = "<missing>"
RARE = "<rare>"


def load_avazu_head() -> pd.DataFrame:
    """Avazu head: 9,999 impressions; ``label`` (0/1) plus the categorical columns of
    :data:`AVAZU_CAT` as strings (``hour`` split into hour of day and weekday; ``id`` dropped: it
    is unique per row)."""
    df = pd.read_csv(fetch("avazu-head10k", "train-10k"), dtype=str, keep_default_na=False)
    hour = pd.to_datetime(df["hour"], format="%y%m%d%H")
    out = pd.DataFrame({"label": df["click"].astype(np.int64)})
    out["hour_of_day"] = hour.dt.hour.astype(str)
    out["weekday"] = hour.dt.day_of_week.astype(str)
    for col in AVAZU_CAT[2:]:
        out[col] = df[col].replace("", MISSING)
    return out


def load_criteo_head() -> pd.DataFrame:
    """Criteo head: 10,000 impressions; ``label`` (0/1), ``I1..I13`` as float (NaN = missing),
    ``C1..C26`` as strings (``"<missing>"`` for an empty field)."""
    names = ["label", *CRITEO_INT, *CRITEO_CAT]
    df = pd.read_csv(fetch("criteo-head10k", "train-10k.txt"), sep="\t", header=None, names=names,
                     dtype={**{c: "float64" for c in CRITEO_INT}, **{c: str for c in CRITEO_CAT}},
                     keep_default_na=False, na_values={c: [""] for c in CRITEO_INT})
    df["label"] = df["label"].astype(np.int64)
    for c in CRITEO_CAT:
        df[c] = df[c].replace("", MISSING)
    return df


DATASETS = {
    "avazu": (load_avazu_head, AVAZU_CAT, ()),
    "criteo": (load_criteo_head, CRITEO_CAT, CRITEO_INT),
}


def stable_hash(tokens, n_buckets: int) -> np.ndarray:
    """Bucket of each string token: blake2b (8 bytes) mod ``n_buckets``; the same in every process
    (unlike Python's salted ``hash``)."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little") % n_buckets
         for t in tokens), dtype=np.int64, count=len(tokens))


@dataclass
class CTREncoder:
    """Feature encoder fitted on training rows only (see the module docstring)."""

    cat_fields: tuple
    num_fields: tuple = ()
    n_buckets: int = 2 ** 15
    min_count: int = 2
    mode: str = "hash"  # "hash" or "vocab"
    missing_indicators: bool = True  # one 0/1 column per numeric field
    kept: dict = field(default_factory=dict)  # field -> set of values kept (count >= min_count)
    vocab: dict = field(default_factory=dict)  # mode "vocab": field -> {token: id}, id 0 = <rare>
    offsets: dict = field(default_factory=dict)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def __post_init__(self):
        if self.mode not in ("hash", "vocab"):
            raise ValueError(f"mode must be 'hash' or 'vocab', got {self.mode!r}")

    def fit(self, df: pd.DataFrame) -> "CTREncoder":
        offset = 0
        for f in self.cat_fields:
            counts = df[f].value_counts()
            self.kept[f] = set(counts.index[counts >= self.min_count]) | ({MISSING} & set(counts.index))
            if self.mode == "vocab":
                tokens = sorted(self.kept[f])
                self.vocab[f] = {t: i + 1 for i, t in enumerate(tokens)}  # 0 = <rare>/unseen
                self.offsets[f] = offset
                offset += len(tokens) + 1
        if self.mode == "vocab":
            self.n_buckets = offset
        if self.num_fields:
            x = self._log(df)
            self.mean = np.nanmean(x, axis=0)
            self.std = np.nanstd(x, axis=0)
            self.std[~(self.std > 0)] = 1.0
            self.mean[np.isnan(self.mean)] = 0.0
        return self

    def _log(self, df):
        x = df[list(self.num_fields)].to_numpy(dtype=np.float64)
        return np.sign(x) * np.log1p(np.abs(x))

    def tokens(self, df: pd.DataFrame) -> pd.DataFrame:
        """Each categorical value as ``"<field>=<value>"``, rare/unseen values as ``"<field>=<rare>"``."""
        out = {}
        for f in self.cat_fields:
            values = df[f].where(df[f].isin(self.kept[f]), RARE)
            out[f] = f + "=" + values
        return pd.DataFrame(out, index=df.index)

    def transform_cat(self, df: pd.DataFrame) -> np.ndarray:
        """(N, F) int64 bucket ids."""
        cols = []
        for f in self.cat_fields:
            values = df[f].where(df[f].isin(self.kept[f]), RARE)
            if self.mode == "vocab":
                ids = values.map(self.vocab[f]).fillna(0).to_numpy(np.int64) + self.offsets[f]
            else:
                uniq, inverse = np.unique((f + "=" + values).to_numpy(dtype=str), return_inverse=True)
                ids = stable_hash(uniq.tolist(), self.n_buckets)[inverse]
            cols.append(ids)
        return np.stack(cols, axis=1) if cols else np.zeros((len(df), 0), np.int64)

    def transform_num(self, df: pd.DataFrame) -> np.ndarray | None:
        """(N, 2*D) float32: standardised ``sign*log1p|x|`` (missing -> 0) then D missing flags;
        None when the dataset has no numeric fields."""
        if not self.num_fields:
            return None
        x = self._log(df)
        missing = np.isnan(x)
        z = np.where(missing, 0.0, (x - self.mean) / self.std)
        if not self.missing_indicators:
            return z.astype(np.float32)
        return np.concatenate([z, missing.astype(np.float64)], axis=1).astype(np.float32)

    @property
    def num_names(self) -> list:
        return [*self.num_fields, *(f"{f}_missing" for f in self.num_fields if self.missing_indicators)]


@dataclass
class CTRSplit:
    cat: np.ndarray  # (N, F) int64
    num: np.ndarray | None  # (N, 2*D) float32 or None
    y: np.ndarray  # (N,) float32
    rows: np.ndarray  # row numbers in the raw file

    @property
    def inputs(self) -> tuple:
        """``(cat,)`` or ``(cat, num)``: the arguments of ``model(*inputs)``."""
        return (self.cat,) if self.num is None else (self.cat, self.num)

    def __len__(self):
        return len(self.y)


@dataclass
class CTRTask:
    name: str
    encoder: CTREncoder
    train: CTRSplit
    valid: CTRSplit
    test: CTRSplit
    split: str
    raw: pd.DataFrame = field(repr=False)

    @property
    def n_fields(self) -> int:
        return len(self.encoder.cat_fields)

    @property
    def n_numeric(self) -> int:
        return 0 if self.train.num is None else self.train.num.shape[1]

    def stats(self) -> dict:
        """Sizes, click rates, how many training tokens share a bucket, and the share of
        valid/test values that fell into a ``<rare>`` bucket (unseen or rare in train)."""
        enc = self.encoder
        tr_tokens = enc.tokens(self.raw.iloc[self.train.rows])
        distinct = pd.unique(tr_tokens.to_numpy().ravel())
        buckets = (len(np.unique(stable_hash(list(distinct), enc.n_buckets)))
                   if enc.mode == "hash" else len(distinct))
        rare_rate = {}
        for part in ("valid", "test"):
            tok = enc.tokens(self.raw.iloc[getattr(self, part).rows])
            rare_rate[part] = float(tok.apply(lambda c: c.str.endswith("=" + RARE)).to_numpy().mean())
        return {
            "rows": {p: len(getattr(self, p)) for p in ("train", "valid", "test")},
            "ctr": {p: float(getattr(self, p).y.mean()) for p in ("train", "valid", "test")},
            "fields": self.n_fields, "numeric": self.n_numeric,
            "distinct_train_tokens": int(len(distinct)), "buckets_used": int(buckets),
            "table_rows": int(enc.n_buckets),
            "tokens_sharing_a_bucket": int(len(distinct) - buckets),
            "rare_or_unseen_share": rare_rate,
        }


def split_rows(n: int, fractions=(0.8, 0.1, 0.1), split: str = "ordered", seed: int = 0):
    """Row numbers of train / valid / test: ``"ordered"`` keeps file order (train first), ``"random"``
    permutes with ``seed``."""
    if split not in ("ordered", "random"):
        raise ValueError(f"split must be 'ordered' or 'random', got {split!r}")
    if abs(sum(fractions) - 1) > 1e-9 or len(fractions) != 3:
        raise ValueError(f"fractions must be three numbers summing to 1, got {fractions}")
    order = np.arange(n) if split == "ordered" else np.random.default_rng(seed).permutation(n)
    a = int(round(fractions[0] * n))
    b = a + int(round(fractions[1] * n))
    return order[:a], order[a:b], order[b:]


def encode_task(name: str, raw: pd.DataFrame, cat_fields, num_fields=(), label: str = "label", rows=None, *,
                n_buckets: int = 2 ** 15, min_count: int = 2, mode: str = "hash", split: str = "ordered",
                fractions=(0.8, 0.1, 0.1), seed: int = 0, missing_indicators: bool = True) -> CTRTask:
    """Split a raw frame and encode it: the :class:`CTRTask` every click model trains on.

    raw: one row per impression; ``label`` a 0/1 column, ``cat_fields`` text columns (missing
    values as ``"<missing>"``), ``num_fields`` float columns (NaN = missing). ``rows``: the
    (train, valid, test) row numbers; by default :func:`split_rows` with ``fractions``, ``split``
    (``"ordered"`` or ``"random"``) and ``seed``. The :class:`CTREncoder` (``n_buckets``,
    ``min_count``, ``mode``, ``missing_indicators``) is fitted on the training rows only. A column
    missing from ``raw`` is one ``ValueError`` before any work."""
    missing = [c for c in (label, *cat_fields, *num_fields) if c not in raw.columns]
    if missing:
        raise ValueError(f"{name}: column(s) {', '.join(map(repr, missing))} not in the frame; it has "
                         f"{', '.join(map(repr, raw.columns))}")
    tr, va, te = split_rows(len(raw), fractions, split, seed) if rows is None else rows
    enc = CTREncoder(cat_fields=tuple(cat_fields), num_fields=tuple(num_fields), n_buckets=n_buckets,
                     min_count=min_count, mode=mode, missing_indicators=missing_indicators).fit(raw.iloc[tr])

    def part(idx):
        df = raw.iloc[idx]
        return CTRSplit(cat=enc.transform_cat(df), num=enc.transform_num(df),
                        y=df[label].to_numpy(np.float32), rows=np.asarray(idx))

    return CTRTask(name=name, encoder=enc, train=part(tr), valid=part(va), test=part(te),
                   split=split, raw=raw)


def ctr_task(name: str, n_buckets: int = 2 ** 15, min_count: int = 2, mode: str = "hash",
             split: str = "ordered", fractions=(0.8, 0.1, 0.1), seed: int = 0) -> CTRTask:
    """Load ``"avazu"`` or ``"criteo"``, split it and fit the encoder on the training rows."""
    if name not in DATASETS:
        raise ValueError(f"unknown CTR dataset {name!r}; choose one of {', '.join(DATASETS)}")
    loader, cat_fields, num_fields = DATASETS[name]
    return encode_task(name, loader(), cat_fields, num_fields, n_buckets=n_buckets, min_count=min_count,
                       mode=mode, split=split, fractions=fractions, seed=seed)


def load_ctr_file(path, label: str, cat_fields=None, num_fields=(), sep: str | None = None,
                  name: str | None = None, **encode) -> CTRTask:
    """Your own click log by path, split and encoded as a :class:`CTRTask` (LR / MLP / DIN).

    Format: a CSV (or TSV: a tab in the header line) with a header row, one impression a row, in
    log order. ``label``: the column of clicks, each value 0 or 1. ``num_fields``: numeric columns
    (numbers; an empty field is missing: 0 after standardising, plus a 0/1 missing flag).
    ``cat_fields``: categorical columns, any text (an empty field is the ``"<missing>"``
    category); by default every column that is neither the label nor numeric. ``encode``: the
    keywords of :func:`encode_task` (``split="ordered"`` by default: first 80% train, next 10%
    valid, last 10% test; ``n_buckets``, ``min_count``, ``mode``, ...). The file passes
    :func:`adrec.data.registry.user_file` (hash recorded; :func:`adrec.data.registry.file_identity`
    keys a row); ``name`` defaults to the file name.

    A missing or empty file, a missing column, a label other than 0/1 or a numeric value that is
    not a number is one ``DataError`` naming the file (and line), before any work (a column given
    two roles: ``ValueError``)."""
    inspect.signature(encode_task).bind(name, None, (), **encode)  # a misspelt keyword fails here, not after reading
    num_fields = tuple(num_fields)
    both = set(num_fields) & set(cat_fields or ())
    if label in num_fields or (cat_fields and label in cat_fields) or both:
        raise ValueError(f"{path}: a column cannot be two things: label {label!r}, categorical "
                         f"{list(cat_fields or [])}, numeric {list(num_fields)}")
    path, df = read_table(path, required=[label, *(cat_fields or ()), *num_fields], sep=sep)
    if cat_fields is None:
        cat_fields = tuple(c for c in df.columns if c != label and c not in num_fields)
    labels = integer_column(df, label, path)
    if not np.isin(labels, (0, 1)).all():
        row = int(np.argmax(~np.isin(labels, (0, 1))))
        raise malformed(path, f"label column {label!r} must be 0 or 1, got {df[label].iloc[row]!r}", line=row + 2)
    raw = pd.DataFrame({label: labels})
    for f in cat_fields:
        raw[f] = df[f].replace("", MISSING)
    for f in num_fields:
        text = df[f].str.strip()
        values = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        bad = values.isna().to_numpy() & (text != "").to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            raise malformed(path, f"numeric column {f!r}: {df[f].iloc[row]!r} is not a number", line=row + 2)
        raw[f] = values.to_numpy(np.float64)
    return encode_task(name or path.name, raw, tuple(cat_fields), num_fields, label=label, **encode)


ML100K_CAT = ("user", "item", "hour", "weekday", "gender", "age_decade", "occupation", "zip1",
              "release_decade")


def ml100k_ctr_task(n_buckets: int = 2 ** 15, min_count: int = 2, mode: str = "hash",
                    max_users: int | None = None, seed: int = 0, fractions=(0.8, 0.1, 0.1)) -> CTRTask:
    """Notebook 01's MovieLens-100K click task (:mod:`adrec.data.ml100k_click`: label rating >= 4,
    rows in time order, the same time split) as flat fields for LR / MLP: user and item ids, hour
    and weekday (UTC), the user's gender, age decade, occupation and first zip digit, the film's
    release decade (categorical), and its 19 genre flags (numeric columns). No behaviour history:
    that is notebook 01's subject."""
    from .histories import key_split
    from .ml100k_click import ml100k_click_frame
    from .movielens import ML100K_GENRES

    r, ml = ml100k_click_frame(max_users, seed)
    users = ml.users.set_index("user")
    items = ml.items.set_index("item")
    raw = pd.DataFrame({"label": r["label"].to_numpy(np.int64)})
    raw["user"] = r["user"].astype(str).to_numpy()
    raw["item"] = r["item"].astype(str).to_numpy()
    raw["hour"] = r["hour"].astype(str).to_numpy()
    raw["weekday"] = r["weekday"].astype(str).to_numpy()
    u = users.loc[r["user"]]
    raw["gender"] = u["gender"].astype(str).to_numpy()
    raw["age_decade"] = (u["age"] // 10 * 10).astype(str).to_numpy()
    raw["occupation"] = u["occupation"].astype(str).to_numpy()
    raw["zip1"] = u["zip"].astype(str).str[:1].to_numpy()
    it = items.loc[r["item"]]
    year = pd.to_datetime(it["release_date"], format="%d-%b-%Y", errors="coerce").dt.year
    raw["release_decade"] = np.where(year.isna(), MISSING, (year // 10 * 10).astype("Int64").astype(str))
    genres = [f"genre_{g}" for g in ML100K_GENRES]
    for g, col in zip(ML100K_GENRES, genres):
        raw[col] = it[g].to_numpy(np.float64)
    tr, va, te = (np.flatnonzero(m) for m in key_split(r["key"].to_numpy(), fractions))
    return encode_task("ml100k", raw, ML100K_CAT, genres, rows=(tr, va, te), n_buckets=n_buckets,
                       min_count=min_count, mode=mode, split="time",
                       missing_indicators=False)  # genre flags are never missing
