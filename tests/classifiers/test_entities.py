"""Entity extraction: communes, hamlets, phones, plates, bank accounts, URLs."""

from __future__ import annotations

import unicodedata
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.entities import DEFAULT_MAX_CHARS, LABELS, Entity, EntityExtractor
from classifiers.normalize import fold_diacritics
from classifiers.places import communes_of

CU_MGAR = 24280
EA_TUL = 24277
EA_KAO = 24169
BUON_MA_THUOT = 24133
TAN_LAP = 24121
TAN_TIEN = 24526


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(66)


def found(extractor: EntityExtractor, text: str) -> list[tuple[str, str, int | None]]:
    entities = extractor.extract(text)
    for e in entities:
        assert text[e.start : e.end] == e.text
        assert e.label in LABELS
    return [(e.label, e.text, e.code) for e in entities]


# ------------------------------------------------------------------ communes


@pytest.mark.parametrize(
    ("text", "mention", "code"),
    [
        ("Có trộm ở xã Cư M’gar tối qua", "xã Cư M’gar", CU_MGAR),
        ("Có trộm ở xã Cư M'gar tối qua", "xã Cư M'gar", CU_MGAR),
        ("co trom o xa cu mgar toi qua", "xa cu mgar", CU_MGAR),
        ("có trộm ở CưMgar tối qua", "CưMgar", CU_MGAR),
        ("CÓ TRỘM Ở XÃ CƯ M'GAR", "XÃ CƯ M'GAR", CU_MGAR),
        ("nhà em ở Cư Mgar", "Cư Mgar", CU_MGAR),
        ("Ngập ở Phường Buôn Ma Thuột rồi", "Phường Buôn Ma Thuột", BUON_MA_THUOT),
        ("Ngập ở Phường  Buôn Ma Thuột rồi", "Phường  Buôn Ma Thuột", BUON_MA_THUOT),
        ("đi BMT chơi", "BMT", BUON_MA_THUOT),
        ("ngã tư ở Ea Kao, tầm 8h", "Ea Kao", EA_KAO),
        ("ngã tư ở ea kao tầm 8h", "ea kao", EA_KAO),
        ("phường Tân Lập có họp", "phường Tân Lập", TAN_LAP),
        ("p. Tân Lập có họp", "p. Tân Lập", TAN_LAP),
        ("phuong tan lap co hop", "phuong tan lap", TAN_LAP),
        ("ở Tân Tiến có mưa", "Tân Tiến", TAN_TIEN),
    ],
)
def test_communes(extractor: EntityExtractor, text: str, mention: str, code: int) -> None:
    assert ("COMMUNE", mention, code) in found(extractor, text)


@pytest.mark.parametrize(
    "text",
    [
        "cứ bảo là tân tiến lắm",  # everyday words that are also a commune's name
        "cu bao la no khong den",
        "CỨ BẢO LÀ NÓ KHÔNG ĐẾN",
        "hoa my qua, hoa phu kin san",
        "ở xà ea tul",  # wrong diacritic: "xà" is not "xã", but Ea Tul alone still counts
    ],
)
def test_no_commune_from_everyday_words(extractor: EntityExtractor, text: str) -> None:
    communes = [e for e in extractor.extract(text) if e.label == "COMMUNE"]
    assert all(e.code == EA_TUL and e.text == "ea tul" for e in communes), communes


@pytest.mark.parametrize("apostrophe", ["’", "'", "ʼ", ""])
@pytest.mark.parametrize("form", ["NFC", "NFD"])
@pytest.mark.parametrize("diacritics", [True, False])
def test_every_commune_with_prefix(
    extractor: EntityExtractor, apostrophe: str, form: Literal["NFC", "NFD"], diacritics: bool
) -> None:
    for place in communes_of(66):
        name = place.name.replace("’", apostrophe).replace("'", apostrophe)
        if not diacritics:
            name = fold_diacritics(name)
        text = unicodedata.normalize(form, f"Bà con {name.lower()} chú ý, tối nay họp.")
        communes = [e for e in extractor.extract(text) if e.label == "COMMUNE"]
        assert [e.code for e in communes] == [place.code], (text, communes)
        assert text[communes[0].start : communes[0].end] == communes[0].text


# ------------------------------------------------------------------ hamlets


@pytest.mark.parametrize(
    ("text", "hamlet"),
    [
        ("mất bò ở thôn 3 đêm qua", "thôn 3"),
        ("mat bo o thon 5 dem qua", "thon 5"),
        ("Thôn 12 xã Ea Tul", "Thôn 12"),
        ("thôn số 4 có họp", "thôn số 4"),
        ("Ở buôn Ea Tul có đám cưới", "buôn Ea Tul"),
        ("co trom bo o buon ko tam dem qua", "buon ko tam"),
        ("co trom bo o buon Ko Tam dem qua", "buon Ko Tam"),
        ("hẻm 12 tổ dân phố 5 từ chiều", "tổ dân phố 5"),
        ("hem 12 to dan pho 5 tu chieu", "to dan pho 5"),
        ("TDP 5 phường Tân Lập", "TDP 5"),
        ("tdp 7 có cúp nước", "tdp 7"),
        ("nhà em ở khối 2", "khối 2"),
        ("nhà em ở ấp 4 nha", "ấp 4"),
        ("nhà em ở tổ 6 phường Tân An", "tổ 6"),
        ("Thôn Tân Hòa xã Ea Tul mất điện", "Thôn Tân Hòa"),
        ("thon tan hoa mat dien", "thon tan hoa"),
        ("bon Bu Prăng có lễ hội", "bon Bu Prăng"),
    ],
)
def test_hamlets(extractor: EntityExtractor, text: str, hamlet: str) -> None:
    assert ("HAMLET", hamlet, None) in found(extractor, text)


@pytest.mark.parametrize(
    "text",
    [
        "buồn ngủ quá",
        "đi buôn bán ở chợ",
        "cả thôn đều biết",
        "áp dụng từ hôm nay",
        "khỏi lo nha",
        "bọn nó chạy rồi",
        "to 5 lần",
        "ở thôn mình có",
    ],
)
def test_no_hamlet_from_everyday_words(extractor: EntityExtractor, text: str) -> None:
    assert not [e for e in extractor.extract(text) if e.label == "HAMLET"]


def test_named_hamlet_containing_a_commune_name_is_a_hamlet(extractor: EntityExtractor) -> None:
    assert found(extractor, "buôn Ea Tul") == [("HAMLET", "buôn Ea Tul", None)]
    # ...but the ward whose name starts with "Buôn" is a ward.
    assert found(extractor, "Buôn Ma Thuột") == [("COMMUNE", "Buôn Ma Thuột", BUON_MA_THUOT)]


# ------------------------------------------------------------------ phones, plates, accounts, URLs


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("gọi 0976 318 442 nhé", "0976 318 442"),
        ("gọi 0976318442.", "0976318442"),
        ("sđt: 0976.318.442", "0976.318.442"),
        ("sdt 097-631-8442", "097-631-8442"),
        ("+84 912 345 678 là số của em", "+84 912 345 678"),
        ("84912345678", "84912345678"),
        ("bàn 0262 3852 123", "0262 3852 123"),
        ("tổng đài 1900 1234", "1900 1234"),
        ("hotline 1800599920", "1800599920"),
    ],
)
def test_phones(extractor: EntityExtractor, text: str, phone: str) -> None:
    assert ("PHONE", phone, None) in found(extractor, text)


@pytest.mark.parametrize(
    "text",
    ["giá 120000 một ký", "năm 2025 tháng 10", "mã 0123456", "cân nặng 12345678901234", "0976 318"],
)
def test_not_phones(extractor: EntityExtractor, text: str) -> None:
    assert not [e for e in extractor.extract(text) if e.label == "PHONE"]


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("biển 47B1-123.45 chạy mất", "47B1-123.45"),
        ("bien so 47H1 12345 mau den", "47H1 12345"),
        ("xe 47A-123.45 tông", "47A-123.45"),
        ("xe tải 47C-12345", "47C-12345"),
        ("biển số 51F 123.45,", "51F 123.45"),
        ("bs 47b1-123.45", "47b1-123.45"),
        ("xe 29LD-12345", "29LD-12345"),
    ],
)
def test_plates(extractor: EntityExtractor, text: str, plate: str) -> None:
    assert ("PLATE", plate, None) in found(extractor, text)


@pytest.mark.parametrize("text", ["được 12tr 3000 đồng", "lúc 10h 30", "điểm 9a 12345b"])
def test_not_plates(extractor: EntityExtractor, text: str) -> None:
    assert not [e for e in extractor.extract(text) if e.label == "PLATE"]


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("STK: 0071 000 123 456 Vietcombank", "0071 000 123 456"),
        ("stk 19034567890123 techcombank", "19034567890123"),
        ("số tài khoản 123456789 ngân hàng MB", "123456789"),
        ("so tai khoan: 123456789", "123456789"),
        ("chuyển vào tk 0123456789012 nhé", "0123456789012"),
        ("chuyển khoản 0071000123456 Vietcombank", "0071000123456"),
        ("Agribank 5100205123456", "5100205123456"),
        ("STK 0976318442 MB Bank", "0976318442"),
    ],
)
def test_bank_accounts(extractor: EntityExtractor, text: str, account: str) -> None:
    assert ("BANK_ACCOUNT", account, None) in found(extractor, text)


def test_account_number_that_looks_like_a_phone_is_an_account(extractor: EntityExtractor) -> None:
    labels = [e.label for e in extractor.extract("stk 0976318442")]
    assert labels == ["BANK_ACCOUNT"]


@pytest.mark.parametrize(
    "text", ["mã đơn 12345678", "tk 1234567", "stk 12345678901234567", "năm 20252026 không có"]
)
def test_not_bank_accounts(extractor: EntityExtractor, text: str) -> None:
    assert not [e for e in extractor.extract(text) if e.label == "BANK_ACCOUNT"]


@pytest.mark.parametrize(
    ("text", "url"),
    [
        (
            "vào https://vaytien-nhanh.xyz/dang-ky?id=1 nhé",
            "https://vaytien-nhanh.xyz/dang-ky?id=1",
        ),
        ("link: http://abc.com.", "http://abc.com"),
        ("xem www.example.vn/tin-tuc", "www.example.vn/tin-tuc"),
        ("bấm bit.ly/abc123 để nhận quà", "bit.ly/abc123"),
        ("mua ở shopee.vn, rẻ lắm", "shopee.vn"),
        ("trang dichvucong.gov.vn", "dichvucong.gov.vn"),
        ("zalo.me/g/abcdef mời vào nhóm", "zalo.me/g/abcdef"),
    ],
)
def test_urls(extractor: EntityExtractor, text: str, url: str) -> None:
    assert ("URL", url, None) in found(extractor, text)


@pytest.mark.parametrize("text", ["giá 1.5 triệu", "Tp.HCM", "v.v...", "abc@gmail", "3.14"])
def test_not_urls(extractor: EntityExtractor, text: str) -> None:
    assert not [e for e in extractor.extract(text) if e.label == "URL"]


# ------------------------------------------------------------------ whole messages, robustness


def test_full_message(extractor: EntityExtractor) -> None:
    text = (
        "Mn ơi em vừa mất xe Wave biển 47H1-235.81 trước quán cà phê ở ngã tư thôn 4 "
        "Ea Kao, tầm 8h tối nay. Ai thấy báo em 0976 318 442 hoặc chuyển thưởng qua "
        "stk 1903 4567 8901 Techcombank, xem thêm fb.com/em"
    )
    assert found(extractor, text) == [
        ("PLATE", "47H1-235.81", None),
        ("HAMLET", "thôn 4", None),
        ("COMMUNE", "Ea Kao", EA_KAO),
        ("PHONE", "0976 318 442", None),
        ("BANK_ACCOUNT", "1903 4567 8901", None),
        ("URL", "fb.com/em", None),
    ]


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_offsets_refer_to_the_original_text(
    extractor: EntityExtractor, form: Literal["NFC", "NFD"]
) -> None:
    text = unicodedata.normalize(form, "  Thôn 3\n\n xã  Cư M’gar   gọi 0912 345 678 😱")
    entities = extractor.extract(text)
    assert [e.label for e in entities] == ["HAMLET", "COMMUNE", "PHONE"]
    for e in entities:
        assert text[e.start : e.end] == e.text
    assert entities[1].code == CU_MGAR
    assert unicodedata.normalize("NFC", entities[0].text) == "Thôn 3"


@pytest.mark.parametrize(
    "text", ["", " ", "\n\n", "😀😀😀", "👨‍👩‍👧‍👦🇻🇳", "\u0301\u0300", "\x00\x01"]
)
def test_empty_and_odd_text(extractor: EntityExtractor, text: str) -> None:
    assert extractor.extract(text) == ()


def test_huge_text_is_capped(extractor: EntityExtractor) -> None:
    chunk = "thôn 3 xã Cư M'gar gọi 0912345678. "
    text = chunk * (100_000 // len(chunk) + 1)
    entities = extractor.extract(text)
    assert entities
    assert max(e.end for e in entities) <= DEFAULT_MAX_CHARS
    assert all(text[e.start : e.end] == e.text for e in entities)


def test_extract_many_matches_extract(extractor: EntityExtractor) -> None:
    texts = ["thôn 3 xã Ea Tul", "", "gọi 0912345678", "bit.ly/x", "😀"] * 20
    assert extractor.extract_many(texts) == [extractor.extract(t) for t in texts]
    assert extractor.extract_many(iter(texts[:3])) == [extractor.extract(t) for t in texts[:3]]


def test_non_string_is_a_type_error(extractor: EntityExtractor) -> None:
    with pytest.raises(TypeError, match="expected str"):
        extractor.extract(None)  # type: ignore[arg-type]


def test_unknown_province() -> None:
    with pytest.raises(LookupError):
        EntityExtractor(3)


def test_entities_are_frozen() -> None:
    entity = Entity("PHONE", "0912345678", 0, 10)
    with pytest.raises(AttributeError):
        entity.text = "x"  # type: ignore[misc]


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text(extractor: EntityExtractor, text: str) -> None:
    entities = extractor.extract(text)
    last_end = 0
    for e in entities:
        assert text[e.start : e.end] == e.text
        assert e.start >= last_end  # sorted, non-overlapping
        assert e.end > e.start
        last_end = e.end


def test_string_store_growth_is_bounded() -> None:
    extractor = EntityExtractor(66, max_vocab=5_000)
    before = extractor.extract("thôn 3 xã Cư M'gar gọi 0912345678")
    for i in range(60):
        extractor.extract_many([f"tu{i}x{j} la{j}y{i}" for j in range(100)])
        assert len(extractor.nlp.vocab.strings) < 5_000 + 200 * 3
    assert extractor.extract("thôn 3 xã Cư M'gar gọi 0912345678") == before
