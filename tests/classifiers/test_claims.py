"""Known-claim matcher: variants of a confirmed hoax match it, ordinary messages do not."""

from __future__ import annotations

import csv
import json
import random
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers.claims import ClaimIndex, ClaimMatch
from classifiers.normalize import fold_diacritics

DATA = Path(__file__).parent / "data"
SEED_DIR = Path(__file__).resolve().parents[2] / "classifiers" / "data" / "seed"


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


CLAIMS: dict[str, str] = {f"claim-{i:03d}": t for i, t in enumerate(_lines("hoax_claims.txt"))}


def _unrelated() -> list[str]:
    messages = _lines("unrelated_messages.txt")
    for path in sorted(SEED_DIR.glob("normal_*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            messages += [row["text"] for row in csv.DictReader(fh) if row.get("text")]
    return messages


UNRELATED = _unrelated()

# ------------------------------------------------------------------ variant makers

PREFIXES = ["CHIA SẺ GẤP!!! ", "Fw: ", "Fwd: Fw: ", "TIN KHẨN ‼️ ", "chia se gap: ", "Cảnh báo: "]
EMOJIS = ["😱", "‼️", "🙏", "😭😭", "⚠️", "🔥🔥🔥", "👉"]
FILLERS = ["nghe nói", "thật sự", "rồi", "luôn", "đó", "ạ", "nữa", "hôm nay", "mọi người ơi"]
SWAPS = ["người ta", "bọn nó", "họ", "cả xóm", "nhiều người", "ngay", "mấy hôm nay"]

Transform = Callable[[str, random.Random], str]


def first_half(text: str, _: random.Random) -> str:
    words = text.split()
    return " ".join(words[: (len(words) + 1) // 2])


def last_half(text: str, _: random.Random) -> str:
    words = text.split()
    return " ".join(words[len(words) // 2 :])


def reword(text: str, rng: random.Random, edits: int = 3) -> str:
    """Change, add or remove a few words."""
    words = text.split()
    for _ in range(edits):
        op = rng.choice(("change", "add", "remove"))
        i = rng.randrange(len(words))
        if op == "change":
            words[i] = rng.choice(SWAPS)
        elif op == "add":
            words.insert(i, rng.choice(FILLERS))
        elif len(words) > 8:
            del words[i]
    return " ".join(words)


def add_emoji(text: str, rng: random.Random) -> str:
    words = text.split()
    for _ in range(3):
        words.insert(rng.randrange(len(words) + 1), rng.choice(EMOJIS))
    return " ".join(words) + " " + rng.choice(EMOJIS) * 2


def strip_diacritics(text: str, _: random.Random) -> str:
    return fold_diacritics(text)


def add_prefix(text: str, rng: random.Random) -> str:
    return rng.choice(PREFIXES) + text


def all_caps(text: str, _: random.Random) -> str:
    return text.upper()


def line_breaks(text: str, rng: random.Random) -> str:
    words = text.split()
    out = []
    for w in words:
        out.append(w)
        out.append(rng.choice(["\n", "\n\n", " ", " ", " ", "  "]))
    return "".join(out).strip()


def nfd(text: str, _: random.Random) -> str:
    return unicodedata.normalize("NFD", text)


SINGLE_TRANSFORMS: dict[str, Transform] = {
    "first_half": first_half,
    "last_half": last_half,
    "reword": reword,
    "emoji": add_emoji,
    "no_diacritics": strip_diacritics,
    "prefix": add_prefix,
    "all_caps": all_caps,
    "line_breaks": line_breaks,
    "nfd": nfd,
}


def variants() -> list[tuple[str, str, str]]:
    """(claim id, transform name, variant text) for every claim and transform."""
    rng = random.Random(20250101)
    out = []
    for cid, text in CLAIMS.items():
        for name, fn in SINGLE_TRANSFORMS.items():
            out.append((cid, name, fn(text, rng)))
        # Realistic forward chains: a few of the above at once.
        out.append((cid, "prefix+caps+emoji", add_emoji(all_caps(add_prefix(text, rng), rng), rng)))
        out.append((cid, "half+no_diacritics", strip_diacritics(first_half(text, rng), rng)))
        out.append((cid, "reword+line_breaks", line_breaks(reword(text, rng, 2), rng)))
    return out


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def index() -> ClaimIndex:
    idx = ClaimIndex()
    for cid, text in CLAIMS.items():
        idx.add(cid, text)
    return idx


def test_data_is_big_enough() -> None:
    assert len(CLAIMS) >= 60
    assert len(UNRELATED) >= 500


# ------------------------------------------------------------------ recall / precision


def test_exact_claims_match_themselves_first(index: ClaimIndex) -> None:
    for cid, text in CLAIMS.items():
        matches = index.match(text)
        assert matches, cid
        assert matches[0] == ClaimMatch(cid, 1.0)


def test_recall_on_variants(index: ClaimIndex) -> None:
    cases = variants()
    misses = [
        (cid, kind)
        for cid, kind, text in cases
        if cid not in {m.claim_id for m in index.match(text)}
    ]
    recall = 1 - len(misses) / len(cases)
    assert recall >= 0.95, misses


@pytest.mark.parametrize("kind", sorted(SINGLE_TRANSFORMS))
def test_each_variant_kind_mostly_matches(index: ClaimIndex, kind: str) -> None:
    rng = random.Random(kind)
    fn = SINGLE_TRANSFORMS[kind]
    hits = sum(cid in {m.claim_id for m in index.match(fn(t, rng))} for cid, t in CLAIMS.items())
    assert hits / len(CLAIMS) >= 0.9


def test_variant_matches_rank_the_source_first(index: ClaimIndex) -> None:
    cases = variants()
    top = [index.match(text, limit=1) for _, _, text in cases]
    wrong = [
        (cid, kind)
        for (cid, kind, _), m in zip(cases, top, strict=True)
        if m and m[0].claim_id != cid
    ]
    assert not wrong


def test_false_match_rate_on_unrelated_messages(index: ClaimIndex) -> None:
    false = [msg for msg in UNRELATED if index.match(msg)]
    assert len(false) / len(UNRELATED) <= 0.01, false


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    claim_no=st.integers(min_value=0, max_value=len(CLAIMS) - 1),
    cosmetic=st.sets(
        st.sampled_from(["emoji", "no_diacritics", "prefix", "all_caps", "line_breaks", "nfd"])
    ),
    cut=st.sampled_from([None, "first_half", "last_half"]),
    edits=st.integers(min_value=0, max_value=2),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_combined_variants_match(
    index: ClaimIndex, claim_no: int, cosmetic: set[str], cut: str | None, edits: int, seed: int
) -> None:
    """Cosmetic changes in any combination, plus a cut or a couple of edits, still match."""
    cid = f"claim-{claim_no:03d}"
    rng = random.Random(seed)
    text = CLAIMS[cid]
    if cut is not None:
        text = SINGLE_TRANSFORMS[cut](text, rng)
        edits = min(edits, 1)
    if edits:
        text = reword(text, rng, edits)
    for name in sorted(cosmetic):
        text = SINGLE_TRANSFORMS[name](text, rng)
    assert cid in {m.claim_id for m in index.match(text)}


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_arbitrary_text_never_crashes(index: ClaimIndex, text: str) -> None:
    for m in index.match(text):
        assert 0.0 < m.similarity <= 1.0


# ------------------------------------------------------------------ behaviour


@pytest.mark.parametrize(
    "text", ["", "   ", "😱😱😱", "vỡ đập", "Fw: vỡ đập Ea Kao", "bắt cóc trẻ em"]
)
def test_short_texts_match_nothing(index: ClaimIndex, text: str) -> None:
    assert index.match(text) == []


def test_short_claims_are_rejected() -> None:
    with pytest.raises(ValueError, match="too short"):
        ClaimIndex().add("c1", "vỡ đập rồi")


def test_results_sorted_limited_and_thresholded() -> None:
    idx = ClaimIndex(threshold=0.3)
    base = CLAIMS["claim-000"]
    idx.add("a", base)
    idx.add("b", reword(base, random.Random(1), 6))
    idx.add("c", first_half(base, random.Random(1)) + " và đã có hai người tử vong ở trạm y tế")
    matches = idx.match(base, limit=3)
    assert [m.similarity for m in matches] == sorted((m.similarity for m in matches), reverse=True)
    assert matches[0].claim_id == "a"
    assert all(m.similarity >= 0.3 for m in matches)
    assert len(idx.match(base, limit=1)) == 1
    assert idx.match(base, limit=0) == []


def test_add_remove_replace_contains_len() -> None:
    idx = ClaimIndex()
    idx.add("x", CLAIMS["claim-001"])
    idx.add("y", CLAIMS["claim-002"])
    assert len(idx) == 2 and "x" in idx and "z" not in idx
    idx.add("x", CLAIMS["claim-003"])  # replaces
    assert len(idx) == 2
    assert idx.match(CLAIMS["claim-001"]) == []
    assert idx.match(CLAIMS["claim-003"])[0].claim_id == "x"
    idx.remove("x")
    assert "x" not in idx and len(idx) == 1
    assert idx.match(CLAIMS["claim-003"]) == []
    with pytest.raises(KeyError, match="unknown claim id 'x'"):
        idx.remove("x")


def test_records_round_trip_through_json(index: ClaimIndex) -> None:
    records = json.loads(json.dumps(index.to_records()))
    rebuilt = ClaimIndex.from_records(records)
    assert len(rebuilt) == len(index)
    for cid, text in list(CLAIMS.items())[:10]:
        assert rebuilt.match(text) == index.match(text)
        assert cid in rebuilt


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([{"claim_id": "a"}], "claim record 0: field 'text'"),
        (
            [{"claim_id": "a", "text": CLAIMS["claim-000"]}, ["x"]],
            "claim record 1: expected a mapping",
        ),
        ([{"claim_id": 5, "text": CLAIMS["claim-000"]}], "claim record 0: field 'claim_id'"),
        ([{"claim_id": "a", "text": "quá ngắn"}], "claim record 0: .*too short"),
    ],
)
def test_bad_records_name_the_row(records: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClaimIndex.from_records(records)  # type: ignore[arg-type]


def test_common_shingles_are_skipped_but_matching_still_works() -> None:
    """A phrase carried by every claim is ignored; the distinctive rest still finds the claim."""
    idx = ClaimIndex(max_postings=5)
    filler = "yêu cầu mọi người chú ý theo dõi thông tin"
    for i, text in enumerate(list(CLAIMS.values())[:20]):
        idx.add(f"c{i}", f"{filler} {text}")
    assert idx.match(filler + " và giữ gìn sức khỏe cho gia đình mình") == []
    assert idx.match(f"{filler} {CLAIMS['claim-007']}")[0].claim_id == "c7"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"shingle_size": 0},
        {"min_words": 1, "shingle_size": 2},
    ],
)
def test_bad_parameters_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ClaimIndex(**kwargs)  # type: ignore[arg-type]
