r"""The synthetic ad world: a seeded, download-free dataset drawn from a KNOWN click model.

:func:`make_ad_world` draws users, ads, contexts and a time-ordered behaviour log
(impression -> click -> conversion). Because every true parameter is kept, the true click
probability of every impression is known, and so is the best any model can do on the log: the
Bayes AUC and the Bayes log-loss (:func:`bayes_auc`, :func:`bayes_log_loss`).

Generative model
----------------
Sizes: ``U`` users, ``A`` ads, ``N`` impressions, latent dimension ``d``, ``C = 10`` categories
(:data:`CATEGORIES`), ``K`` slots (positions ``1..K``), ``n_days`` days. ``N(0, I)`` is a standard
normal vector; every draw comes from ``numpy.random.default_rng(seed)`` (through four spawned
streams: parameters, users, ads, log), so the same seed with more impressions keeps the same users,
ads and parameters.

Users (demographics correlated with interests)::

    age group g_u ~ Categorical(AGE_PROBS) over AGE_GROUPS,  gender s_u ~ Categorical(1/2, 1/2)
    u_u = sqrt(rho_user) * m[g_u, s_u] + sqrt(1 - rho_user) * eps_u,    m[., .], eps_u ~ N(0, I_d)
    activity  act_u ~ LogNormal(0, activity_sigma^2)      (share of impressions proportional to act_u)
    primary device  dev*_u ~ Categorical(DEVICE_PROBS)

Ads (latent attributes correlated with the category)::

    category c_a ~ Categorical(pi),   pi ~ Dirichlet(5, ..., 5)
    v_a = (sqrt(rho_ad) * z[c_a] + sqrt(1 - rho_ad) * eps_a) / sqrt(d),    z[.], eps_a ~ N(0, I_d)
    popularity  pop_a ~ LogNormal(0, popularity_sigma^2)

so ``<u, v>`` has mean 0 and variance about 1 whatever ``d``. Tags: 3-5 distinct words of the
category's vocabulary (:data:`TAG_VOCAB`, 10 words each), drawn without replacement with weights
``exp(tag_temp * <v_a, r_w>)`` (word vectors ``r_w ~ N(0, I_d)``, so tags carry information about
``v_a`` beyond the category), plus with probability 0.3 one generic word (:data:`GENERIC_TAGS`).

Impressions (non-uniform logs)::

    user      u ~ Categorical(act / sum(act))
    ad        n_candidates candidates ~ Categorical(pop / sum(pop)) (with replacement), then
              a = the candidate j maximising  select_temp * <u_u, v_j> + Gumbel noise
              (i.e. P(a | candidates) proportional to exp(select_temp * <u_u, v_a>): popularity x interest)
    time      day ~ Uniform{0..n_days-1}, hour h ~ Categorical(HOUR_PROFILE), second ~ Uniform{0..3599}
              t = T0 + 86400 day + 3600 h + second   (unix seconds, T0 = 2024-01-01 00:00 UTC)
    device    dev*_u with probability device_stickiness, else ~ Categorical(DEVICE_PROBS)
    slot      k ~ Uniform{1..K}

The log is sorted by ``t`` (non-decreasing; equal seconds may repeat) and ``hour == (t // 3600) % 24``.

Click model (position-based model, PBM)::

    P(click | u, a, h, dev, k) = e_k * sigmoid(b0 + scale * <u_u, v_a> + H[h, c_a] + D[dev] + G[g_u, c_a])
    e_k      = k ** (-position_eta)                        examination probability, e_1 = 1
    H[h, c]  = amp_c * cos(2 pi (h - peak_c) / 24),        amp_c ~ U(0.1, hour_amp), peak_c ~ U(0, 24)
    D[dev]   = DEVICE_EFFECT[dev]                          (mobile, desktop, tablet) = (0, 0.25, -0.2)
    G[g, c]  ~ N(0, demo_std^2)                            age group x category affinity

Conversion (only after a click; ``p_conversion`` is the post-click rate, pCVR)::

    P(conv | click, u, a, dev) = sigmoid(c0 + <u_u, w> + Q[c_a] + R[dev]),   w ~ N(0, I_d / d),
    Q[c] ~ N(0, 0.3^2),  R = CONV_DEVICE_EFFECT[dev] = (-0.2, 0.2, 0)
    conversion = click * Bernoulli(p_conversion)   so  P(conv | impression) = p_click * p_conversion.

Bayes ceilings
--------------
With clicks ``y_i ~ Bernoulli(p_i)`` independently, the scorer ``s = p`` is Bayes-optimal. Its
expected AUC over the log rows is computed exactly, without sampling, by treating each row as a
positive with weight ``p_i`` and as a negative with weight ``1 - p_i``::

    AUC(s; p) = sum_{i,j} p_i (1 - p_j) [1(s_i > s_j) + 1/2 1(s_i = s_j)] / (sum_i p_i * sum_j (1 - p_j))

(the population AUC of the log's empirical feature distribution; the empirical AUC of a sampled
log differs from it by sampling noise of order 1/sqrt(#clicks) and a bias of order 1/N). It is
computed in O(N log N) by sorting the unique scores with cumulative weights. The Bayes log-loss is
the mean binary entropy ``mean(-p ln p - (1 - p) ln(1 - p))`` (natural log, like
:func:`adrec.metrics.log_loss`): the expected log-loss of the true probabilities.

Defaults give, at the quick size (2,000 users, 200 ads, 50,000 impressions), a CTR of about 6 %
(5-7 % over seeds), a post-click conversion rate of about 20 % and a Bayes AUC of about 0.81-0.82:
room for a model to learn, clearly below 1. Of that, position alone reaches about 0.64 and the
whole logit without position about 0.79-0.80 (``bayes_auc(p, scores=...)`` gives such numbers).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CATEGORIES = ("auto", "beauty", "electronics", "fashion", "finance",
              "food", "games", "health", "home", "travel")
TAG_VOCAB = {
    "auto": ("car", "suv", "sedan", "tires", "engine", "dealer", "lease", "hybrid", "truck", "motorbike"),
    "beauty": ("skincare", "makeup", "lipstick", "serum", "fragrance", "salon", "haircare", "nails",
               "mascara", "spa"),
    "electronics": ("laptop", "smartphone", "headphones", "camera", "monitor", "smartwatch", "television",
                    "speaker", "charger", "drone"),
    "fashion": ("dress", "sneakers", "jacket", "jeans", "handbag", "boots", "sunglasses", "shirt",
                "jewelry", "denim"),
    "finance": ("loan", "mortgage", "creditcard", "savings", "investing", "insurance", "banking",
                "crypto", "budget", "tax"),
    "food": ("pizza", "burger", "sushi", "delivery", "recipe", "coffee", "vegan", "snacks", "grocery",
             "bakery"),
    "games": ("rpg", "shooter", "puzzle", "strategy", "multiplayer", "esports", "arcade", "mmo",
              "console", "indie"),
    "health": ("fitness", "vitamins", "yoga", "gym", "nutrition", "wellness", "sleep", "running",
               "protein", "meditation"),
    "home": ("furniture", "sofa", "kitchen", "garden", "decor", "mattress", "lighting", "rug",
             "cookware", "appliances"),
    "travel": ("flights", "hotel", "beach", "cruise", "resort", "vacation", "backpacking", "airline",
               "citybreak", "carrental"),
}
GENERIC_TAGS = ("sale", "new", "free", "deal", "premium", "limited", "offer", "discount", "best", "exclusive")
AGE_GROUPS = ("18-24", "25-34", "35-44", "45-54", "55+")
AGE_PROBS = (0.18, 0.30, 0.24, 0.16, 0.12)
GENDERS = ("F", "M")
DEVICES = ("mobile", "desktop", "tablet")
DEVICE_PROBS = (0.6, 0.3, 0.1)
DEVICE_EFFECT = (0.0, 0.25, -0.2)
CONV_DEVICE_EFFECT = (-0.2, 0.2, 0.0)
T0 = 1_704_067_200  # 2024-01-01 00:00:00 UTC


def _hour_profile() -> np.ndarray:
    """Share of impressions per hour of day: quiet at night, a lunch bump and an evening peak."""
    h = np.arange(24.0)

    def bump(centre, width):
        dist = np.minimum(np.abs(h - centre), 24 - np.abs(h - centre))  # circular distance
        return np.exp(-0.5 * (dist / width) ** 2)

    w = 0.15 + 0.6 * bump(12.5, 2.0) + 1.0 * bump(20.5, 2.5) + 0.3 * bump(8.0, 1.5)
    return w / w.sum()


_CHUNK = 1 << 16  # rows per block in the vectorised loops (bounded memory at millions of rows)


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def _rowdot(a, ia, b, ib):
    """sum_k a[ia, k] * b[ib, k], in blocks of rows."""
    out = np.empty(len(ia), dtype=np.float64)
    for s in range(0, len(ia), _CHUNK):
        out[s:s + _CHUNK] = np.einsum("nd,nd->n", a[ia[s:s + _CHUNK]], b[ib[s:s + _CHUNK]])
    return out


# ----------------------------------------------------------------------------------------------
# Bayes ceilings


def _prob_vector(p, name="p"):
    p = np.asarray(p, dtype=np.float64).ravel()
    if p.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return p


def bayes_auc(p, scores=None) -> float:
    """Exact expected AUC against labels ``y_i ~ Bernoulli(p_i)``, ties counted half.

    Rows count as positives with weight ``p_i`` and as negatives with weight ``1 - p_i``;
    ``scores`` defaults to ``p`` itself (the Bayes-optimal scorer, hence the name). Passing other
    scores gives the expected AUC of any scorer under the same true probabilities. O(n log n).
    """
    p = _prob_vector(p)
    s = p if scores is None else np.asarray(scores, dtype=np.float64).ravel()
    if s.shape != p.shape:
        raise ValueError(f"scores {s.shape} and p {p.shape} differ in shape")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    _, inv = np.unique(s, return_inverse=True)
    w_pos = np.bincount(inv, weights=p)
    w_neg = np.bincount(inv, weights=1.0 - p)
    total_pos, total_neg = w_pos.sum(), w_neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        raise ValueError("AUC is undefined when every p is 0 or every p is 1")
    neg_below = np.cumsum(w_neg) - w_neg  # negative weight at strictly lower scores
    return float(np.sum(w_pos * (neg_below + 0.5 * w_neg)) / (total_pos * total_neg))


def bayes_log_loss(p) -> float:
    """Mean binary entropy ``mean(-p ln p - (1-p) ln(1-p))`` (nats; 0 ln 0 = 0): the expected
    log-loss of the true probabilities against ``y ~ Bernoulli(p)``."""
    p = _prob_vector(p)
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0) - np.where(q > 0, q * np.log(q), 0.0)
    return float(h.mean())


# ----------------------------------------------------------------------------------------------
# The world


@dataclass(repr=False)
class AdWorld:
    """A generated ad world; see the module docstring for the model behind every column."""

    users: pd.DataFrame  # user_id, age_group, gender
    user_latent: np.ndarray  # (n_users, dim)
    ads: pd.DataFrame  # ad_id, category, tags
    ad_latent: np.ndarray  # (n_ads, dim)
    log: pd.DataFrame  # t, user_id, ad_id, hour, device, slot, p_click, click, p_conversion, conversion
    params: dict  # every true parameter (see make_ad_world)
    bayes_auc: float = field(default=float("nan"))
    bayes_log_loss: float = field(default=float("nan"))

    def __repr__(self) -> str:
        return (f"AdWorld(users={len(self.users)}, ads={len(self.ads)}, impressions={len(self.log)}, "
                f"dim={self.user_latent.shape[1]}, ctr={self.log['click'].mean():.4f}, "
                f"bayes_auc={self.bayes_auc:.4f}, bayes_log_loss={self.bayes_log_loss:.4f})")

    # -- helpers -------------------------------------------------------------------------------
    def _ids(self, values, n, name):
        v = np.asarray(values)
        if v.dtype.kind not in "iu":
            raise ValueError(f"{name} must be integers")
        if v.size and (v.min() < 0 or v.max() >= n):
            raise ValueError(f"{name} out of range 0..{n - 1}")
        return v.astype(np.int64)

    def _devices(self, device):
        d = np.asarray(device)
        if d.dtype.kind in "iu":
            codes = d.astype(np.int64)
            if codes.size and (codes.min() < 0 or codes.max() >= len(DEVICES)):
                raise ValueError(f"device codes must be in 0..{len(DEVICES) - 1}")
            return codes
        uniq, inv = np.unique(d.astype(str), return_inverse=True)
        unknown = sorted(set(uniq.tolist()) - set(DEVICES))
        if unknown:
            raise ValueError(f"unknown device(s) {unknown}; known: {', '.join(DEVICES)}")
        lookup = np.array([DEVICES.index(x) for x in uniq], dtype=np.int64)
        return lookup[inv].reshape(d.shape)

    # -- true probabilities ----------------------------------------------------------------------
    def true_click_prob(self, user_id, ad_id, hour, device, slot) -> np.ndarray:
        """P(click) of each impression recomputed from ``params`` (vectorised, broadcasting).

        ``device`` holds names (``"mobile"``...) or codes (index in :data:`DEVICES`); ``slot`` is 1-based.
        """
        P = self.params
        u, a, h, d, k = np.broadcast_arrays(np.asarray(user_id), np.asarray(ad_id), np.asarray(hour),
                                            np.asarray(device), np.asarray(slot))
        shape = u.shape
        u = self._ids(u, len(self.users), "user_id").ravel()
        a = self._ids(a, len(self.ads), "ad_id").ravel()
        h = self._ids(h, 24, "hour").ravel()
        k = np.asarray(k).ravel()
        if k.dtype.kind not in "iu" or (k.size and (k.min() < 1 or k.max() > P["n_slots"])):
            raise ValueError(f"slot must hold integers in 1..{P['n_slots']}")
        k = k.astype(np.int64)
        d = self._devices(d).ravel()
        cat = P["ad_category"][a]
        logit = (P["b0"] + P["scale"] * _rowdot(self.user_latent, u, self.ad_latent, a)
                 + P["hour_category"][h, cat] + P["device_effect"][d]
                 + P["demo_category"][P["user_age"][u], cat])
        return (P["examine"][k - 1] * _sigmoid(logit)).reshape(shape)

    def true_conversion_prob(self, user_id, ad_id, device) -> np.ndarray:
        """P(conversion | click) recomputed from ``params`` (vectorised, broadcasting)."""
        P = self.params
        u, a, d = np.broadcast_arrays(np.asarray(user_id), np.asarray(ad_id), np.asarray(device))
        shape = u.shape
        u = self._ids(u, len(self.users), "user_id").ravel()
        a = self._ids(a, len(self.ads), "ad_id").ravel()
        d = self._devices(d).ravel()
        logit = (P["conv_c0"] + (self.user_latent[u] @ P["conv_w"] if u.size else 0.0)
                 + P["conv_category"][P["ad_category"][a]] + P["conv_device"][d])
        return _sigmoid(np.asarray(logit, dtype=np.float64)).reshape(shape)


def _check_size(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_real(name, value, low=None, high=None, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return float(value)


def make_ad_world(*, n_users: int = 2_000, n_ads: int = 200, n_impressions: int = 50_000, dim: int = 8,
                  seed=0, n_slots: int = 5, n_days: int = 14, b0: float = -3.5, scale: float = 1.3,
                  position_eta: float = 0.8, hour_amp: float = 0.5, demo_std: float = 0.4,
                  rho_user: float = 0.3, rho_ad: float = 0.5, activity_sigma: float = 1.0,
                  popularity_sigma: float = 1.0, n_candidates: int = 8, select_temp: float = 1.0,
                  device_stickiness: float = 0.8, tag_temp: float = 1.5, conv_c0: float = -2.0) -> AdWorld:
    """Draw a synthetic ad world (see the module docstring for every formula).

    Sizes must be positive integers (``ValueError`` otherwise, before any work). Everything is
    drawn from ``numpy.random.default_rng(seed)``: the same arguments give identical worlds.
    """
    n_users = _check_size("n_users", n_users)
    n_ads = _check_size("n_ads", n_ads)
    n_impressions = _check_size("n_impressions", n_impressions)
    dim = _check_size("dim", dim)
    n_slots = _check_size("n_slots", n_slots)
    n_days = _check_size("n_days", n_days)
    n_candidates = _check_size("n_candidates", n_candidates)
    b0 = _check_real("b0", b0)
    scale = _check_real("scale", scale)
    position_eta = _check_real("position_eta", position_eta, low=0)
    hour_amp = _check_real("hour_amp", hour_amp, low=0.1)
    demo_std = _check_real("demo_std", demo_std, low=0)
    rho_user = _check_real("rho_user", rho_user, low=0, high=1)
    rho_ad = _check_real("rho_ad", rho_ad, low=0, high=1)
    activity_sigma = _check_real("activity_sigma", activity_sigma, low=0)
    popularity_sigma = _check_real("popularity_sigma", popularity_sigma, low=0)
    select_temp = _check_real("select_temp", select_temp)
    device_stickiness = _check_real("device_stickiness", device_stickiness, low=0, high=1)
    tag_temp = _check_real("tag_temp", tag_temp)
    conv_c0 = _check_real("conv_c0", conv_c0)

    rng_par, rng_usr, rng_ad, rng_log = np.random.default_rng(seed).spawn(4)
    n_cat, n_age = len(CATEGORIES), len(AGE_GROUPS)

    # -- true parameters ---------------------------------------------------------------------
    group_mean = rng_par.standard_normal((n_age, len(GENDERS), dim))  # m[g, s]
    category_mean = rng_par.standard_normal((n_cat, dim))  # z[c]
    category_probs = rng_par.dirichlet(np.full(n_cat, 5.0))
    word_vectors = rng_par.standard_normal((n_cat, len(TAG_VOCAB[CATEGORIES[0]]), dim))
    amp = rng_par.uniform(0.1, hour_amp, n_cat)
    peak = rng_par.uniform(0.0, 24.0, n_cat)
    hour_category = amp[None, :] * np.cos(2 * np.pi * (np.arange(24)[:, None] - peak[None, :]) / 24)
    demo_category = rng_par.normal(0.0, demo_std, (n_age, n_cat))
    conv_w = rng_par.standard_normal(dim) / np.sqrt(dim)
    conv_category = rng_par.normal(0.0, 0.3, n_cat)
    examine = np.arange(1, n_slots + 1, dtype=np.float64) ** (-position_eta)

    # -- users ---------------------------------------------------------------------------------
    age = rng_usr.choice(n_age, n_users, p=AGE_PROBS)
    gender = rng_usr.integers(0, len(GENDERS), n_users)
    user_latent = (np.sqrt(rho_user) * group_mean[age, gender]
                   + np.sqrt(1 - rho_user) * rng_usr.standard_normal((n_users, dim)))
    activity = rng_usr.lognormal(0.0, activity_sigma, n_users)
    primary_device = rng_usr.choice(len(DEVICES), n_users, p=DEVICE_PROBS)
    users = pd.DataFrame({
        "user_id": np.arange(n_users, dtype=np.int64),
        "age_group": pd.Categorical.from_codes(age, categories=list(AGE_GROUPS)),
        "gender": pd.Categorical.from_codes(gender, categories=list(GENDERS)),
    })

    # -- ads -----------------------------------------------------------------------------------
    cat = rng_ad.choice(n_cat, n_ads, p=category_probs)
    ad_latent = (np.sqrt(rho_ad) * category_mean[cat]
                 + np.sqrt(1 - rho_ad) * rng_ad.standard_normal((n_ads, dim))) / np.sqrt(dim)
    popularity = rng_ad.lognormal(0.0, popularity_sigma, n_ads)
    # tags: Gumbel top-k over the category's words with weights exp(tag_temp * <v_a, r_w>)
    keys = (tag_temp * np.einsum("ad,awd->aw", ad_latent, word_vectors[cat])
            + rng_ad.gumbel(size=(n_ads, word_vectors.shape[1])))
    order = np.argsort(-keys, axis=1)
    n_tags = rng_ad.integers(3, 6, n_ads)
    generic = np.where(rng_ad.random(n_ads) < 0.3, rng_ad.integers(0, len(GENERIC_TAGS), n_ads), -1)
    tags = []
    for i in range(n_ads):  # one loop per ad (not per impression)
        vocab = TAG_VOCAB[CATEGORIES[cat[i]]]
        words = [vocab[j] for j in order[i, :n_tags[i]]]
        if generic[i] >= 0:
            words.append(GENERIC_TAGS[generic[i]])
        tags.append(" ".join(words))
    ads = pd.DataFrame({
        "ad_id": np.arange(n_ads, dtype=np.int64),
        "category": pd.Categorical.from_codes(cat, categories=list(CATEGORIES)),
        "tags": tags,
    })

    # -- impressions ---------------------------------------------------------------------------
    n = n_impressions
    user_id = rng_log.choice(n_users, n, p=activity / activity.sum())
    pop_cdf = np.cumsum(popularity / popularity.sum())
    ad_id = np.empty(n, dtype=np.int64)
    for s in range(0, n, _CHUNK):  # blocks of impressions, vectorised inside
        uid = user_id[s:s + _CHUNK]
        m = len(uid)
        cand = np.searchsorted(pop_cdf, rng_log.random((m, n_candidates)), side="right")
        cand = np.minimum(cand, n_ads - 1)  # guards the float round-off of pop_cdf[-1]
        interest = np.einsum("nd,ncd->nc", user_latent[uid], ad_latent[cand])
        pick = np.argmax(select_temp * interest + rng_log.gumbel(size=(m, n_candidates)), axis=1)
        ad_id[s:s + _CHUNK] = cand[np.arange(m), pick]
    hour_profile = _hour_profile()
    day = rng_log.integers(0, n_days, n)
    hour = rng_log.choice(24, n, p=hour_profile)
    second = rng_log.integers(0, 3600, n)
    t = T0 + 86_400 * day + 3_600 * hour + second
    sticky = rng_log.random(n) < device_stickiness
    device = np.where(sticky, primary_device[user_id], rng_log.choice(len(DEVICES), n, p=DEVICE_PROBS))
    slot = rng_log.integers(1, n_slots + 1, n)
    order = np.argsort(t, kind="stable")
    t, user_id, ad_id, hour, device, slot = (x[order].astype(np.int64)
                                             for x in (t, user_id, ad_id, hour, device, slot))

    params = {
        # click model
        "b0": b0, "scale": scale, "position_eta": position_eta, "n_slots": n_slots,
        "examine": examine, "hour_category": hour_category, "hour_amp": amp, "hour_peak": peak,
        "device_effect": np.asarray(DEVICE_EFFECT, dtype=np.float64), "demo_category": demo_category,
        # conversion model
        "conv_c0": conv_c0, "conv_w": conv_w, "conv_category": conv_category,
        "conv_device": np.asarray(CONV_DEVICE_EFFECT, dtype=np.float64),
        # latent structure
        "rho_user": rho_user, "rho_ad": rho_ad, "group_mean": group_mean, "category_mean": category_mean,
        "category_probs": category_probs, "word_vectors": word_vectors, "tag_temp": tag_temp,
        # exposure (how the log was drawn)
        "user_activity": activity, "ad_popularity": popularity, "primary_device": primary_device,
        "device_stickiness": device_stickiness, "n_candidates": n_candidates, "select_temp": select_temp,
        "hour_profile": hour_profile, "n_days": n_days, "t0": T0,
        # codes of the categorical columns
        "user_age": age, "user_gender": gender, "ad_category": cat,
        "categories": CATEGORIES, "age_groups": AGE_GROUPS, "genders": GENDERS, "devices": DEVICES,
        "seed": seed,
    }
    world = AdWorld(users=users, user_latent=user_latent, ads=ads, ad_latent=ad_latent,
                    log=pd.DataFrame(), params=params)

    p_click = world.true_click_prob(user_id, ad_id, hour, device, slot)
    p_conv = world.true_conversion_prob(user_id, ad_id, device)
    click = rng_log.random(n) < p_click
    conversion = click & (rng_log.random(n) < p_conv)
    world.log = pd.DataFrame({
        "t": t, "user_id": user_id, "ad_id": ad_id, "hour": hour,
        "device": pd.Categorical.from_codes(device, categories=list(DEVICES)),
        "slot": slot, "p_click": p_click, "click": click.astype(np.int64),
        "p_conversion": p_conv, "conversion": conversion.astype(np.int64),
    })
    world.bayes_auc = bayes_auc(p_click)
    world.bayes_log_loss = bayes_log_loss(p_click)
    return world
