# %% [markdown]
# # 00 · Overview: what this companion is, and a first look at the data
#
# adrec makes five documents on personalized ad recommendation with large models runnable
# (`../shared/seeds/`, in Chinese): every formula computed, every worked example checked, every
# code listing run (or shown to fail, with the reason), every model family trained on public data.
# This notebook is the map. It reports the environment, checks MovieLens-100K against its
# published statistics, draws a first figure, generates the synthetic ad world and states the
# ceiling any click model can reach on it, and shows the errata table of the documents.

# %% tags=["parameters"]
profile = "quick"  # "quick": CPU, minutes; "full": paper-size, meant for a GPU
seed = 0
device = "auto"  # "auto" picks cuda, then mps, then cpu
synthetic_impressions = None  # None: the profile's size (adrec.profiles); a number overrides it

# %%
import adrec.run

run = adrec.run.start("00_overview", profile=profile, seed=seed, device=device,
                      synthetic_impressions=synthetic_impressions)
cfg = run.settings

# %% [markdown]
# The cell above printed the device this run uses and the versions of the frameworks. Sizes of
# this notebook's runs come from `adrec.profiles.PROFILES["00_overview"]`:

# %%
# NBVAL_CHECK_OUTPUT
for key, value in cfg.items():
    print(f"{key:>22}: {value:,}")

# %% [markdown]
# ## The map: which notebook runs which part of which document
#
# The five documents are in `../shared/seeds/` (cited by file name and section). Each row names
# what the notebook computes or runs; rows of later issues are listed as planned.

# %%
# NBVAL_CHECK_OUTPUT
import pandas as pd

from adrec.documents import DOCUMENTS, section_map

pd.set_option("display.width", 200, "display.max_colwidth", 80)
for name, title in DOCUMENTS.items():
    print(f"{name}: {title}")

# %%
# NBVAL_CHECK_OUTPUT
print(section_map().to_string(index=False))

# %% [markdown]
# ## Data check: MovieLens-100K through the registry
#
# `adrec.data.load_ml100k()` finds each file in the offline mirror (`$ADREC_DATA_MIRROR`), the
# cache, or at its canonical URL, and verifies its sha256 before reading it. The published
# statistics of the dataset (GroupLens README; Harper & Konstan 2015) are 943 users, 1,682 items,
# 100,000 ratings, every user with at least 20 ratings.

# %%
# NBVAL_CHECK_OUTPUT
from adrec.data import load_ml100k

ml = load_ml100k()
stats = {
    "n_users": ml.ratings.user.nunique(),
    "n_items": ml.ratings.item.nunique(),
    "n_ratings": len(ml.ratings),
    "min_ratings_per_user": int(ml.ratings.groupby("user").size().min()),
    "density": len(ml.ratings) / (ml.ratings.user.nunique() * ml.ratings.item.nunique()),
}
published = {"n_users": 943, "n_items": 1682, "n_ratings": 100_000, "min_ratings_per_user": 20}
for key, want in published.items():
    assert stats[key] == want, (key, stats[key], want)
    print(f"{key:>22}: {stats[key]:>7,}  (published {want:,})  ok")
print(f"{'density':>22}: {stats['density']:.4f}")
print("rating distribution:", ml.ratings.rating.value_counts().sort_index().to_dict())

# %% [markdown]
# ## A first figure: the long tail
#
# Recommendation data are dominated by a few popular items; that is why popularity is a strong
# baseline in notebook 02 and why sampled-negative evaluation protocols matter.

# %%
import matplotlib.pyplot as plt
import numpy as np

item_counts = np.sort(ml.ratings.item.value_counts().to_numpy())[::-1]
user_counts = np.sort(ml.ratings.user.value_counts().to_numpy())[::-1]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].loglog(np.arange(1, len(item_counts) + 1), item_counts, ".", ms=3)
axes[0].set(xlabel="item rank", ylabel="ratings", title="MovieLens-100K items")
share = item_counts.cumsum() / item_counts.sum()
axes[1].plot(np.arange(1, len(share) + 1) / len(share), share)
axes[1].set(xlabel="fraction of items (most rated first)", ylabel="fraction of ratings",
            title="concentration of ratings")
axes[1].grid(alpha=0.3)
fig.tight_layout()
top20 = share[int(0.2 * len(share)) - 1]
run.save_figure(fig, "00_ml100k_long_tail",
                caption=f"MovieLens-100K: item popularity (log-log) and its concentration; "
                        f"the 20% most-rated items hold {top20:.0%} of the ratings.")
plt.show()

# %% [markdown]
# ## The synthetic ad world and its ceiling
#
# Real logs never reveal the true click probability of an impression. The synthetic ad world does:
# users with latent interests and demographics, ads with latent attributes, a category and text
# tags, contexts (hour, device, slot) and impression → click → conversion logs drawn from a known
# position-based click model (`adrec.data.synthetic`). Scoring each impression by its true
# probability is the Bayes-optimal classifier, so its expected AUC and log-loss are the ceiling no
# model can beat on this data; notebook 01 reports each model's gap to it.

# %%
# NBVAL_CHECK_OUTPUT
from adrec.data.synthetic import make_ad_world
from adrec.metrics import log_loss, roc_auc

world = make_ad_world(n_users=cfg["synthetic_users"], n_ads=cfg["synthetic_ads"],
                      n_impressions=cfg["synthetic_impressions"], seed=seed)
log = world.log
print(f"impressions {len(log):,}, clicks {int(log.click.sum()):,} (CTR {log.click.mean():.4f}), "
      f"conversions {int(log.conversion.sum()):,}")
print(f"Bayes-optimal AUC      {world.bayes_auc:.4f}   (expected over label draws)")
print(f"Bayes-optimal log-loss {world.bayes_log_loss:.4f}")
print(f"true probabilities on this draw: AUC {roc_auc(log.click, log.p_click):.4f}, "
      f"log-loss {log_loss(log.click, log.p_click):.4f}")

# %% [markdown]
# ## Errata of the documents
#
# Every formula, worked example and code listing that a notebook checks gets one verdict in
# `adrec.errata.ERRATA`: *correct*, *corrected* or *not runnable as written*, with the evidence a
# reader can re-run.

# %%
# NBVAL_CHECK_OUTPUT
from adrec import errata

table = errata.table()
print(f"{len(table)} verdicts:", table.verdict.value_counts().to_dict())
with pd.option_context("display.max_colwidth", 200):
    for row in table.itertuples():
        print(f"- {row.document} {row.section} [{row.kind}] -> {row.verdict}\n"
              f"    says: {row.claim}\n    true: {row.truth}\n    evidence: {row.evidence}")

# %% [markdown]
# ## Record

# %%
run.record({
    "ml100k": {k: float(v) if isinstance(v, float) else int(v) for k, v in stats.items()},
    "ml100k_top20pct_share": float(top20),
    "synthetic": {"ctr": float(log.click.mean()), "bayes_auc": world.bayes_auc,
                  "bayes_log_loss": world.bayes_log_loss},
    "errata": {"n_verdicts": len(table)},
})
