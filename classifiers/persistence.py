"""Saving and loading models: skops files with an explicit trust list, never pickle.

A model directory holds `model.skops`, `card.json` (with the SHA-256 of model.skops)
and `CARD.md`. Loading checks the hash before skops reads a byte of the model, then
refuses any type outside TRUSTED_TYPES.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import skops.io as sio

from classifiers.card import ModelCard
from classifiers.errors import ModelLoadError
from classifiers.model import TextClassifier

MODEL_FILE: Final = "model.skops"
CARD_FILE: Final = "card.json"
CARD_MARKDOWN: Final = "CARD.md"

TRUSTED_TYPES: Final = ("classifiers.model.TextClassifier",)
"""Types beyond skops' defaults (numpy arrays, builtins) a model file may contain."""


@dataclass(frozen=True)
class LoadedModel:
    model: TextClassifier
    card: ModelCard
    directory: Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model: TextClassifier, card: ModelCard, directory: Path) -> Path:
    """Write model.skops, card.json and CARD.md into `directory`; returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    blob = sio.dumps(model)
    _write_atomic(directory / MODEL_FILE, blob)
    card = card.with_model_sha256(hashlib.sha256(blob).hexdigest())
    _write_atomic(directory / CARD_FILE, card.to_json().encode("utf-8"))
    _write_atomic(directory / CARD_MARKDOWN, card.to_markdown().encode("utf-8"))
    return directory


def read_card(directory: Path) -> ModelCard:
    """The card alone (cheap: used to list models without loading them)."""
    path = Path(directory) / CARD_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path}: unreadable ({exc})") from None
    try:
        return ModelCard.from_json(text)
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"{path}: invalid model card: {exc}") from None


def load_model(directory: Path) -> LoadedModel:
    """Load and verify a model directory; any problem raises ModelLoadError."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelLoadError(f"{directory}: no such model directory")
    card = read_card(directory)
    path = directory / MODEL_FILE
    if not path.is_file():
        raise ModelLoadError(f"{path}: missing")
    if not card.model_sha256:
        raise ModelLoadError(f"{directory / CARD_FILE}: no model_sha256 to verify {MODEL_FILE}")
    actual = file_sha256(path)
    if actual != card.model_sha256:
        raise ModelLoadError(
            f"{path}: SHA-256 mismatch (card.json says {card.model_sha256[:16]}…, file is "
            f"{actual[:16]}…): the file is truncated, corrupt or was replaced"
        )
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zipfile/json/key errors on broken files
        raise ModelLoadError(f"{path}: not a readable skops file ({exc})") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ModelLoadError(f"{path}: untrusted type(s) in model file: {', '.join(refused)}")
    try:
        model = sio.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as exc:
        raise ModelLoadError(f"{path}: cannot load ({type(exc).__name__}: {exc})") from None
    if not isinstance(model, TextClassifier):
        raise ModelLoadError(f"{path}: holds a {type(model).__name__}, not a TextClassifier")
    classes = tuple(str(c) for c in getattr(model, "classes_", ()))
    if classes != tuple(card.labels):
        raise ModelLoadError(
            f"{path}: model labels {list(classes)} differ from card.json labels {list(card.labels)}"
        )
    return LoadedModel(model=model, card=card, directory=directory)
