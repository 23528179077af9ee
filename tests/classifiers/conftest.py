"""Small labelled data and models for the classifier tests (trained in well under a second)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from classifiers.corpus import LabelledData
from classifiers.model import TextClassifier

PLACES = ["thôn 3", "buôn Ea Tul", "xã Hòa Thắng", "tổ dân phố 5", "Cư M'gar", "Quảng Phú"]

TEMPLATES: dict[str, list[str]] = {
    "scam": [
        "Chúc mừng bạn trúng thưởng xe SH, chuyển khoản phí 500k vào stk 0123456789 để nhận",
        "tuyển ctv làm việc tại nhà lương 5tr/ngày, ib zalo 0912 345 678 đóng phí 300k",
        "công an gọi bảo em dính vụ rửa tiền, bắt chuyển 20 triệu vào tài khoản để xác minh",
        "vay tiền online không cần thế chấp, giải ngân trong 5 phút, phí hồ sơ 2.000.000đ",
        "nhận quà tri ân khách hàng tại link https://bit.ly/qua-tang nhập mã OTP để nhận",
    ],
    "fake_news": [
        "CHIA SẺ GẤP!!! {place} vừa phát hiện 20 ca covid, mai phong tỏa toàn bộ",
        "nghe nói bệnh viện hết chỗ rồi, covid lại bùng phát ở {place}, người nằm ngoài hành lang",
        "Nóng: đập thủy điện gần {place} sắp vỡ, bà con sơ tán ngay trong đêm",
        "có bọn bắt cóc trẻ em đi xe bán tải trắng ở {place}, mổ lấy nội tạng, chia sẻ gấp",
        "uống nước chanh nóng diệt được vi-rut, bộ y tế giấu không cho dân biết",
    ],
    "crime_report": [
        "nhà em ở {place} vừa bị trộm xe Wave đỏ đêm qua, ai thấy báo giúp",
        "có 2 thằng lạ mặt đi xe Exciter không biển rình mấy nhà ở {place}",
        "bị giật điện thoại trước chợ {place} lúc 8h tối, tên cướp chạy về hướng cầu",
        "rẫy cà phê ở {place} bị hái trộm gần 3 sào trong đêm",
        "đánh nhau to ở quán nhậu {place}, có người bị chém chảy máu nhiều",
    ],
    "traffic_accident": [
        "tai nạn giữa xe tải và xe máy ở ngã tư {place}, 1 người bị thương nặng",
        "xe khách lật ở đèo gần {place}, cứu thương đang tới",
        "va chạm giao thông trên quốc lộ 14 đoạn {place}, đường kẹt cứng",
        "xe máy tông vào cột điện ở {place}, thanh niên bất tỉnh",
        "ô tô mất lái đâm vào nhà dân ở {place} sáng nay",
    ],
    "normal": [
        "chào buổi sáng cả nhà {place}, hôm nay trời mát quá",
        "cà phê nhân hôm nay ở {place} giá bao nhiêu vậy mọi người",
        "ai có rau lang bán em 2 bó, em ở {place}",
        "tối nay họp tổ dân phố ở nhà văn hóa {place} lúc 7h nhé",
        "con nhà em ở {place} hôm nay ăn hết 2 chén cháo",
    ],
}


def make_data(
    labels: tuple[str, ...] | None = None, per_template: int = 3, seed: int = 0
) -> LabelledData:
    """Texts from templates × places, shuffled deterministically."""
    rng = random.Random(seed)
    rows: list[tuple[str, str]] = []
    for label, templates in TEMPLATES.items():
        if labels is not None and label not in labels:
            continue
        for template in templates:
            places = rng.sample(PLACES, per_template)
            # Every text distinct: training drops repeated texts.
            if "{place}" not in template:
                template += " ({place})"
            rows.extend((template.format(place=p), label) for p in places)
    rng.shuffle(rows)
    return LabelledData(
        texts=tuple(t for t, _ in rows),
        labels=tuple(lab for _, lab in rows),
        ids=tuple(f"t{i}" for i in range(len(rows))),
        source="tiny",
    )


def relabel(data: LabelledData, mapping: dict[str, str]) -> LabelledData:
    return LabelledData(
        data.texts, tuple(mapping.get(x, x) for x in data.labels), data.ids, data.source
    )


TINY_PARAMS: dict[str, Any] = {"min_df": 1, "C": 10.0}


@pytest.fixture(scope="session")
def tiny_data() -> LabelledData:
    return make_data()


@pytest.fixture(scope="session")
def tiny_model(tiny_data: LabelledData) -> TextClassifier:
    return TextClassifier(**TINY_PARAMS).fit(list(tiny_data.texts), list(tiny_data.labels))


@pytest.fixture(scope="session")
def binary_data() -> LabelledData:
    """The scam/normal templates as "1"/"0": any label set must work."""
    data = make_data(("scam", "normal"), per_template=4)
    return relabel(data, {"scam": "1", "normal": "0"})
