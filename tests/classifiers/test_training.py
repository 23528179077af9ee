"""train_model: taxonomy handling, card contents, thresholds, progress reporting."""

from __future__ import annotations

import re

import numpy as np
import pytest

from classifiers.corpus import LabelledData, TrainingDataError, data_sha256
from classifiers.training import suggest_thresholds, train_model
from tests.classifiers.conftest import TINY_PARAMS, make_data


def test_custom_labels_train_alone(binary_data: LabelledData) -> None:
    stages: list[tuple[str, float]] = []
    model, card = train_model(
        binary_data, params=TINY_PARAMS, progress=lambda s, f: stages.append((s, f))
    )
    assert card.labels == ("0", "1") == tuple(model.classes_)
    assert card.n_train == len(binary_data)  # no seed merged into a foreign taxonomy
    assert card.metrics == {} and card.metrics_folded == {}
    assert set(card.thresholds) == {"0", "1"}
    assert all(0.0 <= t <= 1.0 for t in card.thresholds.values())
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{8}", card.version)
    assert card.version.endswith(data_sha256(binary_data)[:8])
    assert card.params["min_df"] == 1 and card.params["char_ngram_range"] == [1, 4]
    assert "Chosen on the held-aside quarter" not in card.notes  # settings were given
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_explicit_version_and_heldout(binary_data: LabelledData) -> None:
    heldout = LabelledData(
        ("chuyển khoản phí 300k vào stk 0123456789", "chào buổi sáng cả nhà"),
        ("1", "0"),
        ("h1", "h2"),
        "mini-heldout",
    )
    _, card = train_model(binary_data, params=TINY_PARAMS, heldout=heldout, version="x1")
    assert card.version == "x1"
    assert card.metrics["n"] == 2 and card.metrics["source"] == "mini-heldout"
    assert "macro_f1" in card.metrics_folded


def test_heldout_texts_are_removed_from_training(binary_data: LabelledData) -> None:
    heldout = LabelledData(binary_data.texts[:4], binary_data.labels[:4], ("a", "b", "c", "d"), "h")
    _, card = train_model(binary_data, params=TINY_PARAMS, heldout=heldout)
    assert card.n_train == len(binary_data) - 4
    assert "4 texts that also occur in the held-out set" in card.notes


def test_duplicates_only_leave_one_class() -> None:
    data = LabelledData(("a", "b"), ("x", "y"), ("1", "2"), "dup")
    heldout = LabelledData(("b",), ("y",), ("h",), "h")
    with pytest.raises(TrainingDataError, match="single class"):
        train_model(data, params=TINY_PARAMS, heldout=heldout)


EXTRA_SEED = LabelledData(
    ("seed một", "seed hai", "seed ba", "seed bốn", "seed năm"),
    ("normal", "scam", "normal", "fake_news", "crime_report"),
    ("s1", "s2", "s3", "s4", "s5"),
    "fake-seed",
)
MINI_HELDOUT = LabelledData(
    ("tai nạn xe máy ở ngã tư", "chào cả nhà"), ("traffic_accident", "normal"), ("h1", "h2"), "h"
)


def test_default_taxonomy_merges_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("classifiers.training.seed_corpus", lambda: EXTRA_SEED)
    data = make_data()
    _, card = train_model(data, params=TINY_PARAMS, heldout=MINI_HELDOUT)
    assert card.n_train == len(data) + len(EXTRA_SEED)
    assert "seed corpus merged" in card.notes


def test_seed_merge_can_be_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("classifiers.training.seed_corpus", lambda: EXTRA_SEED)
    data = make_data()
    _, card = train_model(data, params=TINY_PARAMS, merge_seed=False, heldout=MINI_HELDOUT)
    assert card.n_train == len(data)


def test_custom_labels_can_ask_for_the_seed(
    monkeypatch: pytest.MonkeyPatch, binary_data: LabelledData
) -> None:
    monkeypatch.setattr("classifiers.training.seed_corpus", lambda: EXTRA_SEED)
    model, card = train_model(binary_data, params=TINY_PARAMS, merge_seed=True)
    assert set(card.labels) == {"0", "1", "normal", "scam", "fake_news", "crime_report"}
    assert card.labels == tuple(model.classes_)


def test_suggest_thresholds_reaches_the_precision() -> None:
    y = np.asarray(["a", "a", "b", "a", "b", "b"])
    probs_a = np.asarray([0.95, 0.9, 0.8, 0.6, 0.3, 0.1])
    probs = np.column_stack([probs_a, 1 - probs_a])
    thresholds = suggest_thresholds(("a", "b"), y, probs)
    # Scores >= 0.9 are all "a" (precision 1); including 0.8 drops precision to 2/3.
    assert thresholds["a"] == 0.9
    assert 0.0 <= thresholds["b"] <= 1.0


def test_card_records_the_temperature(binary_data: LabelledData) -> None:
    model, card = train_model(binary_data, params=TINY_PARAMS)
    assert f"temperature {model.temperature_:.3f}" in card.notes
    assert model.temperature_ != 1.0


def test_candidates_are_chosen_on_the_held_aside_quarter_by_macro_f1(
    binary_data: LabelledData, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifiers.training as training

    monkeypatch.setattr(training, "CANDIDATES", ({}, {"blend": False}, {"nb_scaling": False}))
    _, card = train_model(binary_data)
    assert "Chosen on the held-aside quarter by macro-F1 (nb-logistic + logistic" in card.notes
    assert "; nb-logistic " in card.notes and "; logistic " in card.notes


def test_candidates_differing_in_features_are_refused(
    binary_data: LabelledData, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifiers.training as training

    monkeypatch.setattr(training, "CANDIDATES", ({}, {"min_df": 1}))
    with pytest.raises(ValueError, match="learner settings only"):
        train_model(binary_data)
