"""Where the companion reads and writes: results, figures, and the data cache/mirror.

Each place can be moved with an environment variable (the tests move them into a temporary
folder so that a test run never rewrites committed results or figures).
"""
from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout that holds this package (``$ADREC_HOME`` overrides)."""
    if os.environ.get("ADREC_HOME"):
        return Path(os.environ["ADREC_HOME"]).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd().resolve()


def results_dir() -> Path:
    return Path(os.environ.get("ADREC_RESULTS_DIR") or project_root() / "results")


def figures_dir() -> Path:
    return Path(os.environ.get("ADREC_FIGURES_DIR") or project_root() / "figures")


def paper_dir() -> Path:
    """Where the rendered report is written (the template always stays in ``paper/``)."""
    return Path(os.environ.get("ADREC_PAPER_DIR") or project_root() / "paper")
