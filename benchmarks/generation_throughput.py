"""Notebook 06's tiny GPT-2 ad-copy model: generation tokens/s with the key/value cache on vs off
(greedy), and training tokens/s (forward + backward + Adam step), fp32 and, on CUDA, bf16
(``torch.autocast``), side by side in one run.

Everything goes through :mod:`adrec.textgen`: AdvertiseGen's registered training rows
(``--train-rows``, default the profile's) give the character tokenizer exactly as notebook 06
builds it (:meth:`CharTokenizer.from_texts` over content + summary, plus the interest-slot
characters); :func:`build_model` makes the GPT-2 with the ``06_llm_ad_generation`` profile's shape
(``--profile auto``: ``full`` = 4 layers, 128 wide, 4 heads on CUDA; ``quick`` = 2 layers, 64 wide,
2 heads on CPU), random-init weights (speed does not depend on them). Generation:
:func:`generate` on the prompts of the first ``--prompts`` dev rows (ad requirement + the row's
style tags, as notebook 06's reference prompts), one batch, greedy, ``--new-tokens`` new tokens;
generated tokens are counted from the ids ``model.generate`` returns (non-padding ids after the
prompt, so a row that stops at <eos> counts what it produced). Training: the first
``--train-batches`` batches of :func:`lm_batches` (the profile's batch size and max_len) through
:func:`lm_loss`, Adam at the profile's lr; tokens = non-padding input tokens. A few warm-up
calls, then the fastest of ``--repeats`` passes counts. On a CPU only fp32 runs (bf16 autocast on
CPU is not what this model would be served with, and is slower there).

Usage: ``python benchmarks/generation_throughput.py [--profile auto] [--prompts 64] [--new-tokens 80]
[--train-batches 20] [--repeats 3] [--threads 0] [--device auto] [--out results/benchmarks] [--note TEXT]``.
"""
from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import torch

from adrec import profiles
from adrec import textgen as tg
from adrec.data import load_advertisegen
from common import fastest, machine, save


def counting(model):
    """Wrap ``model.generate`` so that the tokens it generates are counted (``counter["tokens"]``)."""
    original, counter = model.generate, {"tokens": 0}

    def generate(*args, **kwargs):
        out = original(*args, **kwargs)
        width = kwargs["input_ids"].shape[1]
        counter["tokens"] += int((out[:, width:] != kwargs["pad_token_id"]).sum())
        return out

    model.generate = generate
    return counter


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=("auto", "quick", "full"), default="auto",
                    help="model shape of notebook 06's profile (auto: full on CUDA, quick otherwise)")
    ap.add_argument("--train-rows", type=int, default=None, help="AdvertiseGen rows for the tokenizer and training")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=80)
    ap.add_argument("--train-batches", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: library default)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="results/benchmarks")
    ap.add_argument("--note", default="", help="free text stored in the JSON (e.g. machine load)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device, report = machine(args.device)
    cuda = device.startswith("cuda")
    profile = args.profile if args.profile != "auto" else ("full" if cuda else "quick")
    cfg = profiles.resolve("06_llm_ad_generation", profile)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    t_start = time.perf_counter()

    all_train = load_advertisegen("train")
    train_rows = all_train[:args.train_rows or cfg["train_rows"]]
    tok = tg.CharTokenizer.from_texts([r.content + r.summary for r in train_rows] + ["兴趣无|"])
    dev_rows = [r for r in load_advertisegen("dev") if tg.split_interests(r.attributes)[0]][:args.prompts]
    prompts = [tg.build_prompt(*tg.split_interests(r.attributes)) for r in dev_rows]
    examples = tg.encode_examples(train_rows, tok, max_len=cfg["max_len"])
    batches = [tuple(torch.as_tensor(a, device=device) for a in b)
               for _, b in zip(range(args.train_batches),
                               tg.lm_batches(examples, cfg["batch_size"])(0, np.random.default_rng(0)))]
    train_tokens = int(sum(int(m.sum()) for _, m, _ in batches))
    shape = {k: cfg[k] for k in ("n_layer", "n_embd", "n_head", "dropout")}
    print(f"profile {profile}: {shape}, vocabulary {len(tok):,}, {len(prompts)} prompts "
          f"(mean {np.mean([len(p) for p in prompts]):.0f} characters), {args.new_tokens} new tokens; "
          f"{len(batches)} training batches of {cfg['batch_size']} ({train_tokens:,} tokens)")

    precisions = ["fp32", "bf16"] if cuda else ["fp32"]
    results, outputs = {}, {}
    for precision in precisions:
        autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if precision == "bf16" \
            else contextlib.nullcontext
        model, _ = tg.build_model(tok, seed=0, **shape)
        model.to(device)
        n_params = tg.n_parameters(model)
        counter = counting(model)
        row = {}
        for cache in (True, False):
            def gen(n=args.new_tokens, cache=cache):
                with autocast():
                    texts = tg.generate(model, tok, prompts, max_new_tokens=n, decoding="greedy",
                                        batch_size=len(prompts), device=device, use_cache=cache)
                sync()
                return texts
            gen(4)  # warm-up
            counter["tokens"] = 0
            seconds, texts = fastest(gen, args.repeats)
            tokens = counter["tokens"] // args.repeats
            key = "cache_on" if cache else "cache_off"
            outputs[(precision, key)] = texts
            row[f"gen_{key}_tokens_per_s"] = tokens / seconds
            row[f"gen_{key}_s"] = seconds
            row["gen_tokens"] = tokens
        row["gen_cache_speedup"] = row["gen_cache_on_tokens_per_s"] / row["gen_cache_off_tokens_per_s"]
        row["gen_same_output_share"] = float(np.mean([a == b for a, b in zip(outputs[(precision, "cache_on")],
                                                                            outputs[(precision, "cache_off")])]))

        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])

        def train(part):
            model.train()
            for b in part:
                with autocast():
                    loss = tg.lm_loss(model, b)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            sync()
        train(batches[:3])  # warm-up
        seconds, _ = fastest(lambda: train(batches), args.repeats)
        row["train_tokens_per_s"] = train_tokens / seconds
        row["train_s"] = seconds
        results[precision] = row
        print(f"  {precision}: done, {time.perf_counter() - t_start:.0f} s so far")

    print(f"\n{'tokens/s':<10}{'gen, cache on':>16}{'gen, cache off':>16}{'on / off':>10}"
          f"{'same text':>11}{'train':>12}{'train vs fp32':>15}")
    for precision, r in results.items():
        print(f"{precision:<10}{r['gen_cache_on_tokens_per_s']:>16,.0f}{r['gen_cache_off_tokens_per_s']:>16,.0f}"
              f"{r['gen_cache_speedup']:>9.2f}x{r['gen_same_output_share']:>10.0%} "
              f"{r['train_tokens_per_s']:>12,.0f}"
              f"{r['train_tokens_per_s'] / results['fp32']['train_tokens_per_s']:>14.2f}x")
    if not cuda:
        print("(CPU: fp32 only; bf16 autocast runs on CUDA)")
    save(args.out, "generation_throughput", device, report, results=results, profile=profile, model=shape,
         n_parameters=n_params, vocabulary=len(tok), prompts=len(prompts), new_tokens=args.new_tokens,
         train_batches=len(batches), batch_size=cfg["batch_size"], max_len=cfg["max_len"], lr=cfg["lr"],
         train_tokens=train_tokens, repeats=args.repeats, threads=args.threads, weights="random init (seed 0)",
         decoding="greedy", note=args.note, wall_s=round(time.perf_counter() - t_start, 1))


if __name__ == "__main__":
    main()
