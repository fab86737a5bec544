"""The companion report: ``paper/template.md`` filled from ``results/`` into ``paper/adrec.md``.

Placeholders in the template:

* ``{{value PROFILE/NOTEBOOK/METRIC}}`` or ``{{value PROFILE/NOTEBOOK/METRIC|.4f}}``: one recorded
  number (``METRIC`` is the dotted name, e.g. ``mf_dot.hr@10``);
* ``{{diff PROFILE/NOTEBOOK/METRIC PUBLISHED}}``: our number minus a published one, signed;
* ``{{reldiff PROFILE/NOTEBOOK/METRIC PUBLISHED}}``: the same difference relative to the published
  number, in per cent, signed (``|.1f`` by default);
* ``{{table PROFILE/NOTEBOOK}}``: every metric the notebook recorded, as a Markdown table;
* ``{{provenance PROFILE/NOTEBOOK}}``: one line of where and how the numbers were made;
* ``NOTEBOOK/rows/STEM`` in place of ``NOTEBOOK``: one trained row of a full run, read from
  ``results/PROFILE/NOTEBOOK/rows/STEM.json`` (its ``metrics`` and ``provenance``), e.g.
  ``{{value full/02_dot_product_scoring/rows/mf_dot_torch_seed0/hr@10}}``;
* ``{{spread PROFILE/NOTEBOOK/rows/PATTERN/METRIC|.4f}}``: one metric over every row file whose stem
  matches the glob ``PATTERN`` (e.g. ``gmf_torch_seed[0-9]``), as mean ± sample standard deviation,
  the count and the range; ``{{spread .../METRIC PUBLISHED|.4f}}`` adds the mean minus a published
  value, signed.

A number not yet recorded renders as ``n/a (not run)``. ``make reproduce`` re-renders the paper;
``tests/test_paper.py`` fails when the committed ``paper/adrec.md`` differs from what the committed
results render to, so the paper never shows a number the results do not hold.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from . import paths
from .run import flatten

PLACEHOLDER = re.compile(r"\{\{\s*(value|diff|reldiff|table|provenance|spread)\s+([^}|\s]+)(?:\s+([-+0-9.eE]+))?(?:\|([^}]*))?\s*\}\}")
MISSING = "n/a (not run)"


def _load(results: Path, profile: str, notebook: str) -> dict | None:
    path = results / profile / notebook / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def _load_row(results: Path, profile: str, notebook: str, stem: str) -> dict | None:
    """A row file's metrics, with its provenance under "provenance" as a notebook's metrics.json has it."""
    path = results / profile / notebook / "rows" / f"{stem}.json"
    if not path.exists():
        return None
    row = json.loads(path.read_text())
    return {**row["metrics"], "provenance": row.get("provenance", {})}


def _spread(results: Path, profile: str, notebook: str, pattern: str, metric: str, spec: str | None,
            published: str | None = None) -> str:
    """Mean ± sample sd, count and range of one metric over the row files matching ``pattern``
    (and the mean minus ``published``, when given)."""
    rows = sorted((results / profile / notebook / "rows").glob(f"{pattern}.json"))
    values = [flat[metric] for flat in (flatten(json.loads(p.read_text())["metrics"]) for p in rows) if metric in flat]
    if not values:
        return MISSING
    n = len(values)
    mean = sum(values) / n
    vs = "" if published is None else f"; mean − {published}: {_signed_diff(mean, published, spec)}"
    if n == 1:
        return f"{_fmt(mean, spec)} (1 run{vs})"
    sd = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5
    return f"{_fmt(mean, spec)} ± {_fmt(sd, spec)} ({n} runs, {_fmt(min(values), spec)}–{_fmt(max(values), spec)}{vs})"


def _signed_diff(value: float, published: str, spec: str | None) -> str:
    """``value`` minus a published number, with its sign (``|.4f`` unless ``spec`` says otherwise)."""
    return format(value - float(published), "+" + (spec or ".4f"))


def _fmt(value, spec: str | None) -> str:
    if spec:
        return format(value, spec)
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def render(template: str, results: Path | None = None) -> str:
    results = Path(results or paths.results_dir())

    def replace(match):
        kind, ref, published, spec = match.groups()
        parts = ref.split("/", 2)
        if len(parts) < 2:
            raise ValueError(f"bad paper placeholder {match.group(0)!r}: want PROFILE/NOTEBOOK[/METRIC]")
        if kind == "spread":
            row_ref = parts[2].split("/") if len(parts) == 3 else []
            if len(row_ref) != 3 or row_ref[0] != "rows":
                raise ValueError(f"bad paper placeholder {match.group(0)!r}: want PROFILE/NOTEBOOK/rows/PATTERN/METRIC")
            return _spread(results, parts[0], parts[1], row_ref[1], row_ref[2], spec, published)
        if len(parts) == 3 and parts[2].startswith("rows/"):  # PROFILE/NOTEBOOK/rows/STEM[/METRIC]
            row_ref = parts[2].split("/", 2)
            if len(row_ref) < 2 or not row_ref[1]:
                raise ValueError(f"bad paper placeholder {match.group(0)!r}: want PROFILE/NOTEBOOK/rows/STEM[/METRIC]")
            data = _load_row(results, parts[0], parts[1], row_ref[1])
            parts = parts[:2] + row_ref[2:]
        else:
            data = _load(results, parts[0], parts[1])
        if data is None:
            return MISSING
        provenance = data.pop("provenance", {})
        flat = flatten(data)
        if kind == "table":
            rows = ["| metric | value |", "|---|---|"] + [f"| `{k}` | {_fmt(v, spec)} |" for k, v in flat.items()]
            return "\n".join(rows)
        if kind == "provenance":
            versions = provenance.get("versions", {})
            return (f"{provenance.get('profile')} profile, seed {provenance.get('seed')}, "
                    f"{provenance.get('device_name')}, torch {versions.get('torch')}, keras {versions.get('keras')} "
                    f"({provenance.get('keras_backend')}), commit {str(provenance.get('git_commit'))[:12]}, "
                    f"{provenance.get('wall_time_s')} s")
        if len(parts) != 3:
            raise ValueError(f"bad paper placeholder {match.group(0)!r}: want PROFILE/NOTEBOOK/METRIC")
        if parts[2] not in flat:
            return MISSING
        value = flat[parts[2]]
        if kind in ("diff", "reldiff"):
            if published is None:
                raise ValueError(f"{match.group(0)!r}: {kind} needs a published value")
            if kind == "reldiff":
                return format(100 * (value / float(published) - 1), "+" + (spec or ".1f")) + " %"
            return _signed_diff(value, published, spec)
        return _fmt(value, spec)

    return PLACEHOLDER.sub(replace, template)


def paper_paths() -> tuple[Path, Path]:
    return paths.project_root() / "paper" / "template.md", paths.paper_dir() / "adrec.md"


def write(results: Path | None = None) -> str | None:
    """Render the paper; write it only when it changed. Returns the path written, or None."""
    template, target = paper_paths()
    text = render(template.read_text(encoding="utf-8"), results)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return None
    target.write_text(text, encoding="utf-8")
    return str(target)
