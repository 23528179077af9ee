"""Whole-process comparison: `botkit classify` vs a plain TF-IDF + LR script on the same file.

Both are timed as separate processes from start to last output line, on the same CSV
(held-out chat messages repeated to N rows). The plain model is trained on the seed
corpus beforehand (not timed) and loaded with joblib, as such a script would.
Run: .venv/bin/python bench/bench_classify_process.py [N]
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLAIN_SCRIPT = """
import csv, json, sys, joblib
model = joblib.load(sys.argv[1])
rows = list(csv.DictReader(open(sys.argv[2], encoding="utf-8")))
probs = model.predict_proba([r["text"] for r in rows])
labels = list(model.classes_)
out = sys.stdout
for r, p in zip(rows, probs):
    i = int(p.argmax())
    out.write(json.dumps({"id": r["id"], "label": labels[i],
                          "scores": dict(zip(labels, map(float, p)))}, ensure_ascii=False) + "\\n")
"""


def train_plain(path: Path) -> None:
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    from classifiers.corpus import seed_corpus

    seed = seed_corpus()
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(max_iter=2000, C=10),
    )
    model.fit(list(seed.texts), list(seed.labels))
    joblib.dump(model, path)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rows = list(
        csv.DictReader((ROOT / "classifiers/data/heldout/heldout.csv").open(encoding="utf-8"))
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "messages.csv"
        with data.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text"])
            for i in range(count):
                writer.writerow([i, rows[i % len(rows)]["text"]])
        model = Path(tmp) / "plain.joblib"
        train_plain(model)
        script = Path(tmp) / "plain.py"
        script.write_text(PLAIN_SCRIPT)
        botkit = [str(ROOT / ".venv/bin/botkit"), "classify", "--input", str(data)]
        plain = [sys.executable, str(script), str(model), str(data)]
        ours = min(timed(botkit) for _ in range(3))
        theirs = min(timed(plain) for _ in range(3))
    print(f"whole process, {count:,} messages (best of 3):")
    print(f"  botkit classify        {ours:6.2f} s  = {count / ours:8,.0f} msgs/s")
    print(f"  plain TF-IDF+LR script {theirs:6.2f} s  = {count / theirs:8,.0f} msgs/s")


if __name__ == "__main__":
    main()
