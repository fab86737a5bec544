"""PyTorch implementations: mirror images of :mod:`adrec.keras_nn` (same names, same shapes),
checked against the numpy references in :mod:`adrec.ref` by parity tests."""
