"""Vietnamese community-chat classifiers: a pure library (text in; scores, entities, claims out).

Import the submodules directly for the full API; the main names are re-exported here.
"""

from importlib import import_module
from typing import Any

# Loaded on first use (PEP 562): importing one light submodule, such as `classifiers.places`
# for reading a config, must not pull in scikit-learn and spaCy (seconds at every start of
# a command).
_WHERE = {
    "ModelCard": "card",
    "DEFAULT_LABELS": "corpus",
    "LabelledData": "corpus",
    "TrainingDataError": "corpus",
    "data_sha256": "corpus",
    "heldout_corpus": "corpus",
    "read_labelled_csv": "corpus",
    "seed_corpus": "corpus",
    "EvalReport": "evaluation",
    "evaluate": "evaluation",
    "plot_report": "evaluation",
    "TextClassifier": "model",
    "Evidence": "normalize",
    "NormalizedText": "normalize",
    "canonical_text": "normalize",
    "fold_diacritics": "normalize",
    "normalize": "normalize",
    "LoadedModel": "persistence",
    "ModelLoadError": "errors",
    "load_model": "persistence",
    "save_model": "persistence",
    "CurrentModel": "registry",
    "ModelInfo": "registry",
    "ModelRegistry": "registry",
    "PromotionRefused": "registry",
    "PromotionResult": "registry",
    "train_model": "training",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
    return getattr(import_module(f"classifiers.{module}"), name)


__all__ = [
    "DEFAULT_LABELS",
    "CurrentModel",
    "EvalReport",
    "Evidence",
    "LabelledData",
    "LoadedModel",
    "ModelCard",
    "ModelInfo",
    "ModelLoadError",
    "ModelRegistry",
    "NormalizedText",
    "PromotionRefused",
    "PromotionResult",
    "TextClassifier",
    "TrainingDataError",
    "canonical_text",
    "data_sha256",
    "evaluate",
    "fold_diacritics",
    "heldout_corpus",
    "load_model",
    "normalize",
    "plot_report",
    "read_labelled_csv",
    "save_model",
    "seed_corpus",
    "train_model",
]
