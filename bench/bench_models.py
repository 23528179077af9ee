"""Model selection by measurement: candidate classifiers side by side on the same splits.

    python bench/bench_models.py                 # seed → held-out gate sets (+ VFND CV)
    python bench/bench_models.py --no-vfnd
    python bench/bench_models.py --authors      # + leave one seed author out

Train: the seed corpus (`classifiers/data/seed/`). Evaluated on every file of
`classifiers/data/heldout/` separately (each written by an author who saw no training
file), each also with its diacritics stripped, and by stratified 5-fold CV on VFND when
`../shared/data/vfnd/vfnd.csv` exists (benchmark only, never shipped). Every candidate is
compared with the plain TF-IDF (word 1-2 + char_wb 2-5) + logistic regression baseline:
macro-F1, the worst category's recall, expected calibration error and training time, and
for each gate set a paired bootstrap interval of the difference in macro-F1 from the
baseline (one gate set of a few hundred messages cannot separate models closer than that).

Another taxonomy: residents' questions on procedures (`tests/data/procedures/`, 21 labels,
200 questions by one blind author to train on, 320 by another to measure), as an admin
retraining on a small file of their own labels would.

`--authors`: leave one author out on the seed itself. Each of the seed's eight authors
(`classifiers/data/README.md`) is predicted by a model trained on the other seven, which
measures generalisation to a new author's phrasing on 8,000 messages instead of 500, and
never looks at a gate set: settings are chosen here, then confirmed on the gates.
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


def predictions(model: Any, texts: Sequence[str]) -> np.ndarray:
    classes = list(model.classes_)
    return np.asarray([classes[i] for i in model.predict_proba(list(texts)).argmax(axis=1)])


def _macro_f1(truth: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Macro-F1 over the classes present in `truth` or `pred` (as scikit-learn's), on ints."""
    tp = np.bincount(truth[truth == pred], minlength=k)
    support = np.bincount(truth, minlength=k)
    predicted = np.bincount(pred, minlength=k)
    present = (support + predicted) > 0
    f1 = 2 * tp[present] / (support[present] + predicted[present])
    return float(f1.mean())


def paired_interval(
    truth: Sequence[str], ours: np.ndarray, theirs: np.ndarray, rounds: int = 2000
) -> tuple[float, float]:
    """95 % paired bootstrap interval of macro-F1(ours) - macro-F1(theirs): the same resampled
    messages for both, so only the messages they disagree on move it."""
    names = sorted({*truth, *ours.tolist(), *theirs.tolist()})
    index = {name: i for i, name in enumerate(names)}
    y, a, b = (np.asarray([index[x] for x in v]) for v in (truth, ours, theirs))
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(rounds):
        i = rng.integers(0, len(y), len(y))
        diffs.append(_macro_f1(y[i], a[i], len(names)) - _macro_f1(y[i], b[i], len(names)))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def author_of(entry_id: str) -> str:
    """Seed files a1..a7 have an author each; the four first files share one."""
    prefix = entry_id.split("-", 1)[0]
    return prefix if prefix[:1] == "a" and prefix[1:].isdigit() else "first"


def by_author(names: Sequence[str], train: LabelledData) -> None:
    texts = np.asarray(train.texts, dtype=object)
    labels = np.asarray(train.labels)
    authors = np.asarray([author_of(i) for i in train.ids])
    order = sorted(set(authors.tolist()))
    section(f"seed: leave one author out ({len(order)} authors, {len(texts)} messages)")
    print("each author's messages predicted by a model trained on the other authors'")
    print(f"{'model':24} {'macro-F1':>8} {'/nd':>6} {'worstR':>6}  " + " ".join(order))
    pooled: dict[str, np.ndarray] = {}
    for name in names:
        pred = np.empty(len(texts), dtype=object)
        folded = np.empty(len(texts), dtype=object)
        for author in order:
            held = authors == author
            model = CANDIDATES[name]().fit(list(texts[~held]), list(labels[~held]))
            pred[held] = predictions(model, texts[held])
            folded[held] = predictions(model, [fold_diacritics(t) for t in texts[held]])
        pooled[name] = pred
        each = " ".join(
            f"{f1_score(labels[authors == a], pred[authors == a], average='macro'):.3f}"
            for a in order
        )
        worst = min(recall_score(labels, pred, average=None))
        print(
            f"{name:24} {f1_score(labels, pred, average='macro'):8.3f}"
            f" {f1_score(labels, folded, average='macro'):6.3f} {worst:6.3f}  {each}",
            flush=True,
        )
    if "plain tfidf+lr" in pooled:
        for name, pred in pooled.items():
            if name != "plain tfidf+lr":
                low, high = paired_interval(labels, pred, pooled["plain tfidf+lr"])
                print(f"  {name} - plain: 95 % interval [{low:+.3f}, {high:+.3f}]")


def procedures(names: Sequence[str]) -> None:
    def read(path: Path) -> tuple[list[str], list[str]]:
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        return [r["question"] for r in rows], [r["expected"] or "none" for r in rows]

    folder = ROOT / "tests" / "data" / "procedures"
    texts, labels = read(folder / "dev.csv")
    test_texts, test_labels = read(folder / "heldout.csv")
    section(
        f"another taxonomy: procedure questions ({len(set(labels))} labels, "
        f"{len(texts)} to train, {len(test_texts)} by another author to measure)"
    )
    print(f"{'model':24} {'train s':>8} {'macro-F1':>8} {'/nd':>6} {'worstR':>6} {'ECE':>5}")
    for name in names:
        model = CANDIDATES[name]()
        start = time.perf_counter()
        model.fit(texts, labels)
        took = time.perf_counter() - start
        s = scores(model, test_texts, test_labels)
        nd = scores(model, [fold_diacritics(t) for t in test_texts], test_labels)
        print(
            f"{name:24} {took:8.2f} {s['macro_f1']:8.3f} {nd['macro_f1']:6.3f}"
            f" {s['worst_recall']:6.3f} {s['ece']:5.3f}",
            flush=True,
        )


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-vfnd", action="store_true")
    parser.add_argument("--only", action="append", help="candidate names to run")
    parser.add_argument("--plot", type=Path, help="directory for reliability diagrams")
    parser.add_argument("--authors", action="store_true", help="leave one seed author out")
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
    predicted: dict[str, dict[str, np.ndarray]] = {}
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
        predicted[name] = {key: predictions(model, data.texts) for key, data in sets.items()}
        for data in sets.values():
            s = scores(model, data.texts, data.labels)
            nd = scores(model, [fold_diacritics(t) for t in data.texts], data.labels)
            row += f" {s['macro_f1']:10.3f} {nd['macro_f1']:6.3f} {s['worst_recall']:6.3f}"
            row += f" {s['ece']:5.3f}"
        print(row, flush=True)
    if "plain tfidf+lr" in predicted:
        print("macro-F1 minus the plain baseline's, 95 % paired bootstrap interval per set:")
        for name, sets_predicted in predicted.items():
            if name == "plain tfidf+lr":
                continue
            shown = []
            for key, pred in sets_predicted.items():
                base = predicted["plain tfidf+lr"][key]
                low, high = paired_interval(sets[key].labels, pred, base)
                shown.append(f"{key} [{low:+.3f}, {high:+.3f}]")
            print(f"  {name:22} " + ", ".join(shown))
    procedures(names)
    if args.authors:
        by_author(names, train)
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
