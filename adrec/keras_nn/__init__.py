"""Keras 3 implementations (``keras.ops`` only: TensorFlow, JAX and torch backends): mirror images
of :mod:`adrec.torch_nn` (same names, same shapes), checked by parity tests.

Import :mod:`adrec.env` and call ``set_keras_backend`` (``adrec.run.start`` does) before this."""
