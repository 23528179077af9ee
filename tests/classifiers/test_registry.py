"""Model registry: listing, gated promotion, rollback, and fallback when a model breaks."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from classifiers.corpus import HELDOUT_CSV, SEED_DIR, LabelledData, seed_corpus
from classifiers.model import TextClassifier
from classifiers.persistence import MODEL_FILE, ModelLoadError, save_model
from classifiers.registry import ModelRegistry, PromotionRefused
from tests.classifiers.conftest import TINY_PARAMS
from tests.classifiers.test_persistence import make_card


@pytest.fixture(scope="module")
def binary_model(binary_data: LabelledData) -> TextClassifier:
    return TextClassifier(**TINY_PARAMS).fit(list(binary_data.texts), list(binary_data.labels))


@pytest.fixture
def root(tmp_path: Path, binary_model: TextClassifier) -> Path:
    """Three saved "0"/"1" models; their card scores drive the gate (no shipped held-out)."""
    models = tmp_path / "models"
    for i, (version, f1) in enumerate([("v1", 0.80), ("v2", 0.85), ("v3", 0.70)]):
        card = replace(
            make_card(binary_model, version, f1), created_at=f"2025-01-0{i + 1}T00:00:00+00:00"
        )
        save_model(binary_model, card, models / version)
    return models


def registry_json(root: Path) -> dict[str, object]:
    return json.loads((root / "registry.json").read_text(encoding="utf-8"))


def test_list_before_any_promotion(root: Path) -> None:
    registry = ModelRegistry(root)
    infos = registry.list()
    assert [i.version for i in infos] == ["v1", "v2", "v3"]
    assert [i.macro_f1 for i in infos] == [0.80, 0.85, 0.70]
    assert not any(i.current for i in infos)
    with pytest.raises(LookupError, match="no model has been promoted"):
        registry.current_dir()
    with pytest.raises(ModelLoadError, match="no model has been promoted"):
        registry.load_current()


def test_promote_and_list(root: Path) -> None:
    registry = ModelRegistry(root)
    result = registry.promote("v1")
    assert result.previous is None and result.score == 0.80
    result = registry.promote("v2")
    assert (result.previous, result.previous_score, result.score) == ("v1", 0.80, 0.85)
    assert registry_json(root) == {"current": "v2", "history": ["v1", "v2"]}
    assert registry.current_dir() == root / "v2"
    assert [i.version for i in registry.list() if i.current] == ["v2"]
    assert "0.8500" in str(result)


def test_worse_model_refused_with_both_scores(root: Path) -> None:
    registry = ModelRegistry(root)
    registry.promote("v2")
    with pytest.raises(PromotionRefused) as err:
        registry.promote("v3")
    assert "0.7000" in str(err.value) and "0.8500" in str(err.value)
    assert (err.value.score, err.value.current_score) == (0.70, 0.85)
    assert registry_json(root)["current"] == "v2"


def test_force_promotes_a_worse_model(root: Path) -> None:
    registry = ModelRegistry(root)
    registry.promote("v2")
    result = registry.promote("v3", force=True)
    assert result.forced and registry_json(root)["current"] == "v3"


def test_unknown_version(root: Path) -> None:
    with pytest.raises(LookupError, match="no such model version"):
        ModelRegistry(root).promote("v9")


def test_broken_candidate_is_not_promoted(root: Path) -> None:
    (root / "v2" / MODEL_FILE).write_bytes(b"broken")
    with pytest.raises(ModelLoadError, match=MODEL_FILE):
        ModelRegistry(root).promote("v2")
    assert not (root / "registry.json").exists()


def test_rollback(root: Path) -> None:
    registry = ModelRegistry(root)
    with pytest.raises(LookupError, match="no previous promoted version"):
        registry.rollback()
    registry.promote("v1")
    registry.promote("v2")
    assert registry.rollback() == "v1"
    assert registry_json(root) == {"current": "v1", "history": ["v1"]}
    with pytest.raises(LookupError, match="no previous promoted version"):
        registry.rollback()


def test_load_current_falls_back_loudly(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    registry = ModelRegistry(root)
    registry.promote("v1")
    registry.promote("v2")
    loaded, fell_back = registry.load_current()
    assert (loaded.card.version, fell_back) == ("v2", False)
    (root / "v2" / MODEL_FILE).write_bytes(b"tampered")
    with caplog.at_level(logging.WARNING):
        loaded, fell_back = registry.load_current()
    assert (loaded.card.version, fell_back) == ("v1", True)
    assert str(root / "v2" / MODEL_FILE) in caplog.text
    assert "FALLING BACK" in caplog.text


def test_load_current_when_everything_is_broken(root: Path) -> None:
    registry = ModelRegistry(root)
    registry.promote("v1")
    registry.promote("v2")
    for version in ("v1", "v2"):
        (root / version / MODEL_FILE).unlink()
    with pytest.raises(ModelLoadError, match="no promoted model loads"):
        registry.load_current()


@pytest.mark.parametrize("content", ["{", '{"current": 3, "history": []}', "[]"])
def test_corrupt_registry_file(root: Path, content: str) -> None:
    (root / "registry.json").write_text(content, encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"registry\.json"):
        ModelRegistry(root).load_current()


def test_broken_current_does_not_block_promotion(root: Path) -> None:
    registry = ModelRegistry(root)
    registry.promote("v2")
    (root / "v2" / MODEL_FILE).write_bytes(b"x")
    assert registry.promote("v3").previous_score is None


@pytest.mark.skipif(
    not (HELDOUT_CSV.is_file() and any(SEED_DIR.glob("*.csv"))), reason="no shipped corpus yet"
)
def test_default_taxonomy_gate_reevaluates_instead_of_trusting_cards(
    tmp_path: Path, tiny_data: LabelledData
) -> None:
    seed = seed_corpus()
    good = TextClassifier(**TINY_PARAMS).fit(list(seed.texts[::4]), list(seed.labels[::4]))
    weak = TextClassifier(**TINY_PARAMS).fit(list(tiny_data.texts), list(tiny_data.labels))
    models = tmp_path / "models"
    # The cards lie: the weak model claims the better score.
    save_model(good, make_card(good, "good", 0.10), models / "good")
    save_model(weak, make_card(weak, "weak", 0.99), models / "weak")
    registry = ModelRegistry(models)
    registry.promote("good")
    with pytest.raises(PromotionRefused) as err:
        registry.promote("weak")
    assert err.value.score < err.value.current_score
    assert err.value.current_score > 0.5
    assert "held-out" in err.value.gate
