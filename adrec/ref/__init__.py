"""numpy reference implementations of the documents' formulas: the one place the maths is written
as plain array code. The PyTorch (:mod:`adrec.torch_nn`) and Keras (:mod:`adrec.keras_nn`)
versions must give the same numbers (parity tests)."""
