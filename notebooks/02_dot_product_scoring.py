# %% [markdown]
# # 02 · Scoring a user and an ad with a dot product — and with a learned similarity
#
# **What the documents say (our restatement).** Document 002 (`002_8d09ca9544fe0b83.txt`) §4.1–4.2
# builds its recommendation model from two vector representations: an embedding function maps the
# user's features to a vector, another maps the ad's features to a vector, the predicted score is
# the inner product of the two, and a noise term ε is added for what the model gets wrong. §4.3
# works an example by hand: one user, two ads, two inner products, and the ad with the larger one
# is preferred. Document 003 (`003_55ad79a3f815e32c.txt`) §4.3.3 states the recommendation rule:
# among the candidate ads, recommend the one with the highest preference score (the argmax).
# Document 001 (`001_16dc2cc26694b140.txt`) §1.1 and §1.1.2 name user-based and item-based
# collaborative filtering as the classical methods, and document 004 (`004_1b87cd4ae3e61fa1.txt`)
# §7.3 points to Neural Collaborative Filtering.
#
# **What this notebook does.**
# 1. computes the formula (`adrec.ref.scoring`), showing that an embedding of a one-hot id is a
#    row lookup;
# 2. re-runs the worked example of document 002 §4.3 as written, and corrects it;
# 3. gives the noise term a meaning that can be checked: with logistic noise, "score + ε > 0" is
#    exactly the click probability σ(score) that binary cross-entropy training fits;
# 4. applies the argmax of document 003 §4.3.3;
# 5. loads MovieLens-1M as implicit feedback with the leave-one-out protocol of NCF (He et al.,
#    WWW 2017) and reproduces the published popularity baseline;
# 6. scores the baselines: ItemPop and the documents' collaborative filtering (ItemKNN, UserKNN);
# 7. trains the dot-product two-tower model (matrix factorisation, the documents' model), GMF,
#    MLP and NeuMF (a learned MLP similarity, He et al. 2017; the full profile adds NeuMF
#    pre-trained from GMF and MLP, and averages 3 seeds) in PyTorch and Keras 3 with the same
#    objective and the same negative samples; every model and baseline is scored by one
#    vectorised evaluation (`adrec.ranking.evaluate_sampled`: HR@10 and NDCG@10 of the held-out
#    item among 100 candidates);
# 8. gathers the verdicts in the errata table.
#
# Rendle, Krichene, Zhang & Anderson (RecSys 2020) re-ran NCF's experiments and found a well-tuned
# dot product *beats* the learned similarity; the full profile of this notebook (all 6,040 users)
# is where that comparison is made at scale. The quick profile uses a user subset on CPU.

# %% tags=["parameters"]
profile = "quick"  # "quick": CPU, minutes (a user subset of ML-1M); "full": all of ML-1M, meant for a GPU
seed = 0
device = "auto"  # "auto" picks cuda, then mps, then cpu
n_users = None  # None: from the profile table
epochs = None  # None: from the profile table (a number here applies to every model)
n_seeds = None  # None: from the profile table; the seeds are seed, seed + 1, ...
models = None  # None: from the profile table; else a list or "mf_dot,neumf_pre" (PyTorch models)
keras_models = None  # None: from the profile table; [] or "" trains no Keras model (a CPU run)

# %%
import adrec.run
from adrec.ref.scoring import architecture

run = adrec.run.start("02_dot_product_scoring", profile=profile, seed=seed, device=device,
                      n_users=n_users, epochs=epochs, n_seeds=n_seeds, models=models,
                      keras_models=keras_models)
cfg = run.settings
for name in [*cfg["models"], *cfg["keras_models"]]:
    architecture(name)  # an unknown model name fails here, before any work
if "mf_dot" not in cfg["models"]:  # the argmax section and the documents' question need it
    raise ValueError(f"models={cfg['models']} must include 'mf_dot' (the documents' dot product)")

# %%
# NBVAL_CHECK_OUTPUT
for key, value in cfg.items():
    print(f"{key:>17}: {value}")

# %% [markdown]
# ## 1. The formula: score = embedding(user) · embedding(ad) + ε
#
# Document 002 §4.2 writes the score as the inner product of `embedding_user(x_user)` and
# `embedding_ad(x_ad)`. When the features are ids (the collaborative-filtering case trained
# below), `x` is a one-hot vector and the embedding is a weight matrix `W`: `x @ W` is simply the
# row of `W` for that id. Scoring every user against every ad is one matrix product.

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np

from adrec.ref import scoring as ref

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(seed)
W_user = rng.normal(size=(4, 3))  # 4 users, 3 dimensions
W_ad = rng.normal(size=(5, 3))  # 5 ads
one_hot_user = np.eye(4)[2]
assert np.allclose(one_hot_user @ W_user, W_user[2])  # embedding of a one-hot id = a row lookup
S = ref.score_matrix(W_user, W_ad)
loop = np.array([[ref.dot_score(W_user[u], W_ad[a]) for a in range(5)] for u in range(4)])
assert np.allclose(S, loop)
print("scores of 4 users x 5 ads (user vector . ad vector):")
print(S)
print("recommended ad per user (argmax of each row):", ref.recommend_argmax(S))

# %% [markdown]
# ## 2. The worked example of document 002 §4.3, as written
#
# The document gives user A the feature vector [1, 2, 3], ad 1 the vector [4, 5, 6] and ad 2 the
# vector [7, 8, 9]; it writes the scores as `embedding(x_userA) · embedding(x_ad)` but then
# multiplies the raw feature vectors, so its embedding functions are the identity. It prints 32
# for ad 1 and 46 for ad 2, and concludes that A prefers ad 2. The cell below mirrors those steps
# (the identity embedding, the two inner products, the comparison) and checks each printed number.

# %%
# NBVAL_CHECK_OUTPUT
x_user_a = [1, 2, 3]  # document 002 §4.3: user A's interest features
x_ad = {"ad 1": [4, 5, 6], "ad 2": [7, 8, 9]}  # the two ads' features
printed = {"ad 1": 32, "ad 2": 46}  # the results the document prints


def embedding(x):  # what the document's arithmetic uses: the feature vector itself
    return np.asarray(x, dtype=float)


computed = {ad: ref.dot_score(embedding(x_user_a), embedding(x)) for ad, x in x_ad.items()}
for ad in x_ad:
    terms = " + ".join(f"{a}*{b}" for a, b in zip(x_user_a, x_ad[ad]))
    try:
        assert computed[ad] == printed[ad], (
            f"{ad}: {terms} = {computed[ad]:g}, but the document prints {printed[ad]}")
        print(f"{ad}: {terms} = {computed[ad]:g}  (document: {printed[ad]})  agrees")
    except AssertionError as err:
        print(f"AssertionError: {err}")
preferred = max(printed, key=printed.get)
print(f"document's conclusion: user A prefers {preferred}")

# %% [markdown]
# **Verdict: corrected.** 1·7 + 2·8 + 3·9 = 7 + 16 + 27 = **50**, not 46; ad 1's 32 is right. The
# conclusion survives the fix (50 > 32). Two further remarks: the example announces a user B but
# never uses it, and a hand-made example cannot show that the model "effectively captures" the
# match between interests and ads — section 6 measures that on real data. The corrected example:

# %%
# NBVAL_CHECK_OUTPUT
scores_a = ref.score_matrix([x_user_a], [x_ad["ad 1"], x_ad["ad 2"]])[0]
print("corrected scores of user A:", dict(zip(x_ad, scores_a.tolist())))
best = ref.recommend_argmax(scores_a)
print(f"recommended (argmax, document 003 §4.3.3): {list(x_ad)[best]}")
assert scores_a.tolist() == [32.0, 50.0] and best == 1

# %% [markdown]
# ## 3. What the noise term ε means
#
# Document 002 §4.1–4.2 adds ε without saying what it is. One reading makes it checkable: a click
# happens when score + ε > 0. If ε follows the standard logistic distribution,
# P(click) = P(ε > −score) = σ(score), the logistic sigmoid — exactly the probability that a model
# trained with binary cross-entropy on the logit `score` outputs (that is how every model below is
# trained). With Gaussian ε it is the probit Φ(score). ε has mean zero, so the ranking of ads uses
# the score alone. The cell simulates 200,000 noise draws per score.

# %%
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(seed)
n_draws = 200_000
print(" score | simulated P(s+e>0), logistic | sigma(s) | simulated, Gaussian | Phi(s)")
for s in (-2.0, -1.0, 0.0, 0.5, 2.0):
    logistic = np.mean(ref.noisy_score([s], [1.0], rng.logistic(size=n_draws)) > 0)
    gaussian = np.mean(ref.noisy_score([s], [1.0], rng.normal(size=n_draws)) > 0)
    p_log, p_gau = ref.click_probability(s, "logistic"), ref.click_probability(s, "gaussian")
    assert abs(logistic - p_log) < 5 * np.sqrt(p_log * (1 - p_log) / n_draws)
    assert abs(gaussian - p_gau) < 5 * np.sqrt(p_gau * (1 - p_gau) / n_draws)
    print(f"{s:6.1f} | {logistic:28.3f} | {p_log:8.3f} | {gaussian:19.3f} | {p_gau:6.3f}")

# %% [markdown]
# ## 4. The argmax recommendation of document 003 §4.3.3
#
# With three candidate ads and their scores for user u1, the rule recommends the ad with the
# largest score. The formula is correct as stated; section 7 shows the one thing a system must
# add: leave out the ads the user already has.

# %%
# NBVAL_CHECK_OUTPUT
s_u1 = {"a1": 0.42, "a2": 1.37, "a3": -0.15}  # illustrative scores s(u1, a)
choice = list(s_u1)[int(ref.recommend_argmax(list(s_u1.values())))]
print(f"scores {s_u1} -> recommend {choice}")

# %% [markdown]
# ## 5. Data: MovieLens-1M as implicit feedback, leave-one-out
#
# Every rating counts as an interaction. Each user's latest interaction is held out for testing
# (`ml-1m-implicit-loo`, the split of He et al. 2017 up to users whose latest timestamps tie).
# Evaluation ranks the held-out item among itself and 99 items the user never rated, drawn once
# per user (seeded) and shared by every model: HR@10 is the share of users whose held-out item is
# in the top 10, NDCG@10 rewards it by 1/log2(rank + 2).
#
# A first check of the protocol on all 6,040 users: popularity ranking, whose published values
# (Rendle et al. 2020, Table 1) are HR@10 0.4535 and NDCG@10 0.2543.

# %%
# NBVAL_CHECK_OUTPUT
from adrec.data import ncf
from adrec.experiments import ncf as ncf_runs
from adrec.ranking import evaluate_sampled, sample_candidates

full = ncf.load_loo(cfg["dataset"])
print(full.name, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in full.stats().items()})
pop_all = None
if cfg["dataset"] == "ml-1m":
    assert (full.n_users, full.n_items, len(full.train)) == (6040, 3706, 994_169)
    cand_all = sample_candidates(full.rated(), full.test_items, cfg["n_eval_negatives"], seed=seed)
    pop_all = evaluate_sampled(ncf_runs.baseline("itempop", full.train, cfg).score, cand_all, k=cfg["k"])
    se = np.sqrt(0.4535 * (1 - 0.4535) / full.n_users)
    print(f"ItemPop, all {full.n_users:,} users: HR@10 {pop_all['hr@10']:.4f} (published 0.4535), "
          f"NDCG@10 {pop_all['ndcg@10']:.4f} (published 0.2543); standard error of HR@10 {se:.4f}")
    assert abs(pop_all["hr@10"] - 0.4535) < 3 * se and abs(pop_all["ndcg@10"] - 0.2543) < 0.015

# %%
# NBVAL_CHECK_OUTPUT
split = ncf.subset_users(full, cfg["n_users"], seed=cfg["subset_seed"])
stats = split.stats()
print(split.name)
print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in stats.items()})
candidates = sample_candidates(split.rated(), split.test_items, cfg["n_eval_negatives"], seed=seed)
print("candidates per user:", candidates.shape[1], "(held-out item first)")
hr_se = lambda p: float(np.sqrt(p * (1 - p) / split.n_users))  # noqa: E731  binomial standard error


def evaluate(score):
    return evaluate_sampled(score, candidates, k=cfg["k"])

# %% [markdown]
# ## 6. Baselines: popularity and the documents' collaborative filtering
#
# `adrec.baselines` (numpy/scipy): **ItemPop** ranks by the number of training users;
# **ItemKNN** (item-based CF) scores an item by the summed cosine similarity to the user's items,
# each item keeping its `knn_neighbours` most similar items; **UserKNN** (user-based CF) sums the
# rows of the user's most similar users. The neighbour count (`knn_neighbours`) is one common
# default, not tuned on these users; on another 1,000-user subset, values from 20 to 200 moved
# ItemKNN's HR@10 by about two points.

# %%
# NBVAL_CHECK_OUTPUT
import time

results = {}
for name in ncf_runs.BASELINES:  # built as `python -m adrec.experiments ncf --model NAME` builds them
    results[name] = evaluate(ncf_runs.baseline(name, split.train, cfg).score)
    print(f"{name:8s} HR@10 {results[name]['hr@10']:.4f}  NDCG@10 {results[name]['ndcg@10']:.4f}")

# %% [markdown]
# ## 7. Training: the dot product against learned similarities, in PyTorch and Keras
#
# The models (`adrec.ref.scoring` gives each formula in numpy; `adrec.torch_nn.scoring` and
# `adrec.keras_nn.scoring` are mirror images, checked to 1e-5 against it in `tests/test_scoring.py`):
#
# * **mf_dot** — the documents' model: user vector · item vector, plus a global, a user and an
#   item bias (the matrix factorisation Rendle et al. 2020 tune), with an L2 penalty;
# * **gmf** — NCF's generalised MF: a learned weighting h · (p_u ⊙ q_i);
# * **mlp** — NCF's MLP alone: a ReLU tower on [p_u, q_i] (3 layers, halving to `factors`);
# * **neumf** — NCF's NeuMF: GMF and the MLP tower, with their own embeddings, joined by a linear
#   output: the similarity is learned rather than fixed;
# * **neumf_pre** — NeuMF with pre-training (He et al. 2017 §3.4.1): GMF and MLP are trained
#   first (the runs' own `gmf` and `mlp` of the same seed when they have NeuMF's size), NeuMF's
#   branches start from their weights and its output layer from [α·h_GMF, (1−α)·h_MLP] (bias
#   α·b_GMF + (1−α)·b_MLP), so it starts as α·GMF + (1−α)·MLP; then NeuMF is trained, with vanilla
#   SGD in the full profile as in the paper (Adam's moments do not carry over from pre-training).
#   The parts hand over the weights of their best test-HR@10 epoch, not their last
#   (`pretrain_from="best"` in the full profile): the authors' GMF.py and MLP.py, and the PyTorch
#   reimplementation whose README quotes the published rows, save a part whenever its test HR
#   improves, and NeuMF loads those files (both loops' `fit(restore_best=...)`).
#
# Training is the NCF recipe: pointwise binary cross-entropy on every training interaction
# (label 1) plus `negatives` items the user never had (label 0), drawn afresh every epoch
# (vectorised rejection sampling, `adrec.data.ncf.sample_pointwise`), Adam. The PyTorch loop and
# the Keras loop receive the *same* negatives (`numpy.random.default_rng([seed, epoch])`); they
# differ only in their random initial weights. HR@10 is measured after every epoch.
#
# Each model is trained with `n_seeds` seeds (initial weights and negatives; the evaluation
# candidates stay those of `seed`); a row reports the mean over seeds and, with more than one
# seed, the sample standard deviation (`hr@10_std`, `ndcg@10_std`). Curves and the parity check
# below use the first seed's models.

# %%
import torch

from adrec.torch_nn import scoring as tsc

seeds = [seed + k for k in range(cfg["n_seeds"])]
# full profile on all users: each (model, seed) checkpoints every epoch under
# results/full/02_dot_product_scoring/rows, the files `python -m adrec.experiments ncf` trains: rows
# trained there (or by an interrupted run) are reused, and a finished one trains nothing more
rows_dir = ncf_runs.rows_dir(run.out_dir, seed) if profile == "full" and n_users is None else None
histories, fitted = {}, {}


def setting(key, name):
    return ncf_runs.setting(cfg, key, name)


def summarise(runs):
    """Mean over seeds of each number; with several seeds also the sample std of the metrics."""
    row = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    if len(runs) > 1:
        row.update({f"{k}_std": float(np.std([r[k] for r in runs], ddof=1)) for k in ("hr@10", "ndcg@10")})
    return row


def pretrained_neumf(build, train, from_pretrained, seed, trained):
    """NeuMF started from a GMF and an MLP of this seed (He et al. 2017 §3.4.1)."""
    parts = ncf_runs.pretrained_parts(build, train, cfg, seed, trained)
    return from_pretrained(*parts, alpha=cfg["neumf_alpha"], reg=setting("reg", "neumf_pre"))


def train_all(names, build, train, from_pretrained, framework):
    """Train every model of ``names`` with every seed; results[...] gets the summary over seeds.
    train_s is the fit loop's clock: the model's own training, epochs resumed from a checkpoint included."""
    suffix = {"torch": "", "keras": "_keras"}[framework]
    runs = {name: [] for name in names}
    for s in seeds:
        trained = {}
        for name in names:
            model = (pretrained_neumf(build, train, from_pretrained, s, trained) if name == "neumf_pre"
                     else build(name, s))
            hist = train(name, model, s)
            trained[name] = model
            runs[name].append({**ncf_runs.epoch_metrics(hist, cfg["k"]), "train_s": hist.last("wall_time_s")})
            if s == seeds[0]:
                histories[name + suffix], fitted[name + suffix] = hist, model
    for name in names:
        r = results[name + suffix] = summarise(runs[name])
        spread = f" ± {r['hr@10_std']:.4f}" if "hr@10_std" in r else ""
        print(f"{framework} {name:6s} HR@10 {r['hr@10']:.4f}{spread}  NDCG@10 {r['ndcg@10']:.4f}"
              f"  ({r['train_s']:.0f} s per seed)")


def torch_model(name, seed, factors=None):
    return ncf_runs.build(name, split, cfg, seed, factors)


def torch_train(name, model, seed):
    return ncf_runs.train(name, model, split, candidates, cfg, seed, device=run.device, rows_dir=rows_dir)


train_all(cfg["models"], torch_model, torch_train, tsc.neumf_from_pretrained, "torch")

# %%
import keras

from adrec.keras_nn import scoring as ksc


def keras_model(name, seed, factors=None):
    return ncf_runs.build(name, split, cfg, seed, factors, framework="keras")


def keras_train(name, model, seed):  # the same recipe and checkpoints as the PyTorch rows
    return ncf_runs.train(name, model, split, candidates, cfg, seed, rows_dir=rows_dir, framework="keras")


print("Keras backend:", keras.backend.backend())
train_all(cfg["keras_models"], keras_model, keras_train, ksc.neumf_from_pretrained, "keras")

# %% [markdown]
# The three implementations compute the same function: the trained PyTorch weights, copied into
# a fresh Keras model and into the numpy formula of `adrec.ref.scoring`, give the same scores on
# every evaluation pair (float32, tolerance 1e-5).

# %%
eval_users = np.repeat(np.arange(split.n_users), candidates.shape[1])
eval_items = candidates.ravel()
for name in cfg["models"]:
    weights, arch = tsc.params(fitted[name]), architecture(name)
    twin = ksc.build_model(arch, split.n_users, split.n_items, setting("factors", name), cfg["n_layers"])
    ksc.load_params(twin, weights)
    s_ref = ref.score(arch, weights, eval_users, eval_items)
    s_torch = tsc.score_fn(fitted[name], device=run.device)(eval_users, eval_items)
    s_keras = ksc.score_fn(twin)(eval_users, eval_items)
    gaps = np.abs(s_torch - s_ref).max(), np.abs(s_keras - s_ref).max()
    print(f"{name:6s} {eval_users.size:,} pairs: max |torch - numpy| {gaps[0]:.1e}, max |keras - numpy| {gaps[1]:.1e}")
    assert max(gaps) < 1e-5 * max(1.0, np.abs(s_ref).max())

# %% [markdown]
# ### Learning curves

# %%
import matplotlib.pyplot as plt

colors = {"mf_dot": "C0", "gmf": "C1", "mlp": "C4", "neumf": "C2", "neumf_pre": "C3"}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for key, hist in histories.items():
    frame = hist.frame()
    name = key.removesuffix("_keras")
    style = dict(color=colors[name], ls="--" if key.endswith("_keras") else "-", marker=".")
    label = f"{name} ({'Keras' if key.endswith('_keras') else 'PyTorch'})"
    axes[0].plot(frame.epoch, frame.train_loss, label=label, **style)
    axes[1].plot(frame.epoch, frame["hr@10"], label=label, **style)
for name, color, ls in (("itempop", "k", ":"), ("itemknn", "C5", "-."), ("userknn", "C7", "-.")):
    axes[1].axhline(results[name]["hr@10"], color=color, ls=ls, lw=1.2, label=name)
axes[0].set(xlabel="epoch", ylabel="training loss (BCE + L2)", title="training objective")
axes[1].set(xlabel="epoch", ylabel="HR@10 (held-out item among 100)", title="ranking quality")
for ax in axes:
    ax.grid(alpha=0.3)
axes[1].legend(fontsize=8, ncol=2)
fig.tight_layout()
run.save_figure(fig, "02_learning_curves",
                caption=f"{split.name}: training loss and HR@10 per epoch, PyTorch (solid) and "
                        f"Keras (dashed) with the same negatives; baselines as horizontal lines.")
plt.show()

# %% [markdown]
# ### The final table
#
# Numbers are after the last epoch (no early stopping on the test items), the mean over
# `n_seeds` seeds (with its standard deviation when there are several). In the quick profile,
# learning rate, L2 weight and epoch count were set by a short look at a *different* 1,000-user
# subset (seed 0), not at these users; the full profile uses the published settings
# (`adrec.profiles`, with a comment on each). With n users, the
# binomial standard error of an HR@10 near 0.6 is about sqrt(0.24/n) (0.015 at 1,000 users), so
# differences of one or two points between trained models on a small subset are noise; the full
# profile (6,040 users) halves that error and is compared with the published table.
#
# He et al.'s code evaluates on the test items after every epoch and prints, at the end, the
# epoch with the best test HR@10 ("best iteration"): the published NCF rows are that number, a
# choice made on the test users, so optimistic. The table shows it too (best-epoch columns) to
# compare like with like; the headline numbers stay the last epoch's.

# %%
import pandas as pd

table = pd.DataFrame([{"model": k, "HR@10": v["hr@10"], "NDCG@10": v["ndcg@10"],
                       **({"HR@10 std": v["hr@10_std"], "NDCG@10 std": v["ndcg@10_std"]} if "hr@10_std" in v else {}),
                       "best-epoch HR@10": v.get("best_hr@10", float("nan")),
                       "best-epoch NDCG@10": v.get("best_ndcg@10", float("nan")),
                       "train s": v.get("train_s", float("nan"))} for k, v in results.items()])
print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))

fig, ax = plt.subplots(figsize=(10, 3.8))
x = np.arange(len(table))
ax.bar(x - 0.2, table["HR@10"], 0.4, label="HR@10", yerr=[1.96 * hr_se(p) for p in table["HR@10"]], capsize=3)
ax.bar(x + 0.2, table["NDCG@10"], 0.4, label="NDCG@10")
if pop_all is not None and split.n_users == full.n_users:
    for value, label in ((0.7294, "MF, Rendle et al. 2020"), (0.7093, "NeuMF, Rendle et al. 2020")):
        ax.axhline(value, ls=":", color="k", lw=1)
        ax.text(len(table) - 0.5, value, label, fontsize=8, va="bottom", ha="right")
ax.set_xticks(x, table["model"], rotation=30, ha="right")
ax.set(ylabel="metric", title=f"{split.name}: final HR@10 (95% binomial interval) and NDCG@10")
ax.legend()
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
run.save_figure(fig, "02_final_table", caption="final HR@10 and NDCG@10 of every model and baseline")
plt.show()

# %% [markdown]
# Claims this run must meet (asserted, so a regression fails the notebook):
# every trained model beats popularity by more than three standard errors, and the PyTorch and
# Keras versions of each model agree within the 95% band of a two-sample difference of
# proportions (they see the same negatives; only their initial weights differ).

# %%
pop = results["itempop"]["hr@10"]
for key in [*cfg["models"], *(f"{m}_keras" for m in cfg["keras_models"])]:
    assert results[key]["hr@10"] > pop + 3 * hr_se(pop), (key, results[key]["hr@10"], pop)
for name in [m for m in cfg["models"] if m in cfg["keras_models"]]:
    a, b = results[name]["hr@10"], results[f"{name}_keras"]["hr@10"]
    band = 1.96 * np.sqrt(2) * hr_se((a + b) / 2)
    print(f"{name:6s} PyTorch {a:.4f}  Keras {b:.4f}  difference {a - b:+.4f}  (95% band ±{band:.4f})")
    assert abs(a - b) < band, (name, a, b, band)

# %% [markdown]
# ### The argmax on a trained model (document 003 §4.3.3)
#
# Taking the argmax of the trained dot-product model over *all* items mostly returns something the
# user already has — the model has learned that the user likes it. The rule must run over the
# items the user has not had yet. Among the 100 evaluation candidates, the argmax hits the
# held-out item exactly when the held-out item ranks first: the argmax hit rate is HR@1.

# %%
from adrec.metrics import hit_ratio_ndcg_at_k

p = tsc.params(fitted["mf_dot"])
all_scores = (p["user_embedding"] @ p["item_embedding"].T + p["user_bias"][:, None]
              + p["item_bias"][None, :] + p["bias"][0])
users = np.arange(split.n_users)
raw_pick = ref.recommend_argmax(all_scores)
seen_share = float(split.train.contains(users, raw_pick).mean())
masked = all_scores.copy()
masked[split.train.users, split.train.items] = -np.inf
new_pick = ref.recommend_argmax(masked)
full_hit1 = float((new_pick == split.test_items).mean())
cand_scores = all_scores[users[:, None], candidates]
argmax_hit = float((ref.recommend_argmax(cand_scores) == 0).mean())
hr1 = hit_ratio_ndcg_at_k(cand_scores, k=1)[0]  # the metric of section 5 at k = 1
print(f"argmax over all items is a training item for {seen_share:.1%} of users")
print(f"argmax over unseen items is the held-out item for {full_hit1:.1%} of users (all {split.n_items:,} items)")
print(f"argmax over the 100 candidates is the held-out item for {argmax_hit:.1%} of users; HR@1 = {hr1:.1%}")
assert seen_share > 0.5
assert abs(argmax_hit - hr1) < 1e-9

# %% [markdown]
# ## 8. Verdicts
#
# The errata rows this notebook supports (`adrec.errata`, shown in full in notebook 00):

# %%
# NBVAL_CHECK_OUTPUT
from adrec import errata

mine = errata.table()
mine = mine[mine.evidence.str.contains("02_dot_product_scoring")]
for row in mine.itertuples():
    print(f"- {row.document} {row.section} [{row.kind}] -> {row.verdict}\n"
          f"    says: {row.claim}\n    true: {row.truth}")

# %% [markdown]
# ## Record

# %%
metrics = {name: {k: float(v) for k, v in r.items()} for name, r in results.items()}
metrics["worked_example"] = {"ad1_score": float(scores_a[0]), "ad2_score": float(scores_a[1]),
                             "ad2_score_printed": 46}
if pop_all is not None:
    metrics["itempop_all_users"] = pop_all
metrics["data"] = {k: (float(v) if isinstance(v, float) else int(v)) for k, v in stats.items()}
metrics["mf_dot_argmax"] = {"seen_share": seen_share, "unseen_hit_rate": full_hit1, "hr@1": hr1}
run.record(metrics)
