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

# %%
import adrec.run

run = adrec.run.start("00_overview", profile=profile, seed=seed, device=device)
cfg = run.settings
