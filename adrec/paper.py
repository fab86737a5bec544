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
  ``{{value full/02_dot_product_scoring/rows/mf_dot_torch_seed0/hr@10}}``; ``at_epoch.E.METRIC`` reads
  the row's history at epoch E (``.../rows/lightgcn_3layers_torch_seed0/at_epoch.120.recall@20``);
* ``{{spread PROFILE/NOTEBOOK/rows/PATTERN/METRIC|.4f}}``: one metric over every row file whose stem
  matches the glob ``PATTERN`` (e.g. ``gmf_torch_seed[0-9]``), as mean ± sample standard deviation,
  the count and the range; ``{{spread .../METRIC PUBLISHED|.4f}}`` adds the mean minus a published
  value, signed;
* ``{{meandiff A B|.4f}}`` and ``{{welch A B}}``, with ``A`` and ``B`` two such ``rows/PATTERN/METRIC``
  references: the mean of A minus the mean of B (``meandiff`` also takes a published number as B),
  signed, and Welch's t of that difference with its Welch–Satterthwaite degrees of freedom
  (``t = 1.58 on 3.2 df``; it needs two rows on each side);
* ``{{ratio A B|.1f}}``: one recorded number over another (``|.2f`` by default), each any reference
  that ``value`` takes;
* ``benchmarks/FILE/KEY`` in place of ``PROFILE/NOTEBOOK/METRIC``: a number of a benchmark's output
  ``results/benchmarks/FILE.json`` (``KEY`` dotted, e.g. ``examples_per_s.keras/torch.mf_dot``; a space
  in a JSON key is written ``_`` and a list's item is its index: ``rows.s_per_batch.2``).

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

KINDS = ("value", "diff", "reldiff", "table", "provenance", "spread", "meandiff", "welch", "ratio")
PLACEHOLDER = re.compile(r"\{\{\s*(" + "|".join(KINDS) + r")\s+([^}|\s]+)(?:\s+([^}|\s]+))?(?:\|([^}]*))?\s*\}\}")
MISSING = "n/a (not run)"
BENCHMARKS = "benchmarks"  # the first part of a reference to results/benchmarks/FILE.json


def _bad(placeholder: str, want: str) -> ValueError:
    return ValueError(f"bad paper placeholder {placeholder!r}: want {want}")


def _load(results: Path, profile: str, notebook: str) -> dict | None:
    path = results / profile / notebook / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def _load_row(results: Path, profile: str, notebook: str, stem: str) -> dict | None:
    """A row file's metrics, its history by epoch under "at_epoch" (``at_epoch.120.recall@20``), and
    its provenance under "provenance" as a notebook's metrics.json has it."""
    path = results / profile / notebook / "rows" / f"{stem}.json"
    if not path.exists():
        return None
    row = json.loads(path.read_text())
    by_epoch = {str(r["epoch"]): r for r in row.get("history", []) if "epoch" in r}
    return {**row["metrics"], "at_epoch": by_epoch, "provenance": row.get("provenance", {})}


def _lookup(results: Path, ref: str, placeholder: str) -> tuple[dict | None, str | None]:
    """``(record, metric)`` of a reference: the record is a notebook's metrics.json, one row file or
    one benchmark file (None when not recorded); ``metric`` is the dotted name after it (None if absent)."""
    parts = ref.split("/", 2)
    if len(parts) < 2 or not parts[1]:
        raise _bad(placeholder, "PROFILE/NOTEBOOK[/METRIC], PROFILE/NOTEBOOK/rows/STEM[/METRIC] or benchmarks/FILE[/KEY]")
    if parts[0] == BENCHMARKS:
        path = results / BENCHMARKS / f"{parts[1]}.json"
        return (json.loads(path.read_text()) if path.exists() else None), (parts[2] if len(parts) == 3 else None)
    if len(parts) == 3 and parts[2].startswith("rows/"):
        row_ref = parts[2].split("/", 2)
        if not row_ref[1]:
            raise _bad(placeholder, "PROFILE/NOTEBOOK/rows/STEM[/METRIC]")
        return _load_row(results, parts[0], parts[1], row_ref[1]), (row_ref[2] if len(row_ref) == 3 else None)
    return _load(results, parts[0], parts[1]), (parts[2] if len(parts) == 3 else None)


def _number(results: Path, ref: str, placeholder: str):
    """The one number a reference names, or None when it is not recorded."""
    data, metric = _lookup(results, ref, placeholder)
    if metric is None:
        raise _bad(placeholder, "a reference that ends in a METRIC (or a benchmark KEY)")
    if data is None:
        return None
    data.pop("provenance", None)
    value = _walk(data, metric)
    if isinstance(value, (dict, list)):
        raise _bad(placeholder, f"a METRIC or KEY that names one number ({metric!r} holds {len(value)} items)")
    return value


def _walk(data, key: str):
    """The item of a record at a dotted ``key`` (``mf_dot.hr@10``): a space in a JSON key may be written
    ``_``, a list's item is its index (``rows.s_per_batch.0``); None where the path leads nowhere."""
    node = data
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and (part in node or part.replace("_", " ") in node):
            node = node[part] if part in node else node[part.replace("_", " ")]
        else:
            return None
    return node


def _row_values(results: Path, ref: str, placeholder: str) -> list[float]:
    """One metric of every row file whose stem matches the glob in ``PROFILE/NOTEBOOK/rows/PATTERN/METRIC``."""
    parts = ref.split("/")
    if len(parts) != 5 or parts[2] != "rows":
        raise _bad(placeholder, "PROFILE/NOTEBOOK/rows/PATTERN/METRIC")
    profile, notebook, _, pattern, metric = parts
    rows = sorted((results / profile / notebook / "rows").glob(f"{pattern}.json"))
    values = (_walk(json.loads(p.read_text())["metrics"], metric) for p in rows)
    return [v for v in values if v is not None]


def _mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    return mean, ((sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0)


def _spread(values: list[float], spec: str | None, published: str | None = None) -> str:
    """Mean ± sample sd, count and range of one metric over rows (and the mean minus ``published``)."""
    if not values:
        return MISSING
    n = len(values)
    mean, sd = _mean_sd(values)
    vs = "" if published is None else f"; mean − {published}: {_signed_diff(mean, published, spec)}"
    if n == 1:
        return f"{_fmt(mean, spec)} (1 run{vs})"
    return f"{_fmt(mean, spec)} ± {_fmt(sd, spec)} ({n} runs, {_fmt(min(values), spec)}–{_fmt(max(values), spec)}{vs})"


def _welch(a: list[float], b: list[float], spec: str | None) -> str:
    """Welch's t of mean(a) − mean(b) and its Welch–Satterthwaite degrees of freedom."""
    if len(a) < 2 or len(b) < 2:
        return MISSING
    (ma, sa), (mb, sb) = _mean_sd(a), _mean_sd(b)
    va, vb = sa ** 2 / len(a), sb ** 2 / len(b)
    t = (ma - mb) / (va + vb) ** 0.5
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return f"t = {format(t, spec or '.2f')} on {df:.1f} df"


def _signed_diff(value: float, published: str, spec: str | None) -> str:
    """``value`` minus a published number, with its sign (``|.4f`` unless ``spec`` says otherwise)."""
    return format(value - float(published), "+" + (spec or ".4f"))


def _fmt(value, spec: str | None) -> str:
    if spec:
        return format(value, spec)
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _published(arg: str | None, placeholder: str) -> str | None:
    if arg is not None and not _is_number(arg):
        raise _bad(placeholder, "a published number after the reference")
    return arg


def render(template: str, results: Path | None = None) -> str:
    results = Path(results or paths.results_dir())

    def replace(match):
        kind, ref, arg, spec = match.groups()
        placeholder = match.group(0)
        if kind in ("meandiff", "welch", "ratio") and arg is None:
            raise _bad(placeholder, f"{kind} REFERENCE_A REFERENCE_B")
        if kind == "spread":
            return _spread(_row_values(results, ref, placeholder), spec, _published(arg, placeholder))
        if kind in ("meandiff", "welch"):
            a = _row_values(results, ref, placeholder)
            if kind == "meandiff" and _is_number(arg):  # the mean minus a published number
                return MISSING if not a else _signed_diff(_mean_sd(a)[0], arg, spec)
            b = _row_values(results, arg, placeholder)
            if kind == "welch":
                return _welch(a, b, spec)
            return MISSING if not (a and b) else format(_mean_sd(a)[0] - _mean_sd(b)[0], "+" + (spec or ".4f"))
        if kind == "ratio":
            a, b = _number(results, ref, placeholder), _number(results, arg, placeholder)
            return MISSING if a is None or b is None else format(a / b, spec or ".2f")
        if kind in ("table", "provenance"):
            data, _ = _lookup(results, ref, placeholder)
            if data is None:
                return MISSING
            provenance = data.pop("provenance", {})
            if kind == "table":
                rows = ["| metric | value |", "|---|---|"] + [f"| `{k}` | {_fmt(v, spec)} |" for k, v in flatten(data).items()]
                return "\n".join(rows)
            if ref.startswith(BENCHMARKS + "/"):
                raise _bad(placeholder, "a notebook or a row (a benchmark file has no provenance line)")
            versions = provenance.get("versions", {})
            return (f"{provenance.get('profile')} profile, seed {provenance.get('seed')}, "
                    f"{provenance.get('device_name')}, torch {versions.get('torch')}, keras {versions.get('keras')} "
                    f"({provenance.get('keras_backend')}), commit {str(provenance.get('git_commit'))[:12]}, "
                    f"{provenance.get('wall_time_s')} s")
        published = _published(arg, placeholder)
        value = _number(results, ref, placeholder)  # value, diff, reldiff
        if value is None:
            return MISSING
        if kind in ("diff", "reldiff"):
            if published is None:
                raise ValueError(f"{placeholder!r}: {kind} needs a published value")
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
