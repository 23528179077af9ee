"""Saving and loading: round trip, and refusal of missing, corrupt, tampered or untrusted files."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from classifiers.card import ModelCard
from classifiers.corpus import LabelledData
from classifiers.model import TextClassifier
from classifiers.persistence import (
    CARD_FILE,
    CARD_MARKDOWN,
    MODEL_FILE,
    ModelLoadError,
    file_sha256,
    load_model,
    save_model,
)


def make_card(model: TextClassifier, version: str = "v1", macro_f1: float = 0.9) -> ModelCard:
    return ModelCard(
        version=version,
        created_at="2025-01-01T00:00:00+00:00",
        labels=tuple(str(c) for c in model.classes_),
        data_sha256="0" * 64,
        n_train=10,
        params={"C": 10.0, "char_ngram_range": [2, 5]},
        metrics={"macro_f1": macro_f1, "per_class": {}},
        thresholds={str(c): 0.5 for c in model.classes_},
        notes="test",
    )


@pytest.fixture
def saved(tmp_path: Path, tiny_model: TextClassifier) -> Path:
    return save_model(tiny_model, make_card(tiny_model), tmp_path / "v1")


def _rehash(directory: Path) -> None:
    """Make card.json agree with model.skops again, as a deliberate attacker would."""
    card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
    card["model_sha256"] = file_sha256(directory / MODEL_FILE)
    (directory / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")


def test_round_trip(saved: Path, tiny_model: TextClassifier, tiny_data: LabelledData) -> None:
    assert {p.name for p in saved.iterdir()} == {MODEL_FILE, CARD_FILE, CARD_MARKDOWN}
    loaded = load_model(saved)
    sample = list(tiny_data.texts[:20])
    np.testing.assert_array_equal(
        loaded.model.predict_proba(sample), tiny_model.predict_proba(sample)
    )
    assert loaded.card.version == "v1"
    assert loaded.card.model_sha256 == file_sha256(saved / MODEL_FILE)
    assert loaded.directory == saved
    assert "# Model v1" in (saved / CARD_MARKDOWN).read_text(encoding="utf-8")


def test_derived_state_is_not_saved(tiny_model: TextClassifier) -> None:
    tiny_model.predict_proba(["warm the caches"])
    state = tiny_model.__getstate__()
    assert not {"_key_table", "_block_index", "_weights"} & set(state)


def test_card_json_round_trip(tiny_model: TextClassifier) -> None:
    card = make_card(tiny_model).with_model_sha256("ab" * 32)
    assert ModelCard.from_json(card.to_json()) == card


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such model directory"):
        load_model(tmp_path / "nothing")


@pytest.mark.parametrize("name", [MODEL_FILE, CARD_FILE])
def test_missing_file(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(ModelLoadError, match=f"{name}: missing"):
        load_model(saved)


def test_tampered_model_fails_the_hash(saved: Path) -> None:
    path = saved / MODEL_FILE
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelLoadError) as err:
        load_model(saved)
    assert MODEL_FILE in str(err.value) and "SHA-256 mismatch" in str(err.value)


def test_truncated_model_fails_the_hash(saved: Path) -> None:
    path = saved / MODEL_FILE
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="SHA-256 mismatch"):
        load_model(saved)


def test_truncated_model_with_matching_hash_is_unreadable(saved: Path) -> None:
    path = saved / MODEL_FILE
    path.write_bytes(path.read_bytes()[:1000])
    _rehash(saved)
    with pytest.raises(ModelLoadError) as err:
        load_model(saved)
    assert MODEL_FILE in str(err.value) and "not a readable skops file" in str(err.value)


def test_garbage_model_with_matching_hash(saved: Path) -> None:
    (saved / MODEL_FILE).write_bytes(b"\x80\x04 definitely not a zip")
    _rehash(saved)
    with pytest.raises(ModelLoadError, match="not a readable skops file"):
        load_model(saved)


def test_untrusted_type_refused(tmp_path: Path, tiny_data: LabelledData) -> None:
    model = TextClassifier(min_df=1).fit(list(tiny_data.texts), list(tiny_data.labels))
    model.smuggled_ = Fraction(1, 3)  # a type outside the trust list
    directory = save_model(model, make_card(model), tmp_path / "evil")
    with pytest.raises(ModelLoadError) as err:
        load_model(directory)
    assert "untrusted type(s)" in str(err.value) and "fractions.Fraction" in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"version": "v1"}', "missing field"),
    ],
)
def test_corrupt_card(saved: Path, content: str, message: str) -> None:
    (saved / CARD_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(ModelLoadError) as err:
        load_model(saved)
    assert CARD_FILE in str(err.value) and message in str(err.value)


def test_card_without_hash_refused(saved: Path) -> None:
    card = json.loads((saved / CARD_FILE).read_text(encoding="utf-8"))
    card["model_sha256"] = None
    (saved / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="no model_sha256"):
        load_model(saved)


def test_card_labels_must_match_model(saved: Path) -> None:
    card = json.loads((saved / CARD_FILE).read_text(encoding="utf-8"))
    card["labels"] = ["spam", "ham"]
    (saved / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"differ from card\.json labels"):
        load_model(saved)
