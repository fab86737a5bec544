"""Datasets: the registry (:mod:`adrec.data.registry`), loaders of real data (one function per
dataset, below), and the synthetic ad world (:mod:`adrec.data.synthetic`)."""
from .registry import REGISTRY, DataError, Dataset, fetch, files_read, register  # noqa: F401
from .movielens import load_ml100k  # noqa: F401
from .synthetic import AdWorld, bayes_auc, bayes_log_loss, make_ad_world  # noqa: F401
from .gowalla import load_gowalla, sample_subgraph  # noqa: F401
