import numpy as np
import pytest
import scipy.sparse as sp

from adrec import textembed as te
from adrec.data.ncf import from_id_pairs
from adrec.metrics import hit_ratio_ndcg_at_k


def _model_dir():
    try:
        return te.model_dir()
    except (ImportError, FileNotFoundError) as err:
        pytest.skip(f"model files unavailable: {err}")


@pytest.fixture(scope="module")
def encoder():
    return te.load_encoder(_model_dir())


SENTENCES = ["Toy Story (1995). Genres: Animation, Children's, Comedy", "a cheap flight to Paris",
             "Noise-cancelling headphones with a forty hour battery, now twenty percent off"]


def test_embedding_matches_sentence_transformers(encoder):
    st = pytest.importorskip("sentence_transformers")
    reference = st.SentenceTransformer(str(_model_dir()), device="cpu", local_files_only=True)
    expected = reference.encode(SENTENCES, convert_to_numpy=True)
    got = te.embed(SENTENCES, encoder, batch_size=2)  # batches of unequal padding
    assert got.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_tags_by_nearest_category(encoder):
    tags = ["sports and fitness", "food and cooking", "banking and finance", "travel and holidays"]
    ads = ["Running shoes with cushioned soles for your next marathon",
           "A non-stick frying pan that makes perfect pancakes",
           "Open a savings account with no monthly fees and a high interest rate",
           "Cheap flights and beach hotels for your summer vacation"]
    assert te.nearest_tags(te.embed(ads, encoder), te.embed(tags, encoder), tags) == tags


def _toy_split(n_users=60, n_items=300, per_user=30, n_clusters=5, seed=1):
    """Item i is in cluster i % n_clusters; user u rates items of cluster u % n_clusters only."""
    rng = np.random.default_rng(seed)
    own = [np.arange(u % n_clusters, n_items, n_clusters) for u in range(n_users)]
    items = np.stack([rng.choice(o, per_user, replace=False) for o in own])
    users = np.repeat(np.arange(n_users), per_user - 1)
    return from_id_pairs(users, items[:, 1:].ravel(), np.arange(n_users), items[:, 0])


def test_cold_start_split_keeps_cold_items_out_of_training():
    split = _toy_split()
    cs = te.cold_start_split(split, cold_share=0.5, n_negatives=20, seed=3)
    assert cs.cold.sum() == 150
    assert not cs.cold[cs.train.items].any()
    # every warm training pair survives; only cold ones went
    warm = ~cs.cold[split.train.items]
    assert len(cs.train) == warm.sum()
    assert cs.cold[cs.candidates].all() and cs.candidates.shape == (len(cs.users), 21)
    rated = split.rated()
    u = np.repeat(cs.users, 21)
    hit = rated.contains(u, cs.candidates.ravel()).reshape(-1, 21)
    assert hit[:, 0].all() and not hit[:, 1:].any()  # target rated, negatives never rated
    assert len(cs.users) > 50
    assert not cs.train.contains(cs.users, cs.candidates[:, 0]).any()


def test_random_tie_break_gives_chance_and_keeps_order():
    rng = np.random.default_rng(0)
    tied = te._random_tie_break(np.zeros((4000, 21)), rng)
    hr, _ = hit_ratio_ndcg_at_k(tied, k=10)
    assert abs(hr - 10 / 21) < 0.03
    scores = rng.random((5, 7))
    np.testing.assert_array_equal(te._random_tie_break(scores, rng), np.argsort(np.argsort(scores, 1), 1))


def test_genre_popularity_by_hand():
    from adrec.graph import Interactions

    # items 0, 1 warm (counts 3, 1); item 2 cold; genres: 0 = {A}, 1 = {A, B}, 2 = {B}
    train = Interactions.from_pairs([0, 1, 2, 0], [0, 0, 0, 1], 3, 3)
    genres = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]]))
    # A: (3 + 1) / 2 warm items = 2; B: 1 / 1 warm item = 1
    np.testing.assert_allclose(te.genre_popularity(train, genres), [2.0, 1.5, 1.0])


def test_cold_start_eval_text_beats_chance_when_text_is_informative():
    split = _toy_split()
    cs = te.cold_start_split(split, cold_share=0.5, n_negatives=20, seed=3)
    # "text" that knows the clusters: a cluster's items share a direction, plus noise
    rng = np.random.default_rng(0)
    cluster = split.item_ids % 5
    emb = (np.eye(5)[cluster] + 0.3 * rng.normal(size=(split.n_items, 5))).astype(np.float32)
    genres = sp.csr_matrix(np.ones((split.n_items, 1)))
    res = te.cold_start_eval(cs, emb / np.linalg.norm(emb, axis=1, keepdims=True), genres)
    for name in ("id_only", "popularity", "genre_popularity"):
        assert res[name]["tied"] == 1.0
        assert abs(res[name]["hr@10"] - 10 / 21) < 0.2
    assert res["text"]["tied"] == 0.0 and res["n_users"] == len(cs.users)
    assert res["text"]["hr@10"] > 0.9 and res["text"]["ndcg@10"] > res["id_only"]["ndcg@10"] + 0.3
