"""AdvertiseGen (ADGEN, Shao et al. 2019): product attributes -> Chinese ad copy.

One row is a JSON object a line: ``content`` is an attribute string ``类型#上衣*材质#牛仔布*...``
(``key#value`` pairs joined by ``*``; a key may repeat), ``summary`` is the ad copy.

The registry holds the 1,070-row dev set (UTF-8) and the first 5,000 of the 114,599 training rows
(GBK-encoded, as in the source repository). The full train.json is distributed by the ChatGLM
authors outside GitHub: pass its path as ``path=`` (its encoding is detected: UTF-8, else GBK).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .registry import fetch

SPLIT_FILES = {"dev": ("dev.json", "utf-8"), "train": ("train_first5000.gbk.json", "gbk")}


@dataclass(frozen=True)
class AdRow:
    content: str  # the raw attribute string
    attributes: tuple  # ((key, value), ...) in the order written
    summary: str  # the ad copy


def parse_attributes(content: str) -> tuple:
    """``"类型#上衣*材质#牛仔布"`` -> ``(("类型", "上衣"), ("材质", "牛仔布"))``.

    Raises ValueError on an empty string or a pair without ``#``.
    """
    if not isinstance(content, str) or not content.strip():
        raise ValueError("empty attribute string: an ad requirement needs at least one key#value pair")
    pairs = []
    for part in content.strip().split("*"):
        if "#" not in part:
            raise ValueError(f"attribute {part!r} in {content!r} is not of the form key#value")
        key, value = part.split("#", 1)
        if not key or not value:
            raise ValueError(f"attribute {part!r} in {content!r} has an empty key or value")
        pairs.append((key, value))
    return tuple(pairs)


def _read_lines(path: Path, encoding: str | None) -> list[str]:
    raw = Path(path).read_bytes()
    if encoding is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gbk")
    else:
        text = raw.decode(encoding)
    return [line for line in text.splitlines() if line.strip()]


def load_advertisegen(split: str = "dev", path: str | Path | None = None, max_rows: int | None = None) -> list[AdRow]:
    """Rows of AdvertiseGen. ``split`` is "dev" or "train" (the registered 5,000-row head);
    ``path`` reads a user-given file instead (e.g. the full 114,599-row train.json)."""
    if path is None:
        if split not in SPLIT_FILES:
            raise ValueError(f"unknown AdvertiseGen split {split!r}; choose one of {', '.join(SPLIT_FILES)}")
        file, encoding = SPLIT_FILES[split]
        lines = _read_lines(fetch("advertisegen", file), encoding)
    else:
        if not Path(path).exists():
            raise FileNotFoundError(f"AdvertiseGen file {path} does not exist")
        lines = _read_lines(Path(path), None)
    rows = []
    for i, line in enumerate(lines[:max_rows]):
        obj = json.loads(line)
        if "content" not in obj or "summary" not in obj:
            raise ValueError(f"AdvertiseGen line {i + 1}: needs 'content' and 'summary', got keys {sorted(obj)}")
        rows.append(AdRow(obj["content"], parse_attributes(obj["content"]), obj["summary"]))
    return rows
