"""Answers on procedures: how often a resident's question gets the right answer.

    python bench/bench_answers.py [--knowledge FILE] [--threshold 0.4]

Data: `tests/data/procedures/` — two sets of residents' questions, each written by its own
author session, blind to the knowledge file, to the matcher and to the other set:
`dev.csv` (200) is where the threshold is chosen, `heldout.csv` (320) only measures it.
About a quarter of each are questions no entry answers (`none`): those should go to an
officer. Prints, per threshold on dev and for the chosen threshold on both sets:

Baseline, printed after, on the same sets: the nearest example by TF-IDF cosine similarity
(word 1-2 + char_wb 3-5 n-grams), its threshold chosen on dev the same way.

- answer accuracy: questions with an entry that got that entry's answer;
- wrong answers: questions that got another entry's answer, or an answer although no
  entry fits (the costly mistake: a resident acting on the wrong procedure);
- handed over: questions sent to an officer (right for `none`, a miss otherwise);
- single-question latency p50/p99 and batch throughput.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_union

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botkit.residents.knowledge import load_knowledge  # noqa: E402
from classifiers.faq import DEFAULT_THRESHOLD, FaqEntry, FaqMatch, FaqMatcher  # noqa: E402
from classifiers.normalize import canonical_text  # noqa: E402

DATA = ROOT / "tests" / "data" / "procedures"
NONE = "none"


def load(name: str) -> list[tuple[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return [(row["question"], row["expected"]) for row in csv.DictReader(fh)]


def score(rows: list[tuple[str, str]], found: list[FaqMatch], threshold: float) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for (_, expected), match in zip(rows, found, strict=True):
        best = match.id
        answered = match.score >= threshold or (match.keyword and match.score >= threshold / 2)
        if expected == NONE:
            counts["none"] += 1
            counts["none_answered" if answered else "none_handed"] += 1
        else:
            counts["known"] += 1
            if not answered:
                counts["known_handed"] += 1
            elif best == expected:
                counts["known_right"] += 1
            else:
                counts["known_wrong"] += 1
    total = len(rows)
    wrong = counts["known_wrong"] + counts["none_answered"]
    right = counts["known_right"] + counts["none_handed"]
    return {
        "accuracy": counts["known_right"] / max(counts["known"], 1),
        "known_wrong": counts["known_wrong"] / max(counts["known"], 1),
        "known_handed": counts["known_handed"] / max(counts["known"], 1),
        "none_handed": counts["none_handed"] / max(counts["none"], 1),
        "none_answered": counts["none_answered"] / max(counts["none"], 1),
        "wrong": wrong / total,
        "handed": (counts["known_handed"] + counts["none_handed"]) / total,
        "overall": right / total,
    }


def baseline(
    entries: Sequence[FaqEntry], dev: list[tuple[str, str]], heldout: list[tuple[str, str]]
) -> None:
    texts, owners = [], []
    for entry in entries:
        for example in (entry.title, *entry.keywords, *entry.questions):
            texts.append(canonical_text(example))
            owners.append(entry.id)
    vectorizer = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
    )
    examples = vectorizer.fit_transform(texts)

    def nearest(rows: list[tuple[str, str]]) -> list[FaqMatch]:
        sims = (vectorizer.transform([canonical_text(q) for q, _ in rows]) @ examples.T).toarray()
        sims = sims / 2  # two stacked unit vectors: back to a cosine
        return [FaqMatch(owners[int(r.argmax())], float(r.max())) for r in sims]

    dev_found, held_found = nearest(dev), nearest(heldout)
    best = max(
        (step / 100 for step in range(10, 80, 5)),
        key=lambda t: score(dev, dev_found, t)["overall"],
    )
    print(f"\nbaseline, nearest example by cosine, threshold {best:.2f} (best on dev):")
    print(line("  dev.csv", score(dev, dev_found, best)))
    print(line(f"  heldout.csv ({len(heldout)})", score(heldout, held_found, best)))


def line(name: str, s: dict[str, float]) -> str:
    return (
        f"{name:<22} answer accuracy {s['accuracy']:.3f}  wrong answers {s['wrong']:.3f}"
        f" (known {s['known_wrong']:.3f}, none answered {s['none_answered']:.3f})"
        f"  handed over {s['handed']:.3f} (of none: {s['none_handed']:.3f})"
        f"  all right {s['overall']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--knowledge", type=Path, default=None)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    knowledge = load_knowledge(args.knowledge)
    start = time.perf_counter()
    matcher = FaqMatcher(knowledge.entries, args.threshold)
    built = time.perf_counter() - start
    examples = sum(len(e.questions) + len(e.keywords) + 1 for e in knowledge.entries)
    print(
        f"knowledge: {knowledge.source}: {len(knowledge.procedures)} procedures, "
        f"{examples} examples; matcher built in {built * 1000:.0f} ms"
    )
    dev, heldout = load("dev.csv"), load("heldout.csv")
    dev_found = matcher.best([q for q, _ in dev])
    print(
        f"\ndev.csv ({len(dev)} questions, {sum(e == NONE for _, e in dev)} none): threshold sweep"
    )
    for step in range(20, 75, 5):
        threshold = step / 100
        print(line(f"  threshold {threshold:.2f}", score(dev, dev_found, threshold)))
    held_found = matcher.best([q for q, _ in heldout])
    print(f"\nat threshold {args.threshold:.2f}:")
    print(line("  dev.csv", score(dev, dev_found, args.threshold)))
    print(line(f"  heldout.csv ({len(heldout)})", score(heldout, held_found, args.threshold)))

    baseline(knowledge.entries, dev, heldout)

    questions = [q for q, _ in heldout]
    times = []
    for question in questions:
        t0 = time.perf_counter()
        matcher.match([question])
        times.append(time.perf_counter() - t0)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    t0 = time.perf_counter()
    matcher.match(questions * 10)
    batch = len(questions) * 10 / (time.perf_counter() - t0)
    print(
        f"\none question: p50 {statistics.median(times) * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms; batches of {len(questions) * 10}: {batch:,.0f} questions/s"
    )


if __name__ == "__main__":
    main()
