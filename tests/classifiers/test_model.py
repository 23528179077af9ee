"""TextClassifier: estimator contract, any label set, folding robustness, batch consistency."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from classifiers.corpus import LabelledData
from classifiers.model import TextClassifier
from classifiers.normalize import fold_diacritics
from tests.classifiers.conftest import TEMPLATES, TINY_PARAMS


def test_fits_and_predicts_training_texts(
    tiny_model: TextClassifier, tiny_data: LabelledData
) -> None:
    predicted = tiny_model.predict(list(tiny_data.texts))
    accuracy = float(np.mean(predicted == np.asarray(tiny_data.labels)))
    assert accuracy >= 0.95
    assert sorted(tiny_model.classes_.tolist()) == sorted(TEMPLATES)


def test_probabilities_are_a_distribution(
    tiny_model: TextClassifier, tiny_data: LabelledData
) -> None:
    probs = tiny_model.predict_proba(list(tiny_data.texts[:10]))
    assert probs.shape == (10, len(tiny_model.classes_))
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_unseen_wording_without_diacritics(tiny_model: TextClassifier) -> None:
    # Folded augmentation: an accent-free message meets the same weights.
    texts = [
        "chuc mung ban trung thuong, chuyen khoan phi 500k vao stk 0987654321 de nhan qua",
        "tai nan giua xe tai va xe may o nga tu, 2 nguoi bi thuong",
        "nha em bi trom xe wave dem qua, ai thay bao giup",
    ]
    assert tiny_model.predict(texts).tolist() == ["scam", "traffic_accident", "crime_report"]


def test_folded_training_texts_keep_their_labels(
    tiny_model: TextClassifier, tiny_data: LabelledData
) -> None:
    folded = [fold_diacritics(t) for t in tiny_data.texts]
    predicted = tiny_model.predict(folded)
    assert float(np.mean(predicted == np.asarray(tiny_data.labels))) >= 0.95


def test_any_label_set_binary(binary_data: LabelledData) -> None:
    model = TextClassifier(**TINY_PARAMS).fit(list(binary_data.texts), list(binary_data.labels))
    assert model.classes_.tolist() == ["0", "1"]
    probs = model.predict_proba(["chuyển khoản phí 500k vào stk 0123456789 để nhận thưởng"])
    assert probs.shape == (1, 2)
    assert probs[0, 1] > 0.5
    assert model.predict(["chào buổi sáng cả nhà"]).tolist() == ["0"]


def test_labels_are_strings_even_when_given_numbers(binary_data: LabelledData) -> None:
    labels = [int(x) for x in binary_data.labels]
    model = TextClassifier(**TINY_PARAMS).fit(list(binary_data.texts), labels)  # type: ignore[arg-type]
    assert model.classes_.tolist() == ["0", "1"]


def test_empty_batch_and_degenerate_texts(tiny_model: TextClassifier) -> None:
    assert tiny_model.predict_proba([]).shape == (0, len(tiny_model.classes_))
    probs = tiny_model.predict_proba(["", "😱😱", "\ud800", "a" * 50_000, "!!!"])
    assert probs.shape == (5, len(tiny_model.classes_))
    assert np.isfinite(probs).all()


def test_unfitted_model_says_so() -> None:
    with pytest.raises(NotFittedError):
        TextClassifier().predict_proba(["xin chào"])


def test_clone_and_params() -> None:
    model = TextClassifier(C=3.0, char_ngram_range=(1, 3))
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert twin.get_params()["char_ngram_range"] == (1, 3)


def test_deterministic(tiny_data: LabelledData, tiny_model: TextClassifier) -> None:
    again = TextClassifier(**TINY_PARAMS).fit(list(tiny_data.texts), list(tiny_data.labels))
    sample = list(tiny_data.texts[:15])
    np.testing.assert_array_equal(again.predict_proba(sample), tiny_model.predict_proba(sample))


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        (["a", "b"], ["x", "x"], "two classes"),
        (["a", "b", "c"], ["x", "y"], "labels"),
    ],
)
def test_fit_rejects_bad_input(texts: list[str], labels: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TextClassifier().fit(texts, labels)


def test_parameters_change_the_features(tiny_data: LabelledData) -> None:
    small = TextClassifier(min_df=1, word_ngram_max=1, char_ngram_range=(3, 3))
    small.fit(list(tiny_data.texts), list(tiny_data.labels))
    big = TextClassifier(min_df=1).fit(list(tiny_data.texts), list(tiny_data.labels))
    assert small.n_features_ < big.n_features_


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([t for ts in TEMPLATES.values() for t in ts]),
            st.text(max_size=60),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_batch_equals_one_by_one(texts: list[str]) -> None:
    # Batched n-gram hashing must not leak features across document boundaries.
    model = _shared_model()
    batch = model.predict_proba(texts)
    single = np.vstack([model.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-12)


_MODEL: list[TextClassifier] = []


def _shared_model() -> TextClassifier:
    if not _MODEL:
        from tests.classifiers.conftest import make_data

        data = make_data()
        _MODEL.append(TextClassifier(**TINY_PARAMS).fit(list(data.texts), list(data.labels)))
    return _MODEL[0]


@pytest.mark.parametrize("binary", [False, True])
def test_temperature_calibration(
    tiny_data: LabelledData, binary_data: LabelledData, binary: bool
) -> None:
    data = binary_data if binary else tiny_data
    model = TextClassifier(**TINY_PARAMS).fit(list(data.texts), list(data.labels))
    texts = list(data.texts)
    before = model.predict_proba(texts)
    scores = model.decision_function(texts)
    # Scores of texts the model was trained on: it is right on all, so sharper is better.
    temperature = model.calibrate(scores, list(data.labels))
    after = model.predict_proba(texts)
    assert temperature < 1.0 and model.temperature_ == temperature
    np.testing.assert_array_equal(before.argmax(axis=1), after.argmax(axis=1))
    assert after.max(axis=1).mean() > before.max(axis=1).mean()
