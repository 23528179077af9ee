"""Model selection by measurement: candidate classifiers side by side on the same splits.

    python bench/bench_models.py                 # seed → held-out gate sets (+ VFND CV)
    python bench/bench_models.py --no-vfnd

Train: the seed corpus (`classifiers/data/seed/`). Evaluated on every file of
`classifiers/data/heldout/` separately (each written by an author who saw no training
file), each also with its diacritics stripped, and by stratified 5-fold CV on VFND when
`../shared/data/vfnd/vfnd.csv` exists (benchmark only, never shipped). Every candidate is
compared with the plain TF-IDF (word 1-2 + char_wb 2-5) + logistic regression baseline:
macro-F1, the worst category's recall, expected calibration error and training time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import f1_score, recall_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from classifiers.calibration import (  # noqa: E402
    expected_calibration_error,
    plot_reliability,
    reliability,
)
from classifiers.corpus import (  # noqa: E402
    HELDOUT_DIR,
    LabelledData,
    read_labelled_csv,
    seed_corpus,
)
from classifiers.model import TextClassifier  # noqa: E402
from classifiers.normalize import fold_diacritics  # noqa: E402
from classifiers.training import train_model  # noqa: E402

VFND = ROOT.parent / "shared" / "data" / "vfnd" / "vfnd.csv"
sys.path.insert(0, str(ROOT / "bench"))

from bench_classifier import baseline as plain  # noqa: E402  (the one plain reference)


class Ensemble:
    """Mean of the members' probabilities (members share the label order)."""

    def __init__(self, *members: Any) -> None:
        self.members = members

    def fit(self, X: Sequence[str], y: Sequence[str]) -> Ensemble:
        for m in self.members:
            m.fit(X, y)
        self.classes_ = self.members[0].classes_
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return np.mean([m.predict_proba(X) for m in self.members], axis=0)


def v2(**kw: Any) -> TextClassifier:
    params: dict[str, Any] = {
        "C": 10.0,
        "char_ngram_range": (2, 5),
        "min_df": 1,
        "augment_folded": False,
        "nb_scaling": False,
        "blend": False,
        "max_chars": 1000,
    }
    params.update(kw)
    return TextClassifier(**params)


class BotkitTrain:
    """`botkit train` as a whole: candidate choice, calibration and the final fit."""

    def fit(self, X: Sequence[str], y: Sequence[str]) -> BotkitTrain:
        data = LabelledData(tuple(X), tuple(y), tuple(map(str, range(len(X)))), "bench")
        self.model, self.card = train_model(data, merge_seed=False, gate=False)
        self.classes_ = self.model.classes_
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(X)


CANDIDATES: dict[str, Callable[[], Any]] = {
    "plain tfidf+lr": plain,
    "botkit train": BotkitTrain,
    "v1 (old defaults)": lambda: TextClassifier(
        C=30.0,
        char_ngram_range=(1, 4),
        min_df=2,
        augment_folded=True,
        max_chars=1000,
        nb_scaling=False,
        blend=False,
    ),
    "lr alone": lambda: TextClassifier(nb_scaling=False, blend=False),
    "nb-lr alone": lambda: TextClassifier(blend=False),
    "blend nb+lr (default)": TextClassifier,
    "blend +folded copies": lambda: TextClassifier(augment_folded=True),
    "ensemble (mean proba)": lambda: Ensemble(
        TextClassifier(nb_scaling=False, blend=False), TextClassifier(blend=False)
    ),
    "v2 lr (char 2-5, C=10)": v2,
    "v2 nb-lr (char 2-5, C=10)": lambda: v2(nb_scaling=True),
}


def scores(model: Any, texts: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    proba = model.predict_proba(list(texts))
    classes = list(model.classes_)
    pred = [classes[i] for i in proba.argmax(axis=1)]
    recalls = recall_score(labels, pred, labels=sorted(set(labels)), average=None)
    return {
        "macro_f1": float(f1_score(labels, pred, average="macro")),
        "worst_recall": float(min(recalls)),
        "ece": expected_calibration_error(proba, [classes.index(y) for y in labels]),
    }


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-vfnd", action="store_true")
    parser.add_argument("--only", action="append", help="candidate names to run")
    parser.add_argument("--plot", type=Path, help="directory for reliability diagrams")
    args = parser.parse_args()
    names = args.only or list(CANDIDATES)
    train = seed_corpus()
    sets = {p.stem: read_labelled_csv(p, id_column="id") for p in sorted(HELDOUT_DIR.glob("*.csv"))}
    section(f"seed → held-out ({len(train)} training messages, one core)")
    print(
        "sets: "
        + ", ".join(f"{k} {len(v)}" for k, v in sets.items())
        + " (each also without diacritics: '/nd')"
    )
    header = f"{'model':24} {'train s':>8}"
    for k in sets:
        header += f" {k[:10]:>10} {'/nd':>6} {'worstR':>6} {'ECE':>5}"
    print(header)
    for name in names:
        model = CANDIDATES[name]()
        start = time.perf_counter()
        model.fit(list(train.texts), list(train.labels))
        took = time.perf_counter() - start
        row = f"{name:24} {took:8.1f}"
        if args.plot is not None and name == "botkit train":
            curves = {}
            for key, data in sets.items():
                classes = list(model.classes_)
                truth = [classes.index(y) for y in data.labels]
                curves[key] = reliability(model.predict_proba(list(data.texts)), truth)
            print(
                f"  reliability diagram: {plot_reliability(curves, args.plot / 'reliability.png')}"
            )
        for data in sets.values():
            s = scores(model, data.texts, data.labels)
            nd = scores(model, [fold_diacritics(t) for t in data.texts], data.labels)
            row += f" {s['macro_f1']:10.3f} {nd['macro_f1']:6.3f} {s['worst_recall']:6.3f}"
            row += f" {s['ece']:5.3f}"
        print(row, flush=True)
    if not args.no_vfnd and VFND.exists():
        with VFND.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        texts = [r["text"] for r in rows]
        labels = [r["label"] for r in rows]
        section(f"VFND: stratified 5-fold CV ({len(texts)} articles; benchmark only)")
        print(f"{'model':24} {'macro-F1':>9} {'±':>6} {'train s':>8}")
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, labels))
        for name in names:
            f1s, took = [], 0.0
            for tr, te in folds:
                model = CANDIDATES[name]()
                start = time.perf_counter()
                model.fit([texts[i] for i in tr], [labels[i] for i in tr])
                took += time.perf_counter() - start
                s = scores(model, [texts[i] for i in te], [labels[i] for i in te])
                f1s.append(s["macro_f1"])
            print(f"{name:24} {np.mean(f1s):9.3f} {np.std(f1s):6.3f} {took / 5:8.2f}", flush=True)


if __name__ == "__main__":
    main()
