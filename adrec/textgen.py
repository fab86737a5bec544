"""Personalized ad copy with a Hugging Face causal LM: tokenizer, tiny GPT-2, prompts, training
batches for the one torch loop, generation and the safety check before a text is shown as an ad.

The prompt joins the ad requirement (AdvertiseGen attributes) and the user's interest tags::

    <bos> 类型#上衣*材质#牛仔布 <sep> 兴趣#简约*兴趣#复古 <sep> ad copy ... <eos>

AdvertiseGen has no users. Its ``风格`` (style) attributes name the style the copy is written
toward, so they play the user's interest tags: for training, the ad's 风格 pairs are moved from the
requirement into the interest slot (:func:`split_interests`). At generation time the interest slot
holds a user's tags (:func:`interest_profiles`), and the same ad can be written for several users.

``model_name_or_path`` loads a pretrained causal LM and its tokenizer from a local folder
(``local_files_only=True``, safetensors only, never remote code); the same loop fine-tunes it.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import torch

INTEREST_KEY = "风格"
SPECIALS = ("<pad>", "<bos>", "<eos>", "<sep>", "<unk>")
DEFAULT_BLOCKLIST = ("最好", "第一", "国家级", "最高级", "最佳", "顶级", "绝对", "万能", "100%")  # absolute claims (ad law)


class CharTokenizer:
    """Character-level tokenizer built from a corpus; ids 0..4 are the special tokens."""

    def __init__(self, chars):
        self.itos = list(SPECIALS) + [c for c in chars if c not in SPECIALS]
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        self.pad_id, self.bos_id, self.eos_id, self.sep_id, self.unk_id = range(5)

    @classmethod
    def from_texts(cls, texts, min_count: int = 1):
        counts = Counter(ch for t in texts for ch in t)
        return cls(sorted(c for c, n in counts.items() if n >= min_count))

    def __len__(self):
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(c, self.unk_id) for c in text]

    def decode(self, ids, skip_special: bool = True) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id and skip_special:
                break
            if skip_special and i < len(SPECIALS):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else SPECIALS[4])
        return "".join(out)

    def save(self, path):
        Path(path).write_text(json.dumps({"itos": self.itos}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path):
        itos = json.loads(Path(path).read_text(encoding="utf-8"))["itos"]
        if tuple(itos[:5]) != SPECIALS:
            raise ValueError(f"{path}: not a CharTokenizer file (special tokens differ)")
        return cls(itos[5:])


# ---- prompts -----------------------------------------------------------------------------------

def split_interests(attributes) -> tuple[tuple, tuple]:
    """(requirement pairs without 风格, the 风格 values) of one AdvertiseGen row."""
    req = tuple((k, v) for k, v in attributes if k != INTEREST_KEY)
    tags = tuple(v for k, v in attributes if k == INTEREST_KEY)
    return req, tags


def build_prompt(requirement, interests, max_prompt_chars: int = 160) -> str:
    """The text before the copy. ``requirement``: (key, value) pairs, at least one; ``interests``:
    tags (may be empty: an anonymous user). A prompt over ``max_prompt_chars`` raises ValueError."""
    requirement = tuple(requirement)
    if not requirement:
        raise ValueError("empty ad requirement: give at least one attribute (key, value)")
    req = "*".join(f"{k}#{v}" for k, v in requirement)
    tags = "*".join(f"兴趣#{t}" for t in interests) if interests else "兴趣#无"
    prompt = f"{req}|{tags}|"
    if len(prompt) > max_prompt_chars:
        raise ValueError(f"prompt has {len(prompt)} characters, over max_prompt_chars={max_prompt_chars}: "
                         "drop attributes or raise the limit (the model was trained on shorter prompts)")
    return prompt


def interest_vocabulary(rows, min_count: int = 5) -> list[str]:
    counts = Counter(v for r in rows for k, v in r.attributes if k == INTEREST_KEY)
    return [v for v, n in counts.most_common() if n >= min_count]


def interest_profiles(vocabulary, n_users: int, seed: int = 0, max_tags: int = 2) -> dict[str, tuple]:
    """Seeded users ``u0..``: 1..max_tags distinct interest tags each."""
    rng = np.random.default_rng(seed)
    users = {}
    for u in range(n_users):
        k = int(rng.integers(1, max_tags + 1))
        users[f"u{u}"] = tuple(rng.choice(vocabulary, size=k, replace=False).tolist())
    return users


def user_interests(profiles: dict, user_id: str) -> tuple:
    """A user's tags; an unknown user raises KeyError naming some known ones (no silent fallback:
    an anonymous prompt is asked for with ``interests=()``)."""
    if user_id not in profiles:
        known = ", ".join(list(profiles)[:5])
        raise KeyError(f"unknown user {user_id!r}; known users include {known} "
                       "(use interests=() for an anonymous user)")
    return profiles[user_id]


# ---- model -------------------------------------------------------------------------------------

def tiny_gpt2_config(vocab_size: int, n_layer: int = 2, n_embd: int = 128, n_head: int = 4,
                     n_positions: int = 320, dropout: float = 0.1):
    from transformers import GPT2Config

    return GPT2Config(vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                      n_head=n_head, resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                      bos_token_id=1, eos_token_id=2, pad_token_id=0)


def build_model(tokenizer=None, model_name_or_path: str | None = None, seed: int = 0, **config):
    """A fresh tiny GPT-2 for ``tokenizer``, or a pretrained local checkpoint (then returns the
    checkpoint's own tokenizer too). Returns ``(model, tokenizer)``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2LMHeadModel

    if model_name_or_path is not None:
        if not Path(model_name_or_path).exists():
            raise FileNotFoundError(f"model_name_or_path={model_name_or_path!r} is not a local folder; "
                                    "this companion works offline (download the checkpoint first)")
        model = AutoModelForCausalLM.from_pretrained(model_name_or_path, local_files_only=True,
                                                     trust_remote_code=False, use_safetensors=True)
        tok = AutoTokenizer.from_pretrained(model_name_or_path, local_files_only=True, trust_remote_code=False)
        return model, tok
    if tokenizer is None:
        raise ValueError("give a tokenizer (for a fresh model) or model_name_or_path")
    torch.manual_seed(seed)
    return GPT2LMHeadModel(tiny_gpt2_config(len(tokenizer), **config)), tokenizer


def n_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


# ---- training batches for adrec.torch_nn.train.fit ---------------------------------------------

def encode_examples(rows, tokenizer, max_len: int = 256, max_prompt_chars: int = 160):
    """(ids, n_prompt) per row: <bos> prompt <sep> copy <eos>, cut to ``max_len`` tokens."""
    out = []
    for r in rows:
        req, tags = split_interests(r.attributes)
        if not req:
            continue
        prompt = build_prompt(req, tags, max_prompt_chars=max_prompt_chars)
        p = [tokenizer.bos_id] + tokenizer.encode(prompt) + [tokenizer.sep_id]
        ids = (p + tokenizer.encode(r.summary) + [tokenizer.eos_id])[:max_len]
        out.append((np.array(ids, dtype=np.int64), len(p)))
    return out


def lm_batches(examples, batch_size: int, pad_id: int = 0):
    """``batches(epoch, rng)`` for ``fit``: length-bucketed shuffled batches of (input_ids,
    attention_mask, labels); labels are -100 on the prompt and on padding (loss on the copy only)."""
    order_by_len = np.argsort([len(e[0]) for e in examples], kind="stable")

    def batches(epoch, rng):
        chunks = [order_by_len[i:i + batch_size] for i in range(0, len(order_by_len), batch_size)]
        for j in rng.permutation(len(chunks)):
            group = [examples[i] for i in chunks[j]]
            width = max(len(ids) for ids, _ in group)
            x = np.full((len(group), width), pad_id, dtype=np.int64)
            m = np.zeros((len(group), width), dtype=np.int64)
            y = np.full((len(group), width), -100, dtype=np.int64)
            for row, (ids, n_prompt) in enumerate(group):
                x[row, :len(ids)] = ids
                m[row, :len(ids)] = 1
                y[row, n_prompt:len(ids)] = ids[n_prompt:]
            yield x, m, y
    return batches


def lm_loss(model, batch):
    x, m, y = batch
    return model(input_ids=x, attention_mask=m, labels=y).loss


@torch.no_grad()
def lm_eval_loss(model, examples, batch_size: int = 64, device: str = "cpu") -> float:
    """Mean per-token cross-entropy on the copy tokens (nats)."""
    model.eval().to(device)
    total, count = 0.0, 0
    for x, m, y in lm_batches(examples, batch_size)(0, np.random.default_rng(0)):
        x, m, y = (torch.as_tensor(a, device=device) for a in (x, m, y))
        n = int((y[:, 1:] != -100).sum())
        total += float(model(input_ids=x, attention_mask=m, labels=y).loss) * n
        count += n
    return total / max(count, 1)


# ---- generation ----------------------------------------------------------------------------------

DECODING = {"greedy": dict(do_sample=False, num_beams=1),
            "beam": dict(do_sample=False, num_beams=4),
            "top_p": dict(do_sample=True, top_p=0.9, temperature=0.8)}


def decoding_kwargs(decoding: str = "greedy", temperature: float | None = None, top_p: float | None = None,
                    num_beams: int | None = None) -> dict:
    if decoding not in DECODING:
        raise ValueError(f"unknown decoding {decoding!r}; choose one of {', '.join(DECODING)}")
    kw = dict(DECODING[decoding])
    if temperature is not None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        kw["temperature"] = temperature
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        kw["top_p"] = top_p
    if num_beams is not None:
        kw["num_beams"] = int(num_beams)
    return kw


@torch.no_grad()
def generate(model, tokenizer, prompts, *, max_new_tokens: int = 120, decoding: str = "greedy",
             batch_size: int = 64, seed: int = 0, device: str = "cpu", use_cache: bool = True,
             progress: bool = False, **decoding_overrides) -> list[str]:
    """Ad copy for each prompt (from :func:`build_prompt`) with ``model.generate``; batches are
    left-padded. Sampling is seeded per call (``seed``)."""
    from tqdm.auto import tqdm

    kw = decoding_kwargs(decoding, **decoding_overrides)
    model.eval().to(device)
    torch.manual_seed(seed)
    out = []
    starts = range(0, len(prompts), batch_size)
    for i in tqdm(starts, disable=not progress, desc="generate", leave=False):
        encoded = [[tokenizer.bos_id] + tokenizer.encode(p) + [tokenizer.sep_id] for p in prompts[i:i + batch_size]]
        width = max(len(e) for e in encoded)
        x = torch.full((len(encoded), width), tokenizer.pad_id, dtype=torch.long)
        m = torch.zeros_like(x)
        for r, e in enumerate(encoded):
            x[r, width - len(e):] = torch.tensor(e)
            m[r, width - len(e):] = 1
        gen = model.generate(input_ids=x.to(device), attention_mask=m.to(device), max_new_tokens=max_new_tokens,
                             pad_token_id=tokenizer.pad_id, eos_token_id=tokenizer.eos_id,
                             use_cache=use_cache, **kw)
        out += [tokenizer.decode(g[width:]) for g in gen.cpu()]
    return out


def check_ad(text: str, min_chars: int = 10, max_chars: int = 200, blocklist=DEFAULT_BLOCKLIST) -> tuple[bool, str]:
    """(ok, reason): a generated text is shown as an ad only if its length is in range and it
    contains no blocked word (here: absolute claims that China's advertising law forbids)."""
    n = len(text.strip())
    if n < min_chars:
        return False, f"too short ({n} < {min_chars} characters)"
    if n > max_chars:
        return False, f"too long ({n} > {max_chars} characters)"
    hits = [w for w in blocklist if w in text]
    if hits:
        return False, f"blocked words: {', '.join(hits)}"
    return True, "ok"


def personalization(copies, own_tags, control_copies) -> dict:
    """Share of copies that mention at least one of the user's own tags, for copies written for the
    user (``copies``) and for a shuffled profile (``control_copies``, same ads, another user's tags)."""
    def share(texts):
        return float(np.mean([any(t in c for t in tags) for c, tags in zip(texts, own_tags)]))
    own, ctrl = share(copies), share(control_copies)
    return {"own": own, "shuffled": ctrl, "lift": own - ctrl}
