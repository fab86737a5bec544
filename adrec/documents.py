"""The five documents (``../shared/seeds/``) and which notebook runs which of their sections.

Titles and topics are our own English summaries; the documents are in Chinese.
"""
from __future__ import annotations

DOCUMENTS = {
    "000_27f89224ea2d2660.txt": "Large language models (GPT-3 style) for real-time personalized ad creative generation",
    "001_16dc2cc26694b140.txt": "Real-time personalized ad delivery with large-model recommender systems (introduction chapter)",
    "002_8d09ca9544fe0b83.txt": "Building a personalized ad recommender on a large language model",
    "003_55ad79a3f815e32c.txt": "Precise targeting in personalized ad recommendation with large models (GNN, GAN)",
    "004_1b87cd4ae3e61fa1.txt": "The future of ad recommendation: the potential of large models",
}

# (document, sections, what is checked or run, notebook, status)
SECTION_MAP = [
    ("000_27f89224ea2d2660.txt", "§4.1-4.2", "user profile as weighted sum of behaviour x content x context", "01_user_profile_fusion", "issue 3"),
    ("003_55ad79a3f815e32c.txt", "§4.1, §4.3.1", "user vector as the mean of projected history", "01_user_profile_fusion", "issue 3"),
    ("002_8d09ca9544fe0b83.txt", "§4.1-4.3", "score = user embedding . ad embedding + noise; worked example", "02_dot_product_scoring", "issue 3"),
    ("003_55ad79a3f815e32c.txt", "§4.3.3", "recommend the argmax of the scores", "02_dot_product_scoring", "issue 3"),
    ("004_1b87cd4ae3e61fa1.txt", "§4.1-4.2, §5.2", "training objective, logistic / binary cross-entropy loss; code listing", "03_bce_training", "issue 3"),
    ("003_55ad79a3f815e32c.txt", "§3.2.1, §4.2.1, §5.2-5.4", "GCN propagation D^-1/2 A D^-1/2 H; GNN code listing and its printed log", "04_gcn_propagation", "issue 3"),
    ("002_8d09ca9544fe0b83.txt", "§5.2-5.4", "Keras two-tower LSTM listing and its printed prediction", "05_sequence_models", "issue 5"),
    ("001_16dc2cc26694b140.txt", "§1.2", "MLP, stacked LSTM and self-attention families for recommendation", "05_sequence_models", "issue 5"),
    ("000_27f89224ea2d2660.txt", "§3-5", "train an LM on (profile, ad, label); generate personalized ad copy; listing", "06_llm_ad_generation", "issue 6"),
    ("002_8d09ca9544fe0b83.txt", "§2.1, §3.2", "LM for user interests and ad understanding (tags, key information)", "06_llm_ad_generation", "issue 6"),
    ("ML-1M / Gowalla", "published tables", "NCF / Rendle 2020 and LightGCN at full scale", "02, 04 (full profile)", "planned (issue 4)"),
]


def section_map():
    """The map as a pandas DataFrame, with a column saying whether the notebook exists yet."""
    import pandas as pd

    from .paths import project_root

    frame = pd.DataFrame(SECTION_MAP, columns=["document", "sections", "what", "notebook", "issue"])
    nb_dir = project_root() / "notebooks"
    frame["notebook exists"] = [
        "yes" if (nb_dir / f"{nb}.ipynb").exists() else "not yet" for nb in frame["notebook"]
    ]
    return frame
