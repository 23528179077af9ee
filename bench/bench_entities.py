"""Benchmark entity extraction: sentences/s one by one and batched, huge-text cost.

With ``--pyvi`` (needs the optional ``pyvi`` package importable) it also compares the
built-in syllable tokenizer with spaCy's pyvi word segmenter on a small labelled set,
to check whether pyvi would be worth a dependency.

    python bench/bench_entities.py [--repeat 5] [--pyvi]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers.entities import Entity, EntityExtractor, _norm  # noqa: E402

# (text, expected (label, text) pairs for COMMUNE and HAMLET)
LABELLED: list[tuple[str, set[tuple[str, str]]]] = [
    ("Có trộm ở xã Cư M’gar tối qua", {("COMMUNE", "xã Cư M’gar")}),
    ("co trom o xa cu mgar toi qua", {("COMMUNE", "xa cu mgar")}),
    ("nhà em ở CưMgar", {("COMMUNE", "CưMgar")}),
    ("Ngập ở Phường Buôn Ma Thuột rồi", {("COMMUNE", "Phường Buôn Ma Thuột")}),
    ("đi BMT chơi", {("COMMUNE", "BMT")}),
    ("ngã tư thôn 4 Ea Kao, tầm 8h", {("HAMLET", "thôn 4"), ("COMMUNE", "Ea Kao")}),
    ("ngã tư thon 4 ea kao tầm 8h", {("HAMLET", "thon 4"), ("COMMUNE", "ea kao")}),
    ("phường Tân Lập có họp", {("COMMUNE", "phường Tân Lập")}),
    ("mất bò ở thôn 3 xã Ea Tul", {("HAMLET", "thôn 3"), ("COMMUNE", "xã Ea Tul")}),
    ("Ở buôn Ea Tul có đám cưới", {("HAMLET", "buôn Ea Tul")}),
    ("co trom bo o buon ko tam dem qua", {("HAMLET", "buon ko tam")}),
    ("hẻm 12 tổ dân phố 5 từ chiều", {("HAMLET", "tổ dân phố 5")}),
    ("TDP 5 phường Tân An", {("HAMLET", "TDP 5"), ("COMMUNE", "phường Tân An")}),
    (
        "Thôn Tân Hòa xã Krông Pắc mất điện",
        {("HAMLET", "Thôn Tân Hòa"), ("COMMUNE", "xã Krông Pắc")},
    ),
    ("xe lật ở xã Ea H’leo sáng nay", {("COMMUNE", "xã Ea H’leo")}),
    ("ở M’Drắk mưa to", {("COMMUNE", "M’Drắk")}),
    ("khối 2 phường Thành Nhất", {("HAMLET", "khối 2"), ("COMMUNE", "phường Thành Nhất")}),
    ("cứ bảo là tân tiến lắm", set()),
    ("đi buôn bán ở chợ", set()),
    ("buồn ngủ quá", set()),
]


def corpus() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "classifiers" / "data" / "seed").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            texts += [row["text"] for row in csv.DictReader(fh) if row.get("text")]
    unrelated = ROOT / "tests" / "classifiers" / "data" / "unrelated_messages.txt"
    if unrelated.exists():
        lines = unrelated.read_text(encoding="utf-8").splitlines()
        texts += [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    return texts


def _pyvi_extractor() -> EntityExtractor:
    """The same extractor, but tokenised by spaCy's pyvi word segmenter."""
    from spacy.lang.vi import VietnameseTokenizer
    from spacy.tokens import Doc

    extractor = EntityExtractor(66)
    inner = VietnameseTokenizer(extractor.nlp.vocab, use_pyvi=True)

    def tokenize(text: str) -> Doc:
        doc = inner(text)
        for token in doc:
            token.norm_ = _norm(token.text)
        return doc

    extractor.nlp.tokenizer = tokenize
    extractor.max_vocab = 10**9  # a rebuild would restore the built-in tokenizer
    extractor._build_matchers()
    return extractor


def _score(extractor: EntityExtractor) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for text, gold in LABELLED:
        got = {
            (e.label, e.text) for e in extractor.extract(text) if e.label in ("COMMUNE", "HAMLET")
        }
        tp += len(got & gold)
        fp += len(got - gold)
        fn += len(gold - got)
    return tp, fp, fn


def _throughput(extractor: EntityExtractor, texts: list[str], repeat: int) -> tuple[float, float]:
    one = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for t in texts:
            extractor.extract(t)
        one.append(len(texts) / (time.perf_counter() - t0))
    many = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        extractor.extract_many(texts)
        many.append(len(texts) / (time.perf_counter() - t0))
    return statistics.median(one), statistics.median(many)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pyvi", action="store_true", help="compare with pyvi segmentation")
    args = parser.parse_args()

    t0 = time.perf_counter()
    extractor = EntityExtractor(66)
    print(f"EntityExtractor(66) built in {(time.perf_counter() - t0) * 1e3:.0f} ms")
    texts = corpus()
    chars = statistics.mean(len(t) for t in texts)
    print(f"corpus: {len(texts)} messages, mean {chars:.0f} chars")
    extractor.extract_many(texts)  # warm the norm cache and string store

    per_call = []
    for t in texts:
        s = time.perf_counter_ns()
        extractor.extract(t)
        per_call.append((time.perf_counter_ns() - s) / 1e3)
    per_call.sort()
    one, many = _throughput(extractor, texts, args.repeat)
    print(f"extract():      {one:,.0f} sentences/s")
    print(f"extract_many(): {many:,.0f} sentences/s")
    p99 = per_call[round(0.99 * (len(per_call) - 1))]
    print(f"latency per message: p50 {statistics.median(per_call):.0f} µs, p99 {p99:.0f} µs")

    big = ("Thôn 3 xã Cư M'gar gọi 0912 345 678, stk 1903 4567 8901 Techcombank. " * 1500)[:100_000]
    t1 = time.perf_counter()
    found: tuple[Entity, ...] = extractor.extract(big)
    print(
        f"100 KB message: {(time.perf_counter() - t1) * 1e3:.1f} ms "
        f"(capped at {extractor.max_chars:,} chars, {len(found)} entities)"
    )
    emoji = "😀" * 50_000
    t1 = time.perf_counter()
    extractor.extract(emoji)
    print(f"100 KB of emoji: {(time.perf_counter() - t1) * 1e3:.1f} ms")

    counts = Counter(e.label for ents in extractor.extract_many(texts) for e in ents)
    print("entities in corpus:", dict(sorted(counts.items())))

    tp, fp, fn = _score(extractor)
    print(f"labelled set (syllable tokenizer): tp={tp} fp={fp} fn={fn}")
    if args.pyvi:
        try:
            pyvi_ex = _pyvi_extractor()
        except ImportError as exc:
            print(f"pyvi comparison skipped: {exc}")
            return
        tp, fp, fn = _score(pyvi_ex)
        print(f"labelled set (pyvi tokenizer):     tp={tp} fp={fp} fn={fn}")
        one, many = _throughput(pyvi_ex, texts, max(1, args.repeat // 2))
        print(f"pyvi extract(): {one:,.0f} sentences/s, extract_many(): {many:,.0f} sentences/s")


if __name__ == "__main__":
    main()
