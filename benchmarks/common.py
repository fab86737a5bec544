"""What every benchmark script shares: the machine report, the JSON result file, the best-of-N
timer, and the plain top-k loop (dense score block, training items masked, bare ``torch.topk``) that adrec's ranking is
compared with."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from adrec import env
from adrec.run import git_commit


def machine(device: str = "auto") -> tuple[str, dict]:
    """(device picked, environment report), the report printed."""
    dev = env.pick_device(device)
    report = env.environment(dev)
    print(env.format_environment(report))
    return dev, report


def save(out_dir, name: str, device: str, report: dict, **payload) -> Path:
    """``<out_dir>/<name>_<device>.json`` with the payload, the machine and the commit."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}_{device}.json"
    target.write_text(json.dumps({**payload, "environment": report, "commit": git_commit()},
                                 indent=2, default=str) + "\n")
    print(f"written to {target}")
    return target


def fastest(step, repeats: int):
    """(seconds of the fastest of ``repeats`` calls of ``step``, the last call's return value)."""
    best, value = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = step()
        best = min(best, time.perf_counter() - t0)
    return best, value


def run_worker(label: str, argv: list, env_updates: dict) -> dict:
    """Run ``[python, *argv]`` (a benchmark's ``--worker`` mode) with ``env_updates`` added to the
    environment; returns the JSON dict it prints after ``RESULT ``, or ``{"error": last line}``."""
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, *argv], env=dict(os.environ, **env_updates), capture_output=True, text=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not line:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        print(f"  {label}: not run ({tail[0]})")
        return {"error": tail[0]}
    return json.loads(line[0][len("RESULT "):])


def plain_topk(U, V, R, k: int, batch: int = 4096, device: str = "cpu") -> np.ndarray:
    """Top-``k`` item ids per user (no tie rule), the non-zeros of the scipy matrix ``R`` masked."""
    import torch  # here, not at import: Keras workers import this module too
    Ut, Vt = torch.as_tensor(U, device=device), torch.as_tensor(V, device=device)
    R = R.tocsr()
    out = np.empty((Ut.shape[0], k), dtype=np.int64)
    with torch.no_grad():
        for s in range(0, Ut.shape[0], batch):
            scores = Ut[s:s + batch] @ Vt.T
            block = R[s:s + batch].tocoo()
            scores[torch.as_tensor(block.row.astype(np.int64), device=device),
                   torch.as_tensor(block.col.astype(np.int64), device=device)] = -math.inf
            out[s:s + batch] = torch.topk(scores, k, dim=1).indices.cpu().numpy()
    return out
