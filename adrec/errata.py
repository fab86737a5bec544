"""The errata table: one verdict for every formula, worked example and code listing of the five
documents that a notebook checks. ``00_overview`` shows the whole table.

Verdicts: ``correct`` (runs/holds as written), ``corrected`` (wrong as written; the notebook shows
the fix), ``not runnable as written`` (the listing cannot run; the notebook shows what breaks and
a runnable version). ``evidence`` says where in which notebook a reader re-runs the check.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

VERDICTS = ("correct", "corrected", "not runnable as written")


@dataclass(frozen=True)
class Erratum:
    document: str  # file name in ../shared/seeds, e.g. "002_8d09ca9544fe0b83.txt"
    section: str  # e.g. "§4.3"
    kind: str  # "formula", "worked example" or "listing"
    claim: str  # what the document says, in our own words
    truth: str  # what holds when it is computed / run
    verdict: str
    evidence: str  # notebook and cell/section where the check runs

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.kind not in ("formula", "worked example", "listing"):
            raise ValueError(f"kind must be formula, worked example or listing, got {self.kind!r}")


ERRATA: list[Erratum] = []

# --- 01_user_profile_fusion (document 000 §4.1-4.2, document 003 §4.3.1) ---

# --- 02_dot_product_scoring (document 002 §4.1-4.3, document 003 §4.3.3) ---

# --- 03_bce_training (document 004 §4.1-4.2, §5.2) ---

# --- 04_gcn_propagation (document 003 §3.2.1, §4.2.1, §5.2) ---


def table():
    """The errata as a pandas DataFrame (one row per verdict)."""
    import pandas as pd

    return pd.DataFrame([asdict(e) for e in ERRATA],
                        columns=["document", "section", "kind", "claim", "truth", "verdict", "evidence"])
