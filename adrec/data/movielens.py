"""MovieLens loaders (GroupLens; Harper & Konstan 2015)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .registry import fetch

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)


@dataclass
class MovieLens:
    ratings: pd.DataFrame  # user, item, rating, timestamp (unix seconds); ids as in the files (1-based)
    users: pd.DataFrame  # user, age, gender, occupation, zip
    items: pd.DataFrame  # item, title, release_date, genre flags (one column per genre), genres (list)


def load_ml100k() -> MovieLens:
    """MovieLens-100K: 100,000 ratings by 943 users of 1,682 movies, with user and item tables."""
    ratings = pd.read_csv(fetch("ml-100k", "u.data"), sep="\t",
                          names=["user", "item", "rating", "timestamp"], dtype="int64")
    users = pd.read_csv(fetch("ml-100k", "u.user"), sep="|",
                        names=["user", "age", "gender", "occupation", "zip"])
    genre_cols = list(ML100K_GENRES)
    items = pd.read_csv(fetch("ml-100k", "u.item"), sep="|", encoding="latin-1", header=None,
                        names=["item", "title", "release_date", "video_release_date", "url", *genre_cols])
    items = items.drop(columns=["video_release_date", "url"])
    flags = items[genre_cols].to_numpy(dtype=bool)
    items["genres"] = [[g for g, on in zip(genre_cols, row) if on] for row in flags]
    return MovieLens(ratings=ratings, users=users, items=items)


def load_ml1m_movies() -> dict[int, tuple[str, list[str]]]:
    """MovieLens-1M ``movies.dat`` (latin-1): MovieID -> (title, genres)."""
    movies = {}
    for line in Path(fetch("ml-1m", "movies.dat")).read_bytes().decode("latin-1").splitlines():
        if line.strip():
            mid, title, genres = line.split("::")
            movies[int(mid)] = (title, genres.split("|"))
    return movies
