import pytest

from adrec import profiles
from adrec.env import pick_device, seed_everything
from adrec.profiles import ProfileError, resolve


def test_every_notebook_has_both_profiles_with_valid_sizes():
    for notebook, table in profiles.PROFILES.items():
        assert set(table) == set(profiles.PROFILE_NAMES), notebook
        for profile in profiles.PROFILE_NAMES:
            resolve(notebook, profile)  # raises on a non-positive size


def test_unknown_profile_is_one_clear_error():
    with pytest.raises(ProfileError, match="unknown profile 'fast'; choose one of quick, full"):
        resolve("00_overview", "fast")


def test_negative_and_zero_sizes_are_rejected_before_work():
    with pytest.raises(ProfileError, match="synthetic_users=-5 is invalid"):
        resolve("00_overview", "quick", synthetic_users=-5)
    with pytest.raises(ProfileError, match="must be > 0"):
        resolve("00_overview", "quick", synthetic_ads=0)
    with pytest.raises(ProfileError, match="whole number"):
        resolve("00_overview", "quick", synthetic_ads=2.5)


def test_override_applies_and_unknown_setting_is_refused():
    assert resolve("00_overview", "quick", synthetic_users=123)["synthetic_users"] == 123
    assert resolve("00_overview", "quick", synthetic_users=None) == resolve("00_overview", "quick")
    with pytest.raises(ProfileError, match="unknown setting 'n_userz'"):
        resolve("00_overview", "quick", n_userz=3)


def test_run_start_validates_before_any_work(tmp_path):
    import adrec.run

    with pytest.raises(ProfileError):
        adrec.run.start("00_overview", profile="huge")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        adrec.run.start("00_overview", seed=-1)


def test_device_choice():
    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")


def test_seed_everything_repeats_numpy_and_torch():
    import numpy as np
    import torch

    seed_everything(7)
    a = (np.random.rand(3), torch.rand(3))
    seed_everything(7)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_list_settings_take_a_comma_separated_string_or_an_empty_list():
    nb = "02_dot_product_scoring"
    assert resolve(nb, "full", models="mf_dot, neumf_pre")["models"] == ["mf_dot", "neumf_pre"]
    assert resolve(nb, "full", keras_models=[])["keras_models"] == []  # PyTorch only
    assert resolve(nb, "full", keras_models="")["keras_models"] == []
    assert resolve(nb, "quick")["n_seeds"] == 1 and resolve(nb, "full")["n_seeds"] == 3


def test_settings_hash_names_settings_not_their_order():
    a = profiles.settings_hash({"lr": 0.001, "dim": 64})
    assert a == profiles.settings_hash({"dim": 64, "lr": 0.001}) and len(a) == 8
    assert a != profiles.settings_hash({"lr": 0.002, "dim": 64})


def test_figures_of_a_full_run_do_not_overwrite_the_quick_ones(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from adrec.run import Run

    monkeypatch.setenv("ADREC_FIGURES_DIR", str(tmp_path))
    fig = plt.figure()
    names = [Run(notebook="smoke", profile=p, seed=0, device="cpu", settings={}, environment={}).save_figure(fig, n).name
             for p, n in (("quick", "curves"), ("full", "curves"), ("full", "curves_full"))]
    plt.close(fig)
    assert names == ["curves.png", "curves_full.png", "curves_full.png"]


@pytest.mark.parametrize("notebook, key, value, expected", [
    ("00_overview", "synthetic_users", "10", "an int"),  # an int setting: no str, list or bool
    ("00_overview", "synthetic_users", [3], "an int"),
    ("00_overview", "synthetic_users", True, "an int"),
    ("03_bce_training", "lr", "0.01", "a number"),
    ("03_bce_training", "lr", False, "a number"),
    ("03_bce_training", "hidden_sizes", 64, "a list"),
    ("03_bce_training", "hidden_sizes", [64, "32"], "a list whose items are each an int"),
    ("04_gcn_propagation", "dataset", 3, "a str"),
    ("01_user_profile_fusion", "compare_concat", 1, "a bool"),
    ("02_dot_product_scoring", "factors", "16", "a dict whose values are each an int"),
    ("02_dot_product_scoring", "factors", {"gmf": 8.5}, "a dict whose values are each an int"),
    ("04_gcn_propagation", "subgraph_users", "all", "an int"),  # a None default: None or an int
])
def test_override_of_the_wrong_type_is_one_error_naming_it(notebook, key, value, expected):
    with pytest.raises(ProfileError) as exc:
        resolve(notebook, "quick", **{key: value})
    message = str(exc.value)
    assert message.startswith(f"{notebook}: setting {key}={value!r} ({type(value).__name__}) has the wrong type")
    assert f"expected {expected}" in message


def test_overrides_of_the_right_kind_are_converted_to_the_defaults_type():
    assert resolve("00_overview", "quick", synthetic_users=300.0)["synthetic_users"] == 300
    assert resolve("03_bce_training", "quick", lr=1)["lr"] == 1.0
    assert resolve("03_bce_training", "quick", hidden_sizes=(16, 8))["hidden_sizes"] == [16, 8]
    assert resolve("02_dot_product_scoring", "quick", factors=8)["factors"] == 8  # one value for every model
    assert resolve("02_dot_product_scoring", "full", epochs={"gmf": 3.0})["epochs"] == {"gmf": 3}
    assert resolve("04_gcn_propagation", "quick", subgraph_users=500)["subgraph_users"] == 500
    with pytest.raises(ProfileError, match="subgraph_users=-1 is invalid .*must be > 0"):
        resolve("04_gcn_propagation", "quick", subgraph_users=-1)
