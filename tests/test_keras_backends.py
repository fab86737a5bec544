"""Keras on each backend (run with -m keras once per KERAS_BACKEND: tensorflow, torch, jax): the
training loop gives the same weights whatever ``jit_compile`` says, and JAX is refused on a GPU
device when the installed jaxlib sees only the CPU (the dev extras pin the CPU build)."""
import numpy as np
import pytest

pytestmark = pytest.mark.keras

keras = pytest.importorskip("keras")

from adrec import env  # noqa: E402
from adrec.keras_nn.train import fit  # noqa: E402


def _trained_weights(jit_compile):
    """Two epochs of Adam on a tiny embedding + dense model (8 rows looked up by 64 examples)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 8, size=(64, 1)).astype("int32")
    y = rng.normal(size=(64, 1)).astype("float32")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((1,), dtype="int32"), keras.layers.Embedding(8, 3),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    fit(model, "mse", (x, y), epochs=2, lr=0.05, batch_size=16, progress=False, jit_compile=jit_compile)
    return model.jit_compile, [np.asarray(w) for w in model.get_weights()]


@pytest.mark.parametrize("jit_compile", [True, False])
def test_fit_gives_the_same_weights_compiled_or_not(jit_compile):
    """``fit(..., jit_compile=)`` on this backend: XLA on TensorFlow and JAX, torch.compile on
    torch; "auto" resolves to XLA on JAX and to eager on torch and on TensorFlow without a GPU."""
    backend = keras.backend.backend()
    if backend == "torch" and jit_compile:
        pytest.skip("torch.compile of this train step took 161 s on the shared 2-core CPU (it ran, and agreed with "
                    "eager to 3e-8); 'auto' resolves to eager on torch, which adrec uses")
    auto_resolved, auto = _trained_weights("auto")
    assert auto_resolved == {"jax": True, "torch": False}.get(backend, auto_resolved)
    resolved, weights = _trained_weights(jit_compile)
    assert resolved == jit_compile
    for w, a in zip(weights, auto, strict=True):
        np.testing.assert_allclose(w, a, rtol=1e-5, atol=1e-6)
    assert not np.allclose(auto[-1], 0)  # the dense bias left its zero start: the weights compared were trained


def test_jax_on_a_gpu_with_a_cpu_only_jaxlib_is_one_clear_error(monkeypatch):
    jax = pytest.importorskip("jax")
    if jax.default_backend() != "cpu":
        pytest.skip("this jaxlib sees a GPU: JAX on a GPU device is allowed")
    monkeypatch.setattr(env, "pick_device", lambda device="auto": "cuda")
    with pytest.raises(ValueError, match="the installed jaxlib sees only the CPU"):
        env.set_keras_backend("jax", "cuda")
