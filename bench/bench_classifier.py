"""Benchmark of the message classifier: speed, memory, load time and quality.

    python bench/bench_classifier.py            # speed + quality on the shipped corpus
    python bench/bench_classifier.py --tune     # also 5-fold CV of a parameter grid
                                                #   on the seed (training) split only
    python bench/bench_classifier.py --quick    # fewer repetitions

Runs on one core (BLAS/OpenMP threads pinned to 1 before numpy loads). When
../shared/data/vfnd/vfnd.csv exists (benchmark-only data, GPL: never trained into a
shipped model) it also compares our pipeline with a plain TF-IDF + logistic regression
baseline by stratified 5-fold CV, and their end-to-end classification throughput.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import itertools  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: E402

from classifiers.corpus import heldout_corpus, seed_corpus  # noqa: E402
from classifiers.evaluation import evaluate  # noqa: E402
from classifiers.explain import explain_many  # noqa: E402
from classifiers.model import TextClassifier  # noqa: E402
from classifiers.normalize import fold_diacritics, normalize  # noqa: E402
from classifiers.persistence import save_model  # noqa: E402
from classifiers.training import train_model  # noqa: E402

VFND = ROOT.parent / "shared" / "data" / "vfnd" / "vfnd.csv"


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def baseline() -> Pipeline:
    """The plain reference: TF-IDF word 1-2 + char_wb 2-5, logistic regression."""
    return Pipeline(
        [
            (
                "tfidf",
                FeatureUnion(
                    [
                        ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                        (
                            "char",
                            TfidfVectorizer(
                                analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
                            ),
                        ),
                    ]
                ),
            ),
            ("lr", LogisticRegression(C=10.0, max_iter=2000)),
        ]
    )


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def bench_speed(model: TextClassifier, texts: list[str], repeat: int) -> None:
    section("speed (one core)")
    batch = (texts * (5000 // len(texts) + 1))[:5000]
    model.predict_proba(batch[:100])  # warm caches
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        model.predict_proba(batch)
        best = min(best, time.perf_counter() - start)
    print(f"batch of {len(batch)}: {len(batch) / best:,.0f} msgs/s (best of {repeat})")
    start = time.perf_counter()
    for text in batch[:2000]:
        normalize(text)
    norm_us = (time.perf_counter() - start) / 2000 * 1e6
    print(f"  of which normalize(): {norm_us:.0f} µs/msg")
    latencies = []
    for text in texts[:1000] * max(1, 1000 // len(texts[:1000])):
        start = time.perf_counter()
        model.predict_proba([text])
        latencies.append(time.perf_counter() - start)
    p50, p99 = np.percentile(latencies, [50, 99]) * 1e3
    print(f"single message ({len(latencies)} calls): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    # A flagged message is also explained (the words behind its score, on the alert): by
    # the model's feature contributions, and by occlusion as any other model would be.
    labels = [str(label) for label in model.predict(texts)]
    flagged = [(t, lab) for t, lab in zip(texts, labels, strict=True) if lab != "normal"][:500]
    for name, explained in (("contributions", model), ("occlusion", _ProbaOnly(model))):
        took = []
        for item in flagged:
            start = time.perf_counter()
            explain_many(explained, [item])
            took.append(time.perf_counter() - start)
        p50, p99 = np.percentile(took, [50, 99]) * 1e3
        print(
            f"explaining a flagged message by {name} ({len(took)}): p50 {p50:.2f} ms,"
            f" p99 {p99:.2f} ms"
        )


class _ProbaOnly:
    """The model seen only through predict_proba: explained by occlusion."""

    def __init__(self, model: TextClassifier) -> None:
        self.classes_ = model.classes_
        self.predict_proba = model.predict_proba


_LOAD_PROBE = """
import os, sys, time
sys.path.insert(0, {root!r})
from classifiers.persistence import load_model
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = rss()
start = time.perf_counter()
loaded = load_model({directory!r})
loaded.model.predict_proba(["khởi động"])
print(time.perf_counter() - start, before, rss())
"""


def bench_load(model: TextClassifier, card: Any) -> None:
    """Load time and memory in a fresh interpreter (libraries imported before measuring)."""
    section("model file")
    with tempfile.TemporaryDirectory() as tmp:
        directory = save_model(model, card, Path(tmp) / card.version)
        size = (directory / "model.skops").stat().st_size
        probe = _LOAD_PROBE.format(root=str(ROOT), directory=str(directory))
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split()
    elapsed, before, after = (float(x) for x in out)
    print(f"model.skops {size / 2**20:.1f} MiB; load + first prediction {elapsed * 1e3:.0f} ms")
    print(
        f"resident memory: {before:.0f} MiB with libraries, {after:.0f} MiB with the model "
        f"({after - before:+.1f} MiB)"
    )


def bench_quality(model: TextClassifier, card: Any) -> None:
    section("quality on the shipped held-out split")
    heldout = heldout_corpus()
    report = evaluate(model, list(heldout.texts), list(heldout.labels))
    folded = evaluate(model, [fold_diacritics(t) for t in heldout.texts], list(heldout.labels))
    print(report.to_table())
    print(
        f"\nheld-out macro-F1 {report.macro_f1:.4f}; diacritics stripped {folded.macro_f1:.4f} "
        f"(gap {report.macro_f1 - folded.macro_f1:+.4f})"
    )
    probs = report.probabilities
    y = np.asarray(report.y_true)
    classes = list(report.model_labels)
    onehot = (y[:, None] == np.asarray(classes)[None, :]).astype(float)
    brier = float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))
    conf = probs.max(axis=1)
    correct = np.asarray(report.y_pred) == y
    bins = np.linspace(0, 1, 11)
    ece = 0.0
    for lo, hi in itertools.pairwise(bins):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(conf[mask].mean() - correct[mask].mean())
    print(f"calibration: Brier {brier:.4f}, expected calibration error {ece:.4f}")
    print(f"suggested thresholds: {card.thresholds}")


def tune(repeat_folds: int) -> None:
    section("parameter grid, 5-fold CV on the seed split only")
    seed = seed_corpus()
    texts = np.asarray(seed.texts, dtype=object)
    labels = np.asarray(seed.labels)
    grid: list[dict[str, Any]] = [
        {"C": c, "char_ngram_range": r, "min_df": m}
        for c in (3.0, 10.0, 30.0, 100.0)
        for r in ((2, 5), (1, 4), (2, 4))
        for m in (1, 2)
    ]
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    splits = list(splitter.split(texts, labels))[:repeat_folds]
    rows = []
    for params in grid:
        scores, folded_scores = [], []
        for train_idx, test_idx in splits:
            model = TextClassifier(**params).fit(list(texts[train_idx]), list(labels[train_idx]))
            test = list(texts[test_idx])
            scores.append(f1_score(labels[test_idx], model.predict(test), average="macro"))
            folded = [fold_diacritics(t) for t in test]
            folded_scores.append(f1_score(labels[test_idx], model.predict(folded), average="macro"))
        rows.append((float(np.mean(scores)), float(np.mean(folded_scores)), params))
        print(
            f"{params}: macro-F1 {np.mean(scores):.4f} ± {np.std(scores):.4f}, "
            f"folded {np.mean(folded_scores):.4f}",
            flush=True,
        )
    best = max(rows, key=lambda r: r[0] + r[1])
    print(f"best (mean of plain and folded CV macro-F1): {best[2]}")


def read_vfnd() -> tuple[list[str], np.ndarray]:
    csv.field_size_limit(1 << 30)
    with VFND.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], np.asarray([r["label"] for r in rows])


def bench_vfnd() -> None:
    section(f"VFND ({VFND.name}): ours vs TF-IDF + LR, stratified 5-fold")
    texts, labels = read_vfnd()
    print(f"{len(texts)} articles, mean {np.mean([len(t) for t in texts]):.0f} characters")
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    candidates: dict[str, Any] = {
        "ours (max_chars=1000)": lambda: TextClassifier(),
        "ours (max_chars=5000)": lambda: TextClassifier(max_chars=5000),
        "TF-IDF+LR baseline": baseline,
    }
    arr = np.asarray(texts, dtype=object)
    for name, factory in candidates.items():
        f1s, aucs = [], []
        fit_time = predict_time = 0.0
        for train_idx, test_idx in splitter.split(arr, labels):
            model = factory()
            start = time.perf_counter()
            model.fit(list(arr[train_idx]), list(labels[train_idx]))
            fit_time += time.perf_counter() - start
            start = time.perf_counter()
            probs = model.predict_proba(list(arr[test_idx]))
            predict_time += time.perf_counter() - start
            classes = [str(c) for c in model.classes_]
            predicted = np.asarray(classes)[probs.argmax(axis=1)]
            f1s.append(f1_score(labels[test_idx], predicted, average="macro"))
            aucs.append(roc_auc_score(labels[test_idx] == "1", probs[:, classes.index("1")]))
        print(
            f"{name:24s} macro-F1 {np.mean(f1s):.4f} ± {np.std(f1s):.4f}   "
            f"ROC-AUC {np.mean(aucs):.4f}   fit {fit_time:.1f} s, "
            f"classify {len(texts) / predict_time:,.0f} articles/s"
        )


def bench_end_to_end(model: TextClassifier, texts: list[str]) -> None:
    section("end to end: our classify path vs a plain TF-IDF + LR script")
    seed = seed_corpus()
    plain = baseline().fit(list(seed.texts), list(seed.labels))
    batch = (texts * (5000 // len(texts) + 1))[:5000]
    best = {"ours": float("inf"), "plain TF-IDF+LR": float("inf")}
    for _ in range(3):  # interleaved, best of 3: the machine is shared
        for name, clf in (("ours", model), ("plain TF-IDF+LR", plain)):
            start = time.perf_counter()
            clf.predict_proba(batch)
            best[name] = min(best[name], time.perf_counter() - start)
    for name, elapsed in best.items():
        print(f"{name:16s} {len(batch) / elapsed:,.0f} msgs/s on held-out chat messages")
    heldout = heldout_corpus()
    for name, clf in (("ours", model), ("plain TF-IDF+LR", plain)):
        for variant, xs in (
            ("as written", list(heldout.texts)),
            ("diacritics stripped", [fold_diacritics(t) for t in heldout.texts]),
        ):
            f1 = f1_score(heldout.labels, clf.predict(xs), average="macro")
            print(f"{name:16s} held-out macro-F1 {variant}: {f1:.4f}")
    if VFND.is_file():
        articles, _ = read_vfnd()
        for name, clf in (("ours", model), ("plain TF-IDF+LR", plain)):
            elapsed = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                clf.predict_proba(articles)
                elapsed = min(elapsed, time.perf_counter() - start)
            print(f"{name:16s} {len(articles) / elapsed:,.0f} VFND articles/s (long texts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", action="store_true", help="5-fold CV over a parameter grid")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-vfnd", action="store_true", help="skip the VFND comparison")
    args = parser.parse_args()

    section("training on the seed corpus (train_model, default parameters)")
    before = rss_mb()
    start = time.perf_counter()
    from classifiers.corpus import LabelledData

    model, card = train_model(LabelledData((), (), (), "bench"))
    print(
        f"{card.n_train} texts, {model.n_features_:,} features, "
        f"trained in {time.perf_counter() - start:.1f} s "
        "(incl. choosing the learner and calibrating on a held-aside quarter); "
        f"RSS {before:.0f} → {rss_mb():.0f} MiB"
    )
    heldout_texts = list(heldout_corpus().texts)
    bench_speed(model, heldout_texts, repeat=2 if args.quick else 5)
    bench_load(model, card)
    bench_quality(model, card)
    bench_end_to_end(model, heldout_texts)
    if VFND.is_file() and not args.no_vfnd:
        bench_vfnd()
    elif not VFND.is_file():
        print(f"\n(no {VFND}: VFND comparison skipped)")
    if args.tune:
        tune(repeat_folds=3 if args.quick else 5)


if __name__ == "__main__":
    main()
