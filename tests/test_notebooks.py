"""The notebook contract: jupytext pairs in sync, one parameters cell with the quick defaults,
outputs committed, the first cell starts a run, the last one records it."""
import ast

import nbformat
import pytest

from adrec import notebooks, profiles

NOTEBOOKS = notebooks.notebook_paths()


def test_there_are_notebooks():
    assert any(nb.stem == "00_overview" for nb in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_in_sync(path):
    assert notebooks.drift(path) is None, notebooks.drift(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_and_run_contract(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged parameters"
    names = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign), "the parameters cell only assigns"
        names[node.targets[0].id] = ast.literal_eval(node.value)
    assert names.get("profile") == "quick" and names.get("device") == "auto"
    assert isinstance(names.get("seed"), int)
    assert path.stem in profiles.PROFILES, "sizes come from adrec.profiles"
    for name, value in names.items():
        if name not in ("profile", "seed", "device"):
            assert value is None or isinstance(value, (str, bool)), f"{name}: sizes belong in the profile table"
    assert f'adrec.run.start("{path.stem}"' in "".join(c.source for c in code)
    assert "run.record(" in code[-1].source, "the last cell records the metrics"
    assert any(c.get("outputs") for c in code), "committed with outputs (nbval's reference)"
    assert nb.metadata["kernelspec"]["name"] == "adrec"
