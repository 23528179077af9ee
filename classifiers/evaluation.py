"""Evaluating a classifier: per-class metrics, confusion matrix, ROC-AUC and a PNG report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
)


class ProbabilisticClassifier(Protocol):
    classes_: np.ndarray

    def predict_proba(self, X: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    roc_auc: float | None  # one-vs-rest; None when the label is absent or everywhere


@dataclass(frozen=True, eq=False)
class EvalReport:
    """Metrics on one labelled set; `probabilities` columns follow `model_labels`."""

    labels: tuple[str, ...]  # row/column order of `confusion` and `per_class`
    model_labels: tuple[str, ...]
    per_class: tuple[ClassMetrics, ...]
    macro_f1: float
    accuracy: float
    roc_auc_macro: float | None
    confusion: tuple[tuple[int, ...], ...]  # rows: true label, columns: predicted
    y_true: tuple[str, ...]
    y_pred: tuple[str, ...]
    probabilities: np.ndarray

    @property
    def n(self) -> int:
        return len(self.y_true)

    def class_metrics(self, label: str) -> ClassMetrics:
        for m in self.per_class:
            if m.label == label:
                return m
        raise KeyError(label)

    def to_metrics(self, source: str = "") -> dict[str, Any]:
        """The JSON-ready form stored in a model card."""
        return {
            "per_class": {
                m.label: {
                    "precision": m.precision,
                    "recall": m.recall,
                    "f1": m.f1,
                    "support": m.support,
                    "roc_auc": m.roc_auc,
                }
                for m in self.per_class
            },
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "roc_auc_macro": self.roc_auc_macro,
            "n": self.n,
            "source": source,
        }

    def to_table(self) -> str:
        """Plain-text report: per-class metrics, then the confusion matrix."""
        width = max([len(label) for label in self.labels] + [9])
        head = f"{'label':<{width}}  precision  recall      f1  support  roc_auc"
        lines = [head, "-" * len(head)]
        for m in self.per_class:
            auc = "      —" if m.roc_auc is None else f"{m.roc_auc:7.4f}"
            lines.append(
                f"{m.label:<{width}}  {m.precision:9.4f}  {m.recall:6.4f}  {m.f1:6.4f}"
                f"  {m.support:7d}  {auc}"
            )
        lines.append("-" * len(head))
        auc = "—" if self.roc_auc_macro is None else f"{self.roc_auc_macro:.4f}"
        lines.append(
            f"macro-F1 {self.macro_f1:.4f}   accuracy {self.accuracy:.4f}   "
            f"ROC-AUC (macro, one-vs-rest) {auc}   n={self.n}"
        )
        lines += ["", "confusion matrix (rows: true, columns: predicted)"]
        cell = max(
            [len(str(v)) for row in self.confusion for v in row]
            + [len(str(i)) for i in range(len(self.labels))]
            + [3]
        )
        lines.append(" " * (width + 2) + " ".join(f"{i:>{cell}}" for i in range(len(self.labels))))
        for i, (label, row) in enumerate(zip(self.labels, self.confusion, strict=True)):
            cells = " ".join(f"{v:>{cell}}" for v in row)
            lines.append(f"{label:<{width}}  {cells}   [{i}]")
        return "\n".join(lines)


def evaluate(
    model: ProbabilisticClassifier, texts: Sequence[str], labels: Sequence[str]
) -> EvalReport:
    """Score `model` on labelled texts (labels unknown to the model count as misses)."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError("nothing to evaluate: no texts")
    model_labels = tuple(str(c) for c in model.classes_)
    y_true = np.asarray([str(label) for label in labels])
    probs = np.asarray(model.predict_proba(list(texts)), dtype=np.float64)
    y_pred = np.asarray(model_labels)[np.argmax(probs, axis=1)]
    extra = sorted(set(y_true.tolist()) - set(model_labels))
    order = list(model_labels) + extra
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=order, zero_division=0
    )
    aucs: list[float | None] = []
    for label in order:
        positive = y_true == label
        if label not in model_labels or positive.all() or not positive.any():
            aucs.append(None)
            continue
        column = probs[:, model_labels.index(label)]
        aucs.append(float(roc_auc_score(positive, column)))
    per_class = tuple(
        ClassMetrics(label, float(p), float(r), float(f), int(s), auc)
        for label, p, r, f, s, auc in zip(order, precision, recall, f1, support, aucs, strict=True)
    )
    present = [m for m in per_class if m.support > 0]
    defined_auc = [m.roc_auc for m in present if m.roc_auc is not None]
    cm = confusion_matrix(y_true, y_pred, labels=order)
    return EvalReport(
        labels=tuple(order),
        model_labels=model_labels,
        per_class=per_class,
        # Macro over labels present in the data: a label the set never uses says nothing.
        macro_f1=float(np.mean([m.f1 for m in present])),
        accuracy=float(accuracy_score(y_true, y_pred)),
        roc_auc_macro=float(np.mean(defined_auc)) if defined_auc else None,
        confusion=tuple(tuple(int(v) for v in row) for row in cm),
        y_true=tuple(y_true.tolist()),
        y_pred=tuple(y_pred.tolist()),
        probabilities=probs,
    )


def plot_report(report: EvalReport, png_path: Path | str) -> Path:
    """Write a PNG with the confusion matrix and per-label precision-recall curves."""
    # The object-oriented API with an Agg canvas: no pyplot state, never a display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(13, 5.5), dpi=110)
    FigureCanvasAgg(fig)
    ax_cm, ax_pr = fig.subplots(1, 2)
    cm = np.asarray(report.confusion)
    ax_cm.imshow(cm, cmap="Blues")
    ticks = range(len(report.labels))
    ax_cm.set_xticks(list(ticks), labels=list(report.labels), rotation=35, ha="right")
    ax_cm.set_yticks(list(ticks), labels=list(report.labels))
    ax_cm.set_xlabel("predicted")
    ax_cm.set_ylabel("true")
    ax_cm.set_title(f"Confusion matrix (macro-F1 {report.macro_f1:.3f}, n={report.n})")
    threshold = cm.max() / 2 if cm.size else 0
    for (i, j), value in np.ndenumerate(cm):
        colour = "white" if value > threshold else "black"
        ax_cm.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=9)
    y_true = np.asarray(report.y_true)
    for k, label in enumerate(report.model_labels):
        positive = y_true == label
        if not positive.any():
            continue
        precision, recall, _ = precision_recall_curve(positive, report.probabilities[:, k])
        f1 = report.class_metrics(label).f1
        ax_pr.plot(recall, precision, label=f"{label} (F1 {f1:.3f})")
    ax_pr.set_xlabel("recall")
    ax_pr.set_ylabel("precision")
    ax_pr.set_xlim(0, 1.01)
    ax_pr.set_ylim(0, 1.01)
    ax_pr.grid(alpha=0.3)
    ax_pr.set_title("Precision-recall, one label against the rest")
    ax_pr.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path)
    return png_path
