"""Datasets: the registry (:mod:`adrec.data.registry`), loaders of real data (one function per
dataset, below), and the synthetic ad world (:mod:`adrec.data.synthetic`)."""
from .registry import REGISTRY, DataError, Dataset, fetch, file_identity, files_read, register, user_file  # noqa: F401
from .movielens import load_ml100k  # noqa: F401
from .ncf import load_interactions_file, load_loo, load_ml1m_loo, load_ml100k_loo  # noqa: F401
from .ctr import ctr_task, load_avazu_head, load_criteo_head, load_ctr_file  # noqa: F401
from .synthetic import AdWorld, bayes_auc, bayes_log_loss, make_ad_world  # noqa: F401
from .gowalla import load_graph_files, load_gowalla, sample_subgraph  # noqa: F401
from .sequences import load_sequences_file  # noqa: F401
from .frappe import frappe_ctr, frappe_task, load_frappe  # noqa: F401
from .ml100k_click import ml100k_click_task  # noqa: F401
from .histories import HistoryTask, ad_world_task  # noqa: F401
from .advertisegen import AdRow, load_advertisegen, parse_attributes  # noqa: F401
