"""The SASRec split and its sampled candidates on the real sequence files."""
import numpy as np
import pytest

from adrec.data import sequences as sq


@pytest.fixture(scope="module")
def games():
    return sq.load_amazon_games()


def test_games_counts_match_sasrec_paper(games):
    assert (games.n_users, games.n_items, games.n_actions) == (31_013, 23_715, 287_107)


def test_beauty_counts_match_s3rec():
    beauty = sq.load_amazon_beauty()
    assert (beauty.n_users, beauty.n_items, beauty.n_actions) == (22_363, 12_101, 198_502)


def test_split_last_is_test_second_last_is_valid(games):
    train, valid, test, users = games.split()
    lengths = np.array([len(s) for s in games.sequences])
    assert users.size == int((lengths >= 3).sum())
    u = int(users[0])
    assert test[u] == games.sequences[u][-1] and valid[u] == games.sequences[u][-2]
    np.testing.assert_array_equal(train[u], games.sequences[u][:-2])
    short = int(np.flatnonzero(lengths < 3)[0])
    assert test[short] == 0 and valid[short] == 0 and len(train[short]) == lengths[short]
    assert sum(len(t) for t in train) + 2 * users.size == games.n_actions


def test_ml100k_sequences_in_time_order():
    from adrec.data.movielens import load_ml100k

    data = sq.load_ml100k_sequences()
    assert (data.n_users, data.n_items, data.n_actions) == (943, 1682, 100_000)
    r = load_ml100k().ratings
    last = r[r.user == 1].timestamp.max()
    assert r[(r.user == 1) & (r.item == data.sequences[0][-1])].timestamp.item() == last


def test_candidates_are_never_in_history():
    task = sq.sequence_task(sq.load_ml100k_sequences(), n_negatives=100, seed=0)
    assert task.test_candidates.shape == (943, 101)
    np.testing.assert_array_equal(task.test_candidates[:, 0], task.test[task.eval_users])
    for row, u in enumerate(task.eval_users[:50]):
        seen = set(task.data.sequences[u].tolist()) | {0}
        negs = task.test_candidates[row, 1:]
        assert not seen & set(negs.tolist()) and len(set(negs.tolist())) == 100


def test_next_item_examples_shift_and_negatives():
    data = sq.load_ml100k_sequences()
    train, *_ = data.split()
    seq, pos, neg = sq.next_item_examples(train, data.rated(), 50, np.random.default_rng(0))
    np.testing.assert_array_equal(seq[0, 1:], pos[0, :-1])
    assert pos[0, -1] == train[0][-1]
    assert ((neg == 0) == (pos == 0)).all()
    rated = data.rated()
    assert not np.asarray(rated[np.repeat(np.arange(943), 50), neg.ravel()]).ravel()[pos.ravel() > 0].any()
