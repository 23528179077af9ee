"""Vietnamese community-chat classifiers: a pure library (text in; scores, entities, claims out).

Import the submodules directly for the full API; the main names are re-exported here.
"""

from classifiers.card import ModelCard
from classifiers.corpus import (
    DEFAULT_LABELS,
    LabelledData,
    TrainingDataError,
    data_sha256,
    heldout_corpus,
    read_labelled_csv,
    seed_corpus,
)
from classifiers.evaluation import EvalReport, evaluate, plot_report
from classifiers.model import TextClassifier
from classifiers.normalize import (
    Evidence,
    NormalizedText,
    canonical_text,
    fold_diacritics,
    normalize,
)
from classifiers.persistence import LoadedModel, ModelLoadError, load_model, save_model
from classifiers.registry import (
    CurrentModel,
    ModelInfo,
    ModelRegistry,
    PromotionRefused,
    PromotionResult,
)
from classifiers.training import train_model

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
