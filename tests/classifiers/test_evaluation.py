"""Evaluation reports: exact metrics on a stub model, binary ROC-AUC, table and plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from classifiers.evaluation import evaluate, plot_report
from classifiers.model import TextClassifier


class Stub:
    """Returns fixed probabilities looked up by text."""

    def __init__(self, classes: list[str], table: dict[str, list[float]]) -> None:
        self.classes_ = np.asarray(classes)
        self.table = table

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return np.asarray([self.table[x] for x in X])


THREE = Stub(
    ["a", "b", "c"],
    {
        "a1": [0.8, 0.1, 0.1],
        "a2": [0.6, 0.3, 0.1],
        "a3": [0.2, 0.7, 0.1],  # a predicted as b
        "b1": [0.1, 0.8, 0.1],
        "b2": [0.3, 0.6, 0.1],
        "c1": [0.1, 0.1, 0.8],
    },
)


def test_three_class_metrics_are_exact() -> None:
    report = evaluate(THREE, ["a1", "a2", "a3", "b1", "b2", "c1"], ["a", "a", "a", "b", "b", "c"])
    assert report.labels == ("a", "b", "c")
    assert report.confusion == ((2, 1, 0), (0, 2, 0), (0, 0, 1))
    a, b, c = report.per_class
    assert (a.precision, a.recall, a.support) == (1.0, pytest.approx(2 / 3), 3)
    assert (b.precision, b.recall) == (pytest.approx(2 / 3), 1.0)
    assert a.f1 == pytest.approx(0.8) and b.f1 == pytest.approx(0.8) and c.f1 == 1.0
    assert report.macro_f1 == pytest.approx((0.8 + 0.8 + 1.0) / 3)
    assert report.accuracy == pytest.approx(5 / 6)
    assert c.roc_auc == 1.0
    assert report.probabilities.shape == (6, 3)
    assert report.y_pred == ("a", "a", "b", "b", "b", "c")


def test_binary_roc_auc() -> None:
    stub = Stub(["0", "1"], {"p": [0.2, 0.8], "q": [0.6, 0.4], "r": [0.4, 0.6], "s": [0.9, 0.1]})
    report = evaluate(stub, ["p", "q", "r", "s"], ["1", "1", "0", "0"])
    # Positives score 0.8 and 0.4, negatives 0.6 and 0.1: 3 of 4 pairs ordered right.
    assert report.class_metrics("1").roc_auc == pytest.approx(0.75)
    assert report.class_metrics("0").roc_auc == pytest.approx(0.75)
    assert report.roc_auc_macro == pytest.approx(0.75)


def test_label_unknown_to_the_model_counts_as_missed() -> None:
    report = evaluate(THREE, ["a1", "c1"], ["a", "zzz"])
    assert report.labels == ("a", "b", "c", "zzz")
    missed = report.class_metrics("zzz")
    assert (missed.recall, missed.support, missed.roc_auc) == (0.0, 1, None)
    # Macro-F1 averages the labels present in the data: a and zzz.
    assert report.macro_f1 == pytest.approx(0.5)


def test_metrics_for_the_card() -> None:
    report = evaluate(THREE, ["a1", "b1", "c1"], ["a", "b", "c"])
    metrics = report.to_metrics("somewhere.csv")
    assert metrics["macro_f1"] == 1.0 and metrics["n"] == 3 and metrics["source"] == "somewhere.csv"
    assert set(metrics["per_class"]["a"]) == {"precision", "recall", "f1", "support", "roc_auc"}


def test_table_mentions_everything() -> None:
    table = evaluate(THREE, list(THREE.table), ["a", "a", "a", "b", "b", "c"]).to_table()
    for needle in ("precision", "macro-F1 0.8667", "confusion matrix", "a ", "c "):
        assert needle in table


@pytest.mark.parametrize(("texts", "labels"), [([], []), (["a1"], [])])
def test_bad_input(texts: list[str], labels: list[str]) -> None:
    with pytest.raises(ValueError):
        evaluate(THREE, texts, labels)


def test_plot_writes_a_png(tmp_path: Path, tiny_model: TextClassifier) -> None:
    texts = ["tai nạn xe tải ở ngã tư", "chuyển khoản phí 500k vào stk 0123456789", "chào cả nhà"]
    report = evaluate(tiny_model, texts, ["traffic_accident", "scam", "normal"])
    png = plot_report(report, tmp_path / "out" / "report.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
