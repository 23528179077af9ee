"""Near-duplicate folding: reworded forwards joined, different stories kept apart.

    python bench/bench_near_duplicates.py [--threshold 0.6 ...]

Data: `tests/data/near_duplicates/` (written by an author blind to the training data):
120 families, each an original post and three re-posts as people re-post (reworded,
diacritics stripped, shortened, with their own comment), and two distractors per family
(a different story on the same topic or place). All originals are open at once, as
incidents in a busy district would be. Prints, per similarity threshold, the share of
re-posts folded into their own family (and into a wrong one), and the share of distractors
folded into any open incident (false joins).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botkit.nearby import word_index  # noqa: E402
from classifiers.normalize import canonical_text  # noqa: E402

DATA = ROOT / "tests" / "data" / "near_duplicates"


def load() -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    families: dict[str, list[str]] = defaultdict(list)
    with (DATA / "families.csv").open(encoding="utf-8", newline="") as fh:
        for row in sorted(csv.DictReader(fh), key=lambda r: (r["family"], int(r["variant"]))):
            families[row["family"]].append(row["text"])
    with (DATA / "distractors.csv").open(encoding="utf-8", newline="") as fh:
        distractors = [(r["family"], r["text"]) for r in csv.DictReader(fh)]
    return dict(families), distractors


def measure(threshold: float, kinds: tuple[str, ...] = ()) -> dict[str, float]:
    families, distractors = load()
    if kinds:
        families = {k: v for k, v in families.items() if k.startswith(kinds)}
        distractors = [d for d in distractors if d[0].startswith(kinds)]
    index = word_index(threshold)  # what botkit.nearby folds with
    for family, texts in families.items():
        if index.accepts(canonical_text(texts[0])):
            index.add(family, canonical_text(texts[0]))
    own = wrong = total = 0
    for family, texts in families.items():
        for text in texts[1:]:
            total += 1
            found = index.match(canonical_text(text), limit=1)
            if found and found[0].claim_id == family:
                own += 1
            elif found:
                wrong += 1
    false_joins = sum(bool(index.match(canonical_text(t), limit=1)) for _, t in distractors)
    return {
        "reposts": total,
        "joined": own / total,
        "wrong_family": wrong / total,
        "distractors": len(distractors),
        "false_joins": false_joins / len(distractors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, action="append")
    args = parser.parse_args()
    thresholds = args.threshold or [0.4, 0.5, 0.55, 0.6, 0.65, 0.7]
    for title, kinds in (("all families", ()), ("fake_news families only", ("fake_news",))):
        print(f"\n== {title} " + "=" * 50)
        print(f"{'threshold':>9} {'joined':>7} {'wrong':>6} {'false joins':>12}")
        for t in thresholds:
            start = time.perf_counter()
            m = measure(t, kinds)
            took = time.perf_counter() - start
            print(
                f"{t:9.2f} {m['joined']:7.1%} {m['wrong_family']:6.1%} {m['false_joins']:12.1%}"
                f"   ({int(m['reposts'])} re-posts, {int(m['distractors'])} distractors,"
                f" {took:.2f} s)"
            )


if __name__ == "__main__":
    main()
