"""Benchmark the known-claim index: build time, memory, match latency vs. index size.

Synthetic hoax claims are generated from vocabulary with a seeded RNG (place names
come from the offline ``vietnam-provinces`` data). For each size the script builds an
index, then times ``match`` for forwarded variants of indexed claims (should match)
and for ordinary group messages (should not), printing p50/p99 latencies.

    python bench/bench_claims.py [--sizes 1000 10000 100000] [--queries 1000]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from vietnam_provinces import Ward

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers.claims import ClaimIndex  # noqa: E402

SUBJECTS = [
    "Có một nhóm người lạ đi xe {vehicle} màu {color}",
    "Bọn buôn người giả làm nhân viên {org}",
    "Một chiếc xe {vehicle} không biển số",
    "Người tự xưng là cán bộ {org}",
    "Nhóm đối tượng mặc áo {color}",
    "Một người phụ nữ lạ mặt",
    "Có kẻ xấu",
    "Công ty {org} vừa thông báo",
    "Bệnh viện tỉnh xác nhận",
    "Cán bộ {org} nói riêng với em",
    "Nghe người nhà làm ở {org} kể",
    "Trưởng thôn vừa nhắn",
]
EVENTS = [
    "bắt cóc {n} trẻ em để lấy nội tạng",
    "bỏ thuốc độc vào {water}",
    "phát {money} tiền hỗ trợ cho mỗi hộ",
    "thu tiền phạt {money} người chưa đổi căn cước",
    "làm {n} người nhập viện vì {disease}",
    "xả chất độc làm cá chết trắng {water}",
    "trộm {n} con bò trong đêm",
    "tiêm thuốc vào {fruit} cho chín ép",
    "đang lây {disease} cho cả xóm",
    "cưỡng chế thu hồi đất rẫy không đền bù",
    "khóa sim điện thoại của người chưa xác thực",
    "làm vỡ đập {water} trong đêm nay",
    "bán {fruit} nhiễm hóa chất ở chợ",
    "phát khẩu trang tẩm thuốc mê",
]
PLACES = [
    "ở thôn {h} {ward}",
    "tại buôn {buon} {ward}",
    "ở tổ dân phố {h} {ward}",
    "gần chợ {ward}",
    "quanh trường tiểu học {ward}",
    "ở khu vực {ward}",
]
CONSEQUENCES = [
    "đã có {n} người {fate}",
    "bà con {advice}",
    "chính quyền đang giấu không cho ai biết",
    "ai thấy thì báo ngay cho {who}",
    "hạn chót là {day} tuần sau",
    "mọi người {advice} và chia sẻ cho người thân",
    "công an đang truy tìm {n} đối tượng",
    "nhà nào có con nhỏ thì {advice}",
]
FILL: dict[str, list[str]] = {
    "vehicle": ["7 chỗ", "bán tải", "tải nhỏ", "Innova", "Exciter", "Wave", "16 chỗ", "ba gác"],
    "color": ["trắng", "đen", "bạc", "xanh", "đỏ", "xám", "vàng", "nâu"],
    "org": ["điện lực", "cấp nước", "y tế", "ngân hàng", "bảo hiểm", "địa chính", "viễn thông"],
    "water": ["bồn nước tổng", "giếng làng", "hồ thủy lợi", "nước máy", "suối đầu buôn"],
    "money": ["2 triệu", "5 triệu", "500 nghìn", "10 triệu", "3 triệu", "1 triệu rưỡi"],
    "disease": ["cúm gà", "sốt xuất huyết", "bệnh lạ", "tả", "sởi", "đậu mùa khỉ", "lao"],
    "fruit": ["sầu riêng", "bơ", "xoài", "thanh long", "mít", "chuối"],
    "fate": ["tử vong", "nhập viện", "mất tích", "bị liệt", "cấp cứu", "bị thương"],
    "advice": [
        "không ra khỏi nhà",
        "không mua thịt ngoài chợ",
        "giữ con trong nhà",
        "di tản lên đồi cao",
        "đóng cửa sớm",
        "không dùng nước máy",
    ],
    "who": ["trưởng thôn", "công an xã", "trạm y tế", "anh em trong nhóm"],
    "day": ["thứ hai", "thứ ba", "thứ tư", "thứ năm", "thứ sáu", "thứ bảy", "chủ nhật"],
    "buon": ["Ea Tul", "Ko Tam", "Kmrơng", "Ea Kmar", "Cuôr", "Tơng Jũ", "Ea Bông", "Drai"],
    "title": ["anh", "chị", "chú", "cô", "bác", "ông", "bà", "em"],
    "name": [
        "Hùng",
        "Lan",
        "Tuấn",
        "Mai",
        "Y Thuột",
        "H'Hen",
        "Dũng",
        "Hoa",
        "Nam",
        "Thảo",
        "Bình",
        "Hằng",
        "Sơn",
        "Nga",
        "Y Sol",
        "H'Linh",
        "Phúc",
        "Trang",
        "Quang",
        "Vy",
        "Long",
        "Hương",
        "Tài",
        "Yến",
        "Khoa",
        "Nhung",
        "Ama Kông",
        "Hiếu",
        "Loan",
        "Đạt",
    ],
}
SOURCES = [
    "theo lời {title} {name} ở {ward}",
    "{title} {name} bán tạp hóa ở thôn {h} vừa kể",
    "tin từ {title} {name} làm ở {org}",
    "{title} {name} đã xác nhận",
]
PREFIXES = ["CHIA SẺ GẤP!!! ", "Fw: ", "TIN KHẨN ‼️ ", ""]
EMOJIS = ["😱", "‼️", "🙏", "😭", "⚠️"]


def _wards() -> list[str]:
    return [" ".join(w.name.split()) for w in Ward.iter_all()]


def _fill(template: str, rng: random.Random, wards: list[str]) -> str:
    values = {key: rng.choice(options) for key, options in FILL.items()}
    values |= {"n": str(rng.randint(2, 60)), "h": str(rng.randint(1, 20))}
    values["ward"] = rng.choice(wards)
    return template.format(**values)


def synthetic_claims(count: int, seed: int) -> Iterator[str]:
    """Hoax-like claims: subject, place, event, consequences and who said so.

    Every half of a claim carries some specifics (a place, a number, a name), as real
    claims do; otherwise a half would be shared by many claims and match them all.
    """
    rng = random.Random(seed)
    wards = _wards()
    for _ in range(count):
        parts = [
            _fill(rng.choice(SUBJECTS), rng, wards),
            _fill(rng.choice(PLACES), rng, wards),
            _fill(rng.choice(EVENTS), rng, wards) + ",",
            _fill(rng.choice(CONSEQUENCES), rng, wards) + ",",
            _fill(rng.choice(CONSEQUENCES), rng, wards) + ",",
            _fill(rng.choice(SOURCES), rng, wards),
        ]
        yield " ".join(parts) + "."


def forwarded(text: str, rng: random.Random) -> str:
    """A realistic re-forward: a prefix, maybe cut to one half, emoji, odd case."""
    words = text.split()
    cut = rng.random()
    if cut < 0.25:
        words = words[: (len(words) + 1) // 2]
    elif cut < 0.5:
        words = words[len(words) // 2 :]
    words.insert(rng.randrange(len(words) + 1), rng.choice(EMOJIS))
    out = rng.choice(PREFIXES) + " ".join(words)
    return out.upper() if rng.random() < 0.2 else out


def ordinary_messages() -> list[str]:
    path = ROOT / "tests" / "classifiers" / "data" / "unrelated_messages.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln for ln in lines if ln.strip() and not ln.startswith("#")]


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return statistics.median(ms), p99


def _time_queries(fn: Callable[[str], object], queries: list[str]) -> list[int]:
    out = []
    for q in queries:
        t0 = time.perf_counter_ns()
        fn(q)
        out.append(time.perf_counter_ns() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--max-postings", type=int, default=None, help="ClaimIndex max_postings")
    args = parser.parse_args()

    t0 = time.perf_counter()
    claims = list(synthetic_claims(max(args.sizes), args.seed))
    print(f"generated {len(claims):,} synthetic claims in {time.perf_counter() - t0:.1f} s")
    words = [len(c.split()) for c in claims[:10_000]]
    print(f"claim length: median {statistics.median(words):.0f} words, max {max(words)}")
    ordinary = ordinary_messages()
    print()
    header = (
        f"{'claims':>8} {'build s':>8} {'µs/add':>7} {'MiB':>7} "
        f"{'hit p50':>8} {'hit p99':>8} {'recall':>7} "
        f"{'miss p50':>9} {'miss p99':>9} {'false':>6}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for size in args.sizes:
        rng = random.Random(args.seed + size)
        subset = claims[:size]
        gc.collect()
        params = {} if args.max_postings is None else {"max_postings": args.max_postings}
        index = ClaimIndex(**params)
        t0 = time.perf_counter()
        for i, text in enumerate(subset):
            index.add(f"c{i}", text)
        build = time.perf_counter() - t0

        mib = float("nan")
        if not args.no_memory:
            del index
            gc.collect()
            tracemalloc.start()
            index = ClaimIndex(**params)
            for i, text in enumerate(subset):
                index.add(f"c{i}", text)
            mib = tracemalloc.get_traced_memory()[0] / 2**20
            tracemalloc.stop()

        picks = [rng.randrange(size) for _ in range(args.queries)]
        hit_queries = [forwarded(subset[i], rng) for i in picks]
        miss_queries = [ordinary[i % len(ordinary)] for i in range(args.queries)]
        for q in hit_queries[:50]:  # warm caches
            index.match(q)
        hit_ns = _time_queries(index.match, hit_queries)
        miss_ns = _time_queries(index.match, miss_queries)
        recall = sum(
            f"c{i}" in {m.claim_id for m in index.match(q)}
            for i, q in zip(picks, hit_queries, strict=True)
        ) / len(picks)
        false = sum(bool(index.match(q)) for q in miss_queries) / len(miss_queries)
        hit_p50, hit_p99 = _percentiles(hit_ns)
        miss_p50, miss_p99 = _percentiles(miss_ns)
        rows.append((size, hit_p50, miss_p50))
        print(
            f"{size:>8,} {build:>8.2f} {build / size * 1e6:>7.0f} {mib:>7.1f} "
            f"{hit_p50:>6.3f}ms {hit_p99:>6.3f}ms {recall:>7.3f} "
            f"{miss_p50:>7.3f}ms {miss_p99:>7.3f}ms {false:>6.3f}"
        )
        del index
        gc.collect()
    if len(rows) > 1:
        (s0, h0, m0), (s1, h1, m1) = rows[0], rows[-1]
        print(
            f"\nfrom {s0:,} to {s1:,} claims ({s1 / s0:.0f}x): "
            f"hit p50 x{h1 / h0:.2f}, miss p50 x{m1 / m0:.2f}"
        )


if __name__ == "__main__":
    main()
