"""Device choice, seeding and the environment report every notebook prints first."""
from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import platform
import random
import sys

import numpy as np

DEVICES = ("auto", "cuda", "mps", "cpu")


def _torch():
    try:
        return importlib.import_module("torch")
    except ImportError:  # pragma: no cover - torch is a dependency
        return None


def pick_device(device: str = "auto") -> str:
    """``"cuda"`` when a CUDA GPU is present, else ``"mps"``, else ``"cpu"``; or the one asked for.

    Asking for a device that is not present is an error rather than a silent fallback.
    """
    if device not in DEVICES and not str(device).startswith("cuda:"):
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)} (or cuda:N).")
    torch = _torch()
    has_cuda = bool(torch and torch.cuda.is_available())
    has_mps = bool(torch and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if device == "auto":
        return "cuda" if has_cuda else "mps" if has_mps else "cpu"
    if device.startswith("cuda") and not has_cuda:
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA GPU on this machine.")
    if device == "mps" and not has_mps:
        raise ValueError("device 'mps' asked for, but torch sees no Apple GPU on this machine.")
    return device


def default_keras_backend(device: str = "auto") -> str:
    """The Keras backend this companion uses: ``$KERAS_BACKEND`` when set; on a GPU ``torch``
    (Keras >= 3.14 runs cuDNN LSTMs there and GPU machines may lack TensorFlow); on a CPU
    ``tensorflow`` when installed, else ``torch``."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    if pick_device(device) != "cpu":
        return "torch"
    return "tensorflow" if importlib.util.find_spec("tensorflow") else "torch"


def set_keras_backend(backend: str | None = None, device: str = "auto") -> str:
    """Set ``KERAS_BACKEND`` before Keras is imported; refuse to change it afterwards, and refuse
    JAX on a GPU when the installed jaxlib sees only the CPU (the dev extras pin the CPU build):
    Keras would train there while the run records the GPU."""
    backend = backend or default_keras_backend(device)
    if backend == "jax" and pick_device(device) != "cpu":
        import jax

        if jax.default_backend() == "cpu":
            raise ValueError(f"Keras on JAX with device {device!r}: the installed jaxlib sees only the CPU; "
                             f"pass device='cpu', or install a GPU build of jax.")
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != backend:
            raise RuntimeError(
                f"Keras is already imported with backend {current!r}; start a fresh process with "
                f"KERAS_BACKEND={backend} to use {backend!r}."
            )
        return current
    os.environ["KERAS_BACKEND"] = backend
    return backend


def seed_everything(seed: int) -> None:
    """Seed Python, numpy, torch (all devices) and Keras (when imported) with one integer."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch = _torch()
    if torch is not None:
        torch.manual_seed(seed)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)


DEFAULT_THREADS = 2  # the CPU machines this project's numbers are made on have two cores


def cpu_threads(threads: int | None = None) -> int:
    """The CPU thread count runs use: ``threads``, else ``$ADREC_THREADS``, else 2. Results of the
    same seed differ between thread counts (reductions split differently), so the count is pinned,
    not left to the machine, and recorded in every run's provenance."""
    raw = threads if threads is not None else os.environ.get("ADREC_THREADS", DEFAULT_THREADS)
    try:
        n = int(raw)
    except (TypeError, ValueError):
        n = 0
    if isinstance(raw, bool) or n < 1 or str(n) != str(raw).strip():
        raise ValueError(f"the CPU thread count must be a whole number >= 1, got {raw!r} "
                         f"(from {'the threads argument' if threads is not None else 'ADREC_THREADS'})")
    return n


def pin_threads(threads: int | None = None) -> int:
    """Pin torch's (and, when imported, TensorFlow's) CPU threads to :func:`cpu_threads`; returns it."""
    n = cpu_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(n)
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
        except RuntimeError:  # TensorFlow already ran an op: its pool is fixed; the count still applies to torch
            pass
    os.environ["ADREC_THREADS"] = str(n)  # kernels and subprocesses started from here use it too
    return n


def version(package: str) -> str | None:
    try:
        return md.version(package)
    except md.PackageNotFoundError:
        return None


def device_name(device: str) -> str:
    torch = _torch()
    if device.startswith("cuda") and torch is not None:
        return torch.cuda.get_device_name(torch.device(device))
    if device == "mps":
        return "Apple GPU (mps)"
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


REPORTED_PACKAGES = ("adrec", "numpy", "torch", "tensorflow", "keras", "jax", "transformers")


def environment(device: str = "auto") -> dict:
    """Device, its name, Python and package versions, and the Keras backend in use."""
    dev = pick_device(device)
    return {
        "device": dev,
        "device_name": device_name(dev),
        "python": platform.python_version(),
        "keras_backend": os.environ.get("KERAS_BACKEND") or default_keras_backend(dev),
        "threads": cpu_threads(),
        **{pkg: version(pkg) for pkg in REPORTED_PACKAGES},
    }


def format_environment(env: dict) -> str:
    lines = [f"device: {env['device']} ({env['device_name']}), {env['threads']} CPU threads",
             f"python {env['python']}"]
    for pkg in REPORTED_PACKAGES:
        lines.append(f"{pkg} {env[pkg] or 'not installed'}" + (
            f" (backend {env['keras_backend']})" if pkg == "keras" else ""))
    return "\n".join(lines)
