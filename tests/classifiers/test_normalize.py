"""Normalisation: evasions, teencode, masked evidence, folding, robustness."""

from __future__ import annotations

import unicodedata
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.normalize import (
    MAX_CHARS,
    Evidence,
    canonical_text,
    fold_diacritics,
    normalize,
)

VIETNAMESE_WORDS = [
    "Thôn",
    "xã",
    "Cư",
    "M'gar",
    "Đắk",
    "Lắk",
    "bà",
    "con",
    "chú",
    "ý",
    "cướp",
    "giật",
    "tai",
    "nạn",
    "lừa",
    "đảo",
    "chuyển",
    "khoản",
    "CHIA",
    "SẺ",
    "GẤP",
    "covid",
    "được",
    "người",
    "ơi",
    "ạ",
    "à",
    "ở",
    "Ừ",
    "ko",
    "dc",
    "đc",
    "mn",
    "ae",
    "ib",
    "ck",
    "stk",
    "j",
    "z",
    "r",
    "bn",
    "vs",
    "e",
    "a",
    "cv",
    "tp",
    "bmt",
    "k",
    "kg",
    "ca",
    "a/c",
    "c0vid",
    "v.i.r.u.s",
    "vi-rut",
    "0912 345 678",
    "+84 912.345.678",
    "5tr",
    "500k",
    "2.000.000đ",
    "3 triệu",
    "https://bit.ly/x1",
    "vietcombank",
    "0123456789",
    "47H1-235.81",
    "8h",
    "😱",
    "🙏🏽",
    "!!!",
    "???",
    "...",
    ",",
    "\u200b",
    "\ufeff",
    "\u0301",
    "Ⅻ",
    "İ",
    "ß",
]

vietnamese_text = st.lists(st.sampled_from(VIETNAMESE_WORDS), max_size=25).map(" ".join)
any_code_points = st.lists(st.integers(0, 0x10FFFF), max_size=60).map(
    lambda cps: "".join(chr(c) for c in cps)
)
mixed_text = st.one_of(vietnamese_text, st.text(max_size=80), any_code_points)


# --- fold_diacritics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đắk Lắk", "Dak Lak"),
        ("Cư M’gar", "Cu M’gar"),
        ("đường Nguyễn Tất Thành", "duong Nguyen Tat Thanh"),
        ("ascii only", "ascii only"),
        ("", ""),
        ("Tiếng Việt có dấu – “ngoặc”", "Tieng Viet co dau – “ngoac”"),
    ],
)
@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_fold_diacritics(text: str, expected: str, form: Literal["NFC", "NFD"]) -> None:
    assert fold_diacritics(unicodedata.normalize(form, text)) == expected


@given(vietnamese_text)
def test_folded_vietnamese_is_ascii(text: str) -> None:
    folded = fold_diacritics(unicodedata.normalize("NFC", text))
    letters = [ch for ch in folded if ch.isalpha() and ch not in "Ⅻßİ"]
    assert all(ch.isascii() for ch in letters)


# --- evasions and teencode ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("c0vid lan rộng", "covid lan rộng"),
        ("v.i.r.u.s mới", "virus mới"),
        ("C O V I D ở BMT", "covid ở buôn ma thuột"),
        ("vi-rut lây", "virus lây"),
        ("vi rút corona", "virus corona"),
        ("l-ừ-a đ-ả-o", "lừa đảo"),
        ("khônggggg đâu", "không đâu"),
        ("mn ơi ko đc ra đường", "mọi người ơi không được ra đường"),
        ("ae ib e nhé", "anh em inbox em nhé"),
        ("j z r", "gì vậy rồi"),
        ("giá bn vs cv ở tp", "giá bao nhiêu với công việc ở thành phố"),
        ("a ơi a có bán ko", "anh ơi anh có bán không"),
        ("e cảm ơn a", "em cảm ơn anh"),
        ("a/c chú ý", "anh chị chú ý"),
        ("CA xã vừa báo", "công an xã vừa báo"),
        ("ca trực đêm", "ca trực đêm"),
        ("bn ơi", "bạn ơi"),
        ("vk ck nhà mình", "vợ chồng nhà mình"),
        ("ck cho e nha", "chuyển khoản cho em nha"),
        ("CHIA SẺ GẤP!!!", "chia sẻ gấp!"),
        ("thật á???", "thật á?"),
        ("gì vậy?!?!", "gì vậy?"),
    ],
)
def test_text_undoes_evasions_and_expands_teencode(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


@pytest.mark.parametrize(
    "raw",
    [
        "vậy a",  # à without its accent at the end of a clause, not "anh"
        "mua 5 kg gạo",  # a unit after a number, not "không"
        "biển số 47h1-235.81 lúc 8h",  # a plate: no leet, no join, no money
        "covid-19",
        "cư m'gar",
    ],
)
def test_text_left_alone(raw: str) -> None:
    assert normalize(raw).text == raw


def test_zero_width_and_emoji_removed() -> None:
    result = normalize("lừa\u200b đảo\ufeff 😱😱 🙏🏽 ⚠️ gấp")
    assert result.text == "lừa đảo gấp"


# --- evidence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("gọi 0976 318 442 nhé", "phone", "0976 318 442"),
        ("gọi 0912.345.678 nhé", "phone", "0912.345.678"),
        ("gọi 0912345678", "phone", "0912345678"),
        ("liên hệ +84 912 345 678", "phone", "+84 912 345 678"),
        ("(+84)912345678 zalo", "phone", "(+84)912345678"),
        ("tổng đài 1900 1234", "phone", "1900 1234"),
        ("phí 500k thôi", "money", "500k"),
        ("lương 5tr/tháng", "money", "5tr"),
        ("nộp 2.000.000đ", "money", "2.000.000đ"),
        ("nộp 2,000,000 VND", "money", "2,000,000 VND"),
        ("nợ 3 triệu", "money", "3 triệu"),
        ("giá 118.500 đ/kg", "money", "118.500 đ"),
        ("lương 1tr2", "money", "1tr2"),
        ("stk 0123456789 vietcombank", "bank_account", "0123456789"),
        ("STK: 1903 6677 8899 Techcombank", "bank_account", "1903 6677 8899"),
        ("19036677889900 ngân hàng MB", "bank_account", "19036677889900"),
        ("vào link https://bit.ly/abc123.", "url", "https://bit.ly/abc123"),
        ("web www.nhanqua-2024.xyz/dang-ky ngay", "url", "www.nhanqua-2024.xyz/dang-ky"),
        ("truy cập vietcombank-hotro.com để", "url", "vietcombank-hotro.com"),
    ],
)
def test_evidence_masked_and_kept(raw: str, kind: str, value: str) -> None:
    result = normalize(raw)
    assert Evidence(kind, value) in result.evidence
    assert f"__{kind}__" in result.text.split()
    assert value.lower() not in result.text


@pytest.mark.parametrize(
    "raw",
    ["thôn 4 có 20 ca", "biển 47H1-235.81", "năm 2024", "lúc 8h30", "xe 50cc", "covid-19"],
)
def test_no_evidence_in_ordinary_numbers(raw: str) -> None:
    assert normalize(raw).evidence == ()


def test_bank_account_needs_a_keyword() -> None:
    # Ten digits with no bank nearby are a phone number, with one they are an account.
    assert normalize("gọi 0123456789").evidence == (Evidence("phone", "0123456789"),)
    assert normalize("stk 0123456789").evidence == (Evidence("bank_account", "0123456789"),)


def test_evidence_in_text_order() -> None:
    result = normalize("ck 500k vào stk 0123456789 rồi gọi 0912 345 678 hoặc xem t.co/ab")
    kinds = [e.kind for e in result.evidence]
    assert kinds == ["money", "bank_account", "phone", "url"]


# --- canonical text ---------------------------------------------------------------------


def test_canonical_text_merges_variants() -> None:
    a = canonical_text("CHIA SẺ GẤP!!! Thôn 5 có covid")
    b = canonical_text("chia se gap thon 5 co covid 😱")
    assert a == b == "chia se gap thon 5 co covid"


def test_canonical_text_keeps_mask_tokens() -> None:
    assert canonical_text("Gọi NGAY 0912.345.678!!!") == "goi ngay __phone__"


def test_canonical_text_drops_forward_prefix() -> None:
    assert canonical_text("Fw: Nóng quá") == canonical_text("nóng quá")


# --- robustness and invariants ----------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "😱😱🙏", "\ud800abc\udfff", "\x00\x01", "!!!???"])
def test_degenerate_inputs(raw: str) -> None:
    result = normalize(raw)
    assert result.original == raw
    assert result.folded == fold_diacritics(result.text)
    assert canonical_text(raw) == canonical_text(raw)


def test_long_text_is_capped() -> None:
    raw = "Thôn 5 có covid 😱 gọi 0912 345 678. " * 3000  # ~110 KB
    result = normalize(raw)
    assert result.truncated
    assert len(result.text) <= MAX_CHARS
    assert result.text.startswith("thôn 5 có covid gọi __phone__")
    assert not normalize("short").truncated


@settings(max_examples=300, deadline=None)
@given(mixed_text)
def test_nfd_and_nfc_give_the_same_result(text: str) -> None:
    clean = text.encode("utf-8", "ignore").decode("utf-8")
    nfc = normalize(unicodedata.normalize("NFC", clean))
    nfd = normalize(unicodedata.normalize("NFD", clean))
    assert (nfc.text, nfc.folded, nfc.evidence) == (nfd.text, nfd.folded, nfd.evidence)


@settings(max_examples=300, deadline=None)
@given(mixed_text)
def test_never_raises_and_is_consistent(text: str) -> None:
    result = normalize(text)
    assert result.folded == fold_diacritics(result.text)
    assert result.text == " ".join(result.text.split())
    assert result.text == result.text.lower() or any(
        ch.lower() != ch and ch.lower().upper() != ch for ch in result.text
    )
    for evidence in result.evidence:
        assert evidence.kind in {"url", "phone", "money", "bank_account"}
        assert evidence.value


# "ạ" and "à" lose their accents to "a", which in unaccented chat means "anh": a genuine
# ambiguity, so accented words that fold onto a one-letter abbreviation are left out.
UNAMBIGUOUS_WORDS = [
    w for w in VIETNAMESE_WORDS if w == fold_diacritics(w) or len(fold_diacritics(w)) > 1
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(UNAMBIGUOUS_WORDS), max_size=25).map(" ".join))
def test_folded_input_folds_to_the_same(text: str) -> None:
    # Typing without accents must reach the folded view the model reads.
    assert normalize(fold_diacritics(text)).folded == fold_diacritics(normalize(text).folded)
