"""Bring your own data: one file format per model family, loaded by path through the registry's
checks (adrec.data.registry.user_file: the file's sha256 lands in files_read(), so in a row's
provenance), with one clear error naming the file and line for a malformed file.

Each family is checked on a small generated file against an independent computation (pandas /
plain loops), and — where adrec has a registered dataset in the same format — by loading the
registered file by path and getting exactly what the dataset's own loader gives."""
import hashlib

import numpy as np
import pandas as pd
import pytest

from adrec.data import ctr, fetch, files_read
from adrec.data import gowalla as gw
from adrec.data import ncf
from adrec.data import sequences as sq
from adrec.data.registry import DataError


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recorded(path) -> bool:
    return files_read().get(str(path.resolve())) == _sha(path)


# --------------------------------------------------------------------------- sequences (GRU4Rec / SASRec)


def _random_sequences(rng, n_users=40, n_items=60):
    """Sparse, shuffled file ids: user ids 1000 + 7u, item ids 10 * j + 3 (j = 0..n_items-1)."""
    user_ids = 1000 + 7 * rng.permutation(n_users)
    return {int(u): (10 * rng.integers(0, n_items, size=rng.integers(1, 12)) + 3).tolist() for u in user_ids}


def test_sequences_file_both_layouts_by_path(tmp_path):
    seqs = _random_sequences(np.random.default_rng(0))
    pairs = tmp_path / "pairs.txt"  # SASRec: one "user item" a line; here users interleaved (round robin)
    pairs.write_text("".join(f"{u} {items[p]}\n" for p in range(12) for u, items in seqs.items() if p < len(items)))
    per_line = tmp_path / "lines.txt"  # S3-Rec: one user a line, users in any order
    per_line.write_text("".join(f"{u}\t{' '.join(map(str, items))}\n" for u, items in seqs.items()))

    a = sq.load_sequences_file(pairs)
    b = sq.load_sequences_file(per_line, name="mine")
    want_users = sorted(seqs)
    want_items = sorted({i for items in seqs.values() for i in items})
    for data in (a, b):
        assert data.user_ids.tolist() == want_users and data.item_ids.tolist() == want_items
        assert data.n_users == len(seqs) and data.n_items == len(want_items)
        for u, s in zip(data.user_ids, data.sequences):
            assert s.dtype == np.int64 and s.min() >= 1
            assert data.item_ids[s - 1].tolist() == seqs[int(u)]  # file order kept, ids mapped back
    assert a.name == "pairs.txt" and b.name == "mine"
    assert _recorded(pairs) and _recorded(per_line)
    task = sq.sequence_task(a, n_negatives=5, seed=0)
    long = [u for u in want_users if len(seqs[u]) >= 3]
    assert a.user_ids[task.eval_users].tolist() == long
    assert [a.item_ids[t - 1] for t in task.test[task.eval_users]] == [seqs[u][-1] for u in long]
    assert [a.item_ids[t - 1] for t in task.valid[task.eval_users]] == [seqs[u][-2] for u in long]


@pytest.mark.parametrize("dataset, file, loader", [("amazon-games", "Video.txt", sq.load_amazon_games),
                                                   ("amazon-beauty", "Beauty.txt", sq.load_amazon_beauty)])
def test_sequences_file_reads_the_registered_files_as_their_loaders_do(dataset, file, loader):
    mine, theirs = sq.load_sequences_file(fetch(dataset, file)), loader()
    assert (mine.n_users, mine.n_items) == (theirs.n_users, theirs.n_items)
    assert all(np.array_equal(x, y) for x, y in zip(mine.sequences, theirs.sequences))
    assert mine.item_ids.tolist() == list(range(1, mine.n_items + 1))  # numbered 1..n: kept


@pytest.mark.parametrize("text, problem", [
    ("1 5\n2 6\n3 x7\n", r"line 3: 'x7' is not an integer id"),
    ("1 5\n\n2 6.5\n", r"line 3: '6.5' is not an integer id"),
    ("1,5\n", r"line 1: '1,5' is not an integer id"),
    ("1\n2\n\n", r"no \(user, item\) pair"),
    ("", r"the file is empty"),
])
def test_malformed_sequence_and_graph_files_name_file_and_line(tmp_path, text, problem):
    f = tmp_path / "bad.txt"
    f.write_text(text)
    for load in (sq.load_sequences_file, gw.load_graph_files):
        with pytest.raises(DataError, match=problem) as err:
            load(f)
        assert str(f) in str(err.value)


# --------------------------------------------------------------------------- graph (LightGCN / GCN)


def test_graph_file_split_per_user_is_seeded_and_partitions_the_pairs(tmp_path):
    rng = np.random.default_rng(2)
    users = 500 + 3 * rng.integers(0, 30, size=400)
    items = 20 * rng.integers(0, 80, size=400)
    f = tmp_path / "pairs.txt"
    f.write_text("".join(f"{u} {i}\n" for u, i in zip(users, items)))
    split = gw.load_graph_files(f, test_fraction=0.25, seed=3)
    assert split.user_ids.tolist() == sorted(set(users.tolist()))
    assert split.item_ids.tolist() == sorted(set(items.tolist()))
    assert _recorded(f) and split.name == "pairs.txt"
    back = lambda x: set(zip(split.user_ids[x.users].tolist(), split.item_ids[x.items].tolist()))  # noqa: E731
    tr, te = back(split.train), back(split.test)
    assert not tr & te and tr | te == set(zip(users.tolist(), items.tolist()))  # a partition of the unique pairs
    per_user = pd.DataFrame({"u": users, "i": items}).drop_duplicates().groupby("u").size()
    n_train = np.bincount(split.train.users, minlength=split.n_users)
    want = np.maximum(np.rint(0.75 * per_user.to_numpy()).astype(int), 1)
    np.testing.assert_array_equal(n_train, want)  # round((1 - f) n_u), at least one, per user
    again, other = gw.load_graph_files(f, test_fraction=0.25, seed=3), gw.load_graph_files(f, test_fraction=0.25, seed=4)
    assert np.array_equal(again.train.keys, split.train.keys)
    assert not np.array_equal(other.train.keys, split.train.keys)


def test_graph_files_train_and_test_in_lightgcn_format(tmp_path):
    (tmp_path / "train.txt").write_text("10 100 101 102\n11 101\n12\n")  # user 12: no train item
    (tmp_path / "test.txt").write_text("10 103\n11 100 104\n")
    split = gw.load_graph_files(tmp_path / "train.txt", tmp_path / "test.txt")
    assert split.user_ids.tolist() == [10, 11] and split.item_ids.tolist() == [100, 101, 102, 103, 104]
    assert list(zip(split.train.users.tolist(), split.train.items.tolist())) == [(0, 0), (0, 1), (0, 2), (1, 1)]
    assert list(zip(split.test.users.tolist(), split.test.items.tolist())) == [(0, 3), (1, 0), (1, 4)]
    assert _recorded(tmp_path / "train.txt") and _recorded(tmp_path / "test.txt")


def test_graph_files_read_gowalla_as_its_loader_does():
    mine, theirs = gw.load_graph_files(fetch("gowalla", "train.txt"), fetch("gowalla", "test.txt")), gw.load_gowalla()
    assert (mine.n_users, mine.n_items) == (theirs.n_users, theirs.n_items)
    assert np.array_equal(mine.train.keys, theirs.train.keys) and np.array_equal(mine.test.keys, theirs.test.keys)


# --------------------------------------------------------------------------- implicit feedback (NCF / MF)


def test_interactions_file_holds_out_each_users_latest(tmp_path):
    rng = np.random.default_rng(4)
    n = 600
    df = pd.DataFrame({"user": 9000 + rng.integers(0, 50, n), "item": 7 * rng.integers(0, 120, n),
                       "rating": rng.integers(1, 6, n), "timestamp": rng.permutation(n) + 1_600_000_000})
    f = tmp_path / "log.csv"
    df.to_csv(f, index=False)
    s = ncf.load_interactions_file(f)
    assert _recorded(f) and s.name == "log.csv"
    latest = df.sort_values("timestamp").groupby("user").tail(1).set_index("user")  # distinct times: no tie
    counts = df.groupby("user").size()
    assert s.user_ids.tolist() == sorted(counts.index[counts >= 2])
    assert s.item_ids[s.test_items].tolist() == latest.loc[s.user_ids, "item"].tolist()
    got = set(zip(s.user_ids[s.train.users].tolist(), s.item_ids[s.train.items].tolist()))
    want = set(zip(df.user, df.item)) - set(zip(latest.index, latest.item))
    assert got == {p for p in want if p[0] in set(s.user_ids.tolist())}
    # the same rows as TSV, with other column names and no timestamp column: file order is time order
    t = tmp_path / "log.tsv"
    df.sort_values("timestamp").rename(columns={"user": "uid", "item": "ad"})[["uid", "ad"]].to_csv(t, sep="\t", index=False)
    s2 = ncf.load_interactions_file(t, user="uid", item="ad")
    assert np.array_equal(s2.train.keys, s.train.keys) and np.array_equal(s2.test_items, s.test_items)


def test_interactions_file_by_hand_with_ties_and_trailing_blank_lines(tmp_path):
    f = tmp_path / "tiny.csv"
    f.write_text("user,item,timestamp\n5,10,1\n5,11,3\n5,12,3\n9,10,8\n9,13,2\n7,10,4\n5,14,0\n\n\n")
    s = ncf.load_interactions_file(f)  # the by-hand case of test_ranking's leave_one_out test, from a file
    assert s.user_ids.tolist() == [5, 9] and s.item_ids[s.test_items].tolist() == [12, 10]
    train = sorted(zip(s.user_ids[s.train.users].tolist(), s.item_ids[s.train.items].tolist()))
    assert train == [(5, 10), (5, 11), (5, 14), (9, 13)]


def test_interactions_file_reads_ml100k_as_its_loader_does(tmp_path):
    from adrec.data import load_ml100k

    f = tmp_path / "ml100k.csv"
    load_ml100k().ratings[["user", "item", "rating", "timestamp"]].to_csv(f, index=False)
    mine, theirs = ncf.load_interactions_file(f), ncf.load_ml100k_loo()
    assert np.array_equal(mine.user_ids, theirs.user_ids) and np.array_equal(mine.item_ids, theirs.item_ids)
    assert np.array_equal(mine.train.keys, theirs.train.keys) and np.array_equal(mine.test_items, theirs.test_items)


@pytest.mark.parametrize("text, kwargs, problem", [
    ("user,timestamp\n1,5\n", {}, r"line 1: missing column\(s\) 'item'; the header has 'user', 'timestamp'"),
    ("user,item\n1,5\n1,x\n", {}, r"line 3: column 'item' 'x' is not an integer"),
    ("user,item\n1,5\n1,\n", {}, r"line 3: column 'item' is empty"),
    ("user,item\n1,5\n\n1,6\n", {}, r"line 3: column 'user' is empty"),
    ("user,item,when\n1,5,3\n1,6,3.5\n", {"timestamp": "when"}, r"line 3: column 'when' '3.5' is not an integer"),
    ("user,item\n1,5\n2,6\n", {}, r"no user has two or more interactions"),
    ("user,item\n", {}, r"a header and no rows"),
    ("user,item\n\n\n", {}, r"a header and no rows"),
    ("\n\n", {}, r"only blank lines"),
    ("user,item\n1,5,9\n", {}, r"cannot be parsed"),
    ("", {}, r"the file is empty"),
])
def test_malformed_interaction_files_name_file_and_line(tmp_path, text, kwargs, problem):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(DataError, match=problem) as err:
        ncf.load_interactions_file(f, **kwargs)
    assert str(f) in str(err.value)


# --------------------------------------------------------------------------- click logs (LR / MLP / DIN)


def _same_task(a, b):
    for part in ("train", "valid", "test"):
        x, y = getattr(a, part), getattr(b, part)
        assert np.array_equal(x.cat, y.cat) and np.array_equal(x.y, y.y) and np.array_equal(x.rows, y.rows)
        assert (x.num is None and y.num is None) or np.array_equal(x.num, y.num)


@pytest.mark.parametrize("dataset, mode", [("avazu", "hash"), ("criteo", "vocab")])
def test_ctr_file_gives_the_registered_heads_task(tmp_path, dataset, mode):
    """A frame written to CSV and read back by path is encoded exactly as ctr_task encodes it."""
    loader, cat_fields, num_fields = ctr.DATASETS[dataset]
    f = tmp_path / f"{dataset}.csv"
    loader().to_csv(f, index=False)
    mine = ctr.load_ctr_file(f, label="label", num_fields=num_fields, mode=mode)
    _same_task(mine, ctr.ctr_task(dataset, mode=mode))
    assert mine.encoder.cat_fields == cat_fields  # default: every column but the label and numerics
    assert _recorded(f)


def test_ctr_file_generated_log(tmp_path):
    rng = np.random.default_rng(5)
    n = 200
    df = pd.DataFrame({"site": rng.choice(["a", "b", "c", ""], n), "click": rng.integers(0, 2, n),
                       "hour": rng.integers(0, 24, n).astype(str), "price": rng.gamma(2.0, 3.0, n).round(2)})
    df.loc[[3, 50], "price"] = np.nan
    f = tmp_path / "clicks.tsv"
    df.to_csv(f, sep="\t", index=False)
    task = ctr.load_ctr_file(f, label="click", num_fields=["price"], split="random", seed=1)
    assert task.encoder.cat_fields == ("site", "hour") and task.n_numeric == 2 and task.name == "clicks.tsv"
    assert [len(task.train), len(task.valid), len(task.test)] == [160, 20, 20]
    rows = np.concatenate([task.train.rows, task.valid.rows, task.test.rows])
    assert sorted(rows.tolist()) == list(range(n))
    np.testing.assert_array_equal(task.train.y, df.click.to_numpy()[task.train.rows])
    assert (task.raw.site == ctr.MISSING).sum() == (df.site.fillna("") == "").sum()  # empty = missing category
    flags = np.concatenate([task.train.num, task.valid.num, task.test.num])[:, 1]
    assert np.flatnonzero(flags[np.argsort(rows)]).tolist() == [3, 50]  # the missing flag of price
    assert _recorded(f)


@pytest.mark.parametrize("text, kwargs, problem", [
    ("click,site\n0,a\n2,b\n", {}, r"line 3: label column 'click' must be 0 or 1, got '2'"),
    ("click,site\n0,a\nyes,b\n", {}, r"line 3: column 'click' 'yes' is not an integer"),
    ("clicked,site\n0,a\n", {}, r"line 1: missing column\(s\) 'click'"),
    ("click,site,price\n0,a,1.5\n1,b,cheap\n", {"num_fields": ["price"]}, r"line 3: numeric column 'price': 'cheap' is not a number"),
    ("click,site\n", {}, r"a header and no rows"),
])
def test_malformed_click_logs_name_file_and_line(tmp_path, text, kwargs, problem):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(DataError, match=problem) as err:
        ctr.load_ctr_file(f, label="click", **kwargs)
    assert str(f) in str(err.value)


def test_argument_mistakes_are_refused_before_reading(tmp_path):
    never = tmp_path / "never-read.csv"  # does not exist: reading it would be a DataError
    with pytest.raises(ValueError, match="cannot be two things"):
        ctr.load_ctr_file(never, label="click", cat_fields=["a"], num_fields=["a"])
    with pytest.raises(TypeError, match="n_bucket"):
        ctr.load_ctr_file(never, label="click", n_bucket=64)


# --------------------------------------------------------------------------- loaded data meets the evaluators


def test_own_files_feed_the_evaluators_at_several_cutoffs(tmp_path):
    """Popularity on a generated log whose items are drawn with Zipf-like weights: every family's
    evaluator takes the loaded data, and popularity beats chance at each cutoff."""
    from adrec.baselines import ItemPop
    from adrec.ranking import evaluate_full_ranking, evaluate_sampled, popularity_embeddings, sample_candidates

    rng = np.random.default_rng(9)
    n_users, n_items, n = 120, 200, 4000
    weights = 1.0 / np.arange(1, n_items + 1)
    df = pd.DataFrame({"user": rng.integers(0, n_users, n), "item": 5 + rng.choice(n_items, n, p=weights / weights.sum()),
                       "timestamp": rng.permutation(n)})
    df.to_csv(tmp_path / "log.csv", index=False)
    s = ncf.load_interactions_file(tmp_path / "log.csv")
    cands = sample_candidates(s.rated(), s.test_items, n_negatives=49, seed=0)
    got = evaluate_sampled(ItemPop(s.train).score, cands, k=(1, 5, 10), mrr=True)
    for k in (1, 5, 10):
        assert got[f"hr@{k}"] > 2 * k / 50  # chance: k / 50
    assert got["mrr"] > 2 * np.mean(1 / np.arange(1, 51))

    (tmp_path / "pairs.txt").write_text("".join(f"{u} {i}\n" for u, i in zip(df.user, df.item)))
    split = gw.load_graph_files(tmp_path / "pairs.txt", seed=0)
    full = evaluate_full_ranking(*popularity_embeddings(split.train), split.train, split.test, k=(5, 20))
    assert full["recall@20"] > full["recall@5"] > 2 * 5 / split.n_items
