"""Test-wide settings: data from the offline mirror, results and figures into a temporary folder
(a test run never rewrites committed files), one Keras backend per pytest process."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if SHARED_DATA.is_dir():
    os.environ.setdefault("ADREC_DATA_MIRROR", str(SHARED_DATA))


@pytest.fixture(autouse=True)
def _scratch_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("ADREC_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("ADREC_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("ADREC_PAPER_DIR", str(tmp_path / "paper"))


def pytest_collection_modifyitems(config, items):
    """Keras tests run in the Keras pass of `make test` only (-m keras), once per backend."""
    marker = config.getoption("-m") or ""
    if "keras" in marker:
        return
    skip = pytest.mark.skip(reason="Keras tests run in the per-backend pass: pytest -m keras")
    for item in items:
        if "keras" in item.keywords:
            item.add_marker(skip)
