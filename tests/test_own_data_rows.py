"""Bring your own data, end to end: each study's recipe trains a row on a small generated file
through the one runner (the same call as ``python -m adrec.experiments STUDY --dataset FILE``); the
row records the file's sha256, names the file in its stem, and a changed file gives another key."""
import hashlib
import json

import numpy as np
import pytest

from adrec.experiments.runner import train_row


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def interactions_csv(path, n_users=40, n_items=30, per_user=8, seed=0):
    rng = np.random.default_rng(seed)
    lines = ["user,item,timestamp"]
    for u in range(n_users):
        for t, i in enumerate(rng.choice(n_items, per_user, replace=False)):
            lines.append(f"{100 + u},{500 + i},{t}")
    path.write_text("\n".join(lines) + "\n")
    return path


def pair_lines(path, n_users=40, n_items=30, per_user=8, seed=0):
    rng = np.random.default_rng(seed)
    path.write_text("".join(f"{u} " + " ".join(str(i) for i in rng.choice(n_items, per_user, replace=False)) + "\n"
                            for u in range(n_users)))
    return path


def walk_lines(path, n_users=50, n_items=20, length=9, seed=0):
    rng = np.random.default_rng(seed)
    path.write_text("".join(f"{u} {1 + (s + t) % n_items}\n" for u, s in enumerate(rng.integers(0, n_items, n_users))
                            for t in range(length)))
    return path


def clicks_csv(path, n_rows=600, seed=0):
    rng = np.random.default_rng(seed)
    site, device = rng.integers(0, 6, n_rows), rng.integers(0, 3, n_rows)
    label = (rng.random(n_rows) < 0.1 + 0.1 * (site < 2)).astype(int)
    path.write_text("label,site,device\n" + "".join(f"{y},s{a},d{b}\n" for y, a, b in zip(label, site, device)))
    return path


CASES = {
    "click": (clicks_csv, "lr", {}),
    "ncf": (interactions_csv, "gmf", {"n_eval_negatives": 10}),
    "lightgcn": (pair_lines, "lightgcn", {}),
    "next_item": (walk_lines, "sasrec", {"n_negatives": 10, "maxlen": 8, "dim": 16}),
}


@pytest.mark.parametrize("study", sorted(CASES))
def test_a_row_trains_on_your_own_file_and_records_it(study, tmp_path):
    write, model, overrides = CASES[study]
    data = write(tmp_path / f"mine_{study}.txt")
    row = train_row(study, model, profile="quick", dataset=str(data), epochs=1, progress=False, **overrides)
    assert row["data"] == {"name": data.name, "sha256": sha(data)}
    saved = next((tmp_path / "results").rglob(f"*mine_{study}*.json"))  # the stem names the dataset
    assert json.loads(saved.read_text())["key"] == row["key"]
    assert all(np.isfinite(v) for v in row["metrics"].values())
    assert str(data.resolve()) in row["provenance"]["datasets"]
    # another file under the same name is another row: its key differs, so nothing is resumed
    write(data, seed=1)
    other = train_row(study, model, profile="quick", dataset=str(data), epochs=1, progress=False, restart=True,
                      **overrides)
    assert other["key"] != row["key"]
