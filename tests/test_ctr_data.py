"""The Avazu and Criteo 10,000-line heads and the click-feature encoder (adrec.data.ctr)."""
import hashlib

import numpy as np
import pandas as pd
import pytest

from adrec.data import ctr
from adrec.data.ctr import MISSING, CTREncoder, ctr_task, split_rows, stable_hash


def test_avazu_head_matches_published_counts():
    df = ctr.load_avazu_head()
    assert len(df) == 9_999 and int(df.label.sum()) == 1_706  # mirror README: 9,999 rows, 1,706 clicks
    assert list(df.columns) == ["label", *ctr.AVAZU_CAT]
    assert set(df.hour_of_day) == {"0"} and set(df.weekday) == {"1"}  # 14102100 = Tue 2014-10-21, 00h


def test_criteo_head_matches_published_counts_and_keeps_missing():
    df = ctr.load_criteo_head()
    assert len(df) == 10_000 and int(df.label.sum()) == 2_182  # mirror README: 10,000 rows, 2,182 clicks
    # first line of the file: I12 empty, I13 = 2, C1 = 68fd1e64, C20 = b1252a9d, C22 empty
    assert np.isnan(df.loc[0, "I12"]) and df.loc[0, "I13"] == 2.0
    assert df.loc[0, "C1"] == "68fd1e64" and df.loc[0, "C20"] == "b1252a9d" and df.loc[0, "C22"] == MISSING
    assert (df.I2 < 0).any()  # integer features can be negative: the log transform keeps the sign


def _toy():
    train = pd.DataFrame({"label": [0, 1, 0, 1, 0], "a": ["x", "x", "y", MISSING, "z"],
                          "n": [0.0, 9.0, np.nan, -3.0, 1.0]})
    test = pd.DataFrame({"label": [0, 1, 1], "a": ["y", "w", MISSING], "n": [np.nan, 99.0, 0.0]})
    return train, test


def test_encoder_fits_on_train_only_and_folds_rare_and_unseen_values():
    train, test = _toy()
    enc = CTREncoder(cat_fields=("a",), num_fields=("n",), n_buckets=1 << 20, min_count=2).fit(train)
    assert enc.kept["a"] == {"x", MISSING}  # "x" seen twice; missing is always its own category
    got = enc.transform_cat(test)[:, 0]
    rare, miss = stable_hash(["a=<rare>", "a=<missing>"], 1 << 20)
    assert got.tolist() == [rare, rare, miss]  # "y" is rare in train, "w" unseen -> the same <rare> bucket
    want = int.from_bytes(hashlib.blake2b(b"a=<rare>", digest_size=8).digest(), "little") % (1 << 20)
    assert rare == want


def test_numeric_transform_by_hand():
    train, test = _toy()
    enc = CTREncoder(cat_fields=("a",), num_fields=("n",)).fit(train)
    logs = np.array([0.0, np.log1p(9), -np.log1p(3), np.log1p(1)])  # the NaN is left out
    mean, std = logs.mean(), logs.std()
    got = enc.transform_num(test)
    np.testing.assert_allclose(got[:, 0], [0.0, (np.log1p(99) - mean) / std, (0 - mean) / std], rtol=1e-6)
    np.testing.assert_array_equal(got[:, 1], [1.0, 0.0, 0.0])  # missing indicator
    assert enc.num_names == ["n", "n_missing"]


def test_vocab_mode_has_one_oov_id_per_field():
    train, test = _toy()
    train["b"] = ["p", "p", "q", "q", "q"]
    test["b"] = ["q", "r", "p"]
    enc = CTREncoder(cat_fields=("a", "b"), mode="vocab", min_count=2).fit(train)
    # field a: 0 = rare/unseen, then sorted kept tokens ["<missing>", "x"]; field b starts at 3
    assert enc.n_buckets == 3 + 3
    np.testing.assert_array_equal(enc.transform_cat(test), [[0, 3 + 2], [0, 3 + 0], [1, 3 + 1]])


def test_splits_ordered_and_random():
    tr, va, te = split_rows(10, (0.6, 0.2, 0.2), "ordered")
    assert tr.tolist() == list(range(6)) and va.tolist() == [6, 7] and te.tolist() == [8, 9]
    a = split_rows(1000, split="random", seed=3)
    b = split_rows(1000, split="random", seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert sorted(np.concatenate(a).tolist()) == list(range(1000)) and len(a[0]) == 800
    with pytest.raises(ValueError):
        split_rows(10, (0.5, 0.5, 0.5))


def test_criteo_task_shapes_and_no_leak_from_test():
    task = ctr_task("criteo", n_buckets=2 ** 16)
    assert task.train.cat.shape == (8000, 26) and task.train.num.shape == (8000, 26)
    assert len(task.valid) == len(task.test) == 1000 and task.n_numeric == 26
    assert task.train.cat.max() < 2 ** 16
    # standardised on train: train columns have mean 0 where present, test columns need not
    present = task.train.num[:, 13:] == 0
    for j in range(13):
        col = task.train.num[present[:, j], j]
        assert abs(col.mean()) < 1e-4
    # a C3 value that occurs only in the test rows lands in the <rare> bucket
    raw = task.raw
    train_values = set(raw.iloc[task.train.rows].C3)
    only_test = [i for i, v in zip(task.test.rows, raw.iloc[task.test.rows].C3) if v not in train_values]
    assert only_test
    rare = stable_hash(["C3=<rare>"], 2 ** 16)[0]
    pos = {r: k for k, r in enumerate(task.test.rows)}
    assert all(task.test.cat[pos[i], 2] == rare for i in only_test)
    stats = task.stats()
    assert stats["rows"] == {"train": 8000, "valid": 1000, "test": 1000}
    assert stats["tokens_sharing_a_bucket"] >= 0 and 0 < stats["rare_or_unseen_share"]["test"] < 0.5


def test_ml100k_flat_task_has_notebook_01_labels_and_time_split():
    from adrec.data.ctr import ml100k_ctr_task
    from adrec.data.ml100k_click import ml100k_click_frame

    task = ml100k_ctr_task(n_buckets=2 ** 16)
    assert {p: len(getattr(task, p)) for p in ("train", "valid", "test")} == {"train": 80_000, "valid": 10_000, "test": 10_000}
    # GroupLens README: 34,174 ratings of 4 and 21,201 of 5 among 100,000
    total = task.train.y.sum() + task.valid.y.sum() + task.test.y.sum()
    assert int(total) == 34_174 + 21_201
    r, _ = ml100k_click_frame()
    assert np.array_equal(task.train.y, r.label.to_numpy()[:80_000])  # time order, first 80 % train
    assert task.train.cat.shape == (80_000, 9) and task.train.num.shape == (80_000, 19)
    assert np.isfinite(task.train.num).all()


def _task_digest(task) -> str:
    """sha256 over every array of a task (cat, num, y, row numbers of each split) and its table size."""
    h = hashlib.sha256()
    for part in ("train", "valid", "test"):
        s = getattr(task, part)
        for a in (s.cat, s.num, s.y, s.rows):
            if a is not None:
                h.update(np.ascontiguousarray(a).tobytes())
                h.update(str(a.dtype).encode())
    h.update(str(task.encoder.n_buckets).encode())
    return h.hexdigest()


@pytest.mark.parametrize("make, digest", [
    (lambda: ctr_task("avazu"), "25a74aae48137eedef38e3e11a85ca34b48555697824f393db3355d2854104a6"),
    (lambda: ctr_task("avazu", mode="vocab", split="random", seed=3, min_count=1),
     "09960b8617b6bdd478efde987f4278c197a95eae908acd787a8d44baf0acfecd"),
    (lambda: ctr_task("criteo"), "82a8c8513da0fe5da9dbbbe172aed7ad849a8599dfeb710cb8209491b86394a7"),
])
def test_public_encode_step_leaves_the_tasks_bit_identical(make, digest):
    """Digests taken with the code before ``_encode`` became the public ``encode_task`` (commit
    8adee9e): every array of the Avazu and Criteo tasks is unchanged, bit for bit."""
    assert _task_digest(make()) == digest


def test_encode_task_on_a_frame_by_hand():
    raw = pd.DataFrame({"clicked": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0], "a": list("xxyyxxzzxw")})
    task = ctr.encode_task("toy", raw, ["a"], label="clicked", mode="vocab", min_count=2)
    assert [len(task.train), len(task.valid), len(task.test)] == [8, 1, 1]  # ordered 80/10/10
    # train values: x 4 times, y 2, z 2 -> vocab 0 = rare, then sorted x=1, y=2, z=3
    np.testing.assert_array_equal(task.train.cat[:, 0], [1, 1, 2, 2, 1, 1, 3, 3])
    assert task.valid.cat.tolist() == [[1]] and task.test.cat.tolist() == [[0]]  # "w" unseen -> rare
    np.testing.assert_array_equal(task.train.y, raw.clicked[:8].astype(np.float32))
    with pytest.raises(ValueError, match="column\\(s\\) 'label', 'b' not in the frame"):
        ctr.encode_task("toy", raw, ["b"])
