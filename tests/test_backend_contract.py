"""One backend contract, mirrored: ``adrec.torch_nn.train`` and ``adrec.keras_nn.train`` expose the
same public names with the same signatures (fit with a per-epoch evaluation callback, restore-best,
checkpoint/resume under a settings key, prediction, the framework tag, seeding), and the family
modules expose the same training adapters. Read from the source, so the test needs neither
framework to run and fails the day one side gains a name or an argument the other lacks."""
import ast
import inspect
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "adrec"
CONTRACT = {"fit", "predict", "checkpoint_epoch", "framework_tag", "set_seed", "CheckpointMismatch"}
# per family module: the names the recipes call through the runner, on both sides
FAMILY = {"scoring": {"build_model", "pointwise_training", "score_fn", "neumf_from_pretrained"},
          "sequence": {"GRU4Rec", "SASRec", "next_item_training", "score_fn"},
          "gcn": {"LightGCN", "bpr_training"},
          "bce": {"make_model", "click_training", "click_inputs", "LogisticRegression", "MLP"},
          "fusion": {"FusionCTR", "build_fusion", "fusion_training"}}


def public(path: Path) -> dict:
    """Top-level public functions and classes of ``path``: name -> argument list (for functions)."""
    out = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            out[node.name] = ast.unparse(node.args) if isinstance(node, ast.FunctionDef) else "class"
    return out


def test_training_surfaces_have_the_same_names_and_signatures():
    torch_side, keras_side = public(PKG / "torch_nn" / "train.py"), public(PKG / "keras_nn" / "train.py")
    assert set(torch_side) ^ set(keras_side) == set(), "a public name exists on one side only"
    assert CONTRACT <= set(torch_side)
    for name in torch_side:
        assert torch_side[name] == keras_side[name], f"{name}: torch ({torch_side[name]}) != keras ({keras_side[name]})"


@pytest.mark.parametrize("module", sorted(FAMILY))
def test_family_modules_mirror_the_adapters_the_recipes_use(module):
    torch_side, keras_side = public(PKG / "torch_nn" / f"{module}.py"), public(PKG / "keras_nn" / f"{module}.py")
    for name in FAMILY[module]:
        assert name in torch_side and name in keras_side, f"{module}.{name} is missing on one side"
        assert torch_side[name] == keras_side[name], f"{module}.{name}: {torch_side[name]} != {keras_side[name]}"


def test_the_reader_catches_a_difference(tmp_path):
    """The comparison can fail: an extra argument on one side is seen."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def fit(model, loss, data, *, epochs):\n    pass\n")
    b.write_text("def fit(model, loss, data, *, epochs, extra=1):\n    pass\n")
    assert public(a)["fit"] != public(b)["fit"]


def test_torch_signature_seen_by_python_matches_the_source():
    from adrec.torch_nn import train

    assert list(inspect.signature(train.fit).parameters)[:3] == ["model", "loss", "data"]


def test_framework_branches_stay_in_the_backend_layer():
    """Outside torch_nn/, keras_nn/ and the runner (the one place a framework name becomes code),
    at most 3 comparisons of a framework name remain in adrec/ and the notebooks."""
    import re

    pattern = re.compile(r"framework\s*[!=]=")
    found = []
    roots = [PKG, PKG.parent / "notebooks"]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(PKG.parent).as_posix()
            if rel.startswith(("adrec/torch_nn/", "adrec/keras_nn/")) or rel == "adrec/experiments/runner.py":
                continue
            found += [f"{rel}:{i}" for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert len(found) <= 3, found
