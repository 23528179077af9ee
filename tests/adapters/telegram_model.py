"""A classifier model for tests and benchmarks that run the real core.

The shipped model (the promoted version in `models/`) when there is one; otherwise a model
trained once per process from the shipped seed corpus, in a temporary directory.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from classifiers.corpus import seed_corpus
from classifiers.persistence import save_model
from classifiers.registry import ModelRegistry
from classifiers.training import train_model

ROOT = Path(__file__).resolve().parents[2]
_trained: Path | None = None


def model_dir() -> Path:
    global _trained
    registry = ModelRegistry(ROOT / "models")
    if registry.current_version() is not None:
        return registry.current_dir()
    if _trained is None:
        directory = Path(tempfile.mkdtemp(prefix="botkit-test-model-"))
        atexit.register(shutil.rmtree, directory, True)
        model, card = train_model(seed_corpus(), merge_seed=False, version="telegram-tests")
        _trained = save_model(model, card, directory / card.version)
    return _trained
