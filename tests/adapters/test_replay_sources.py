"""Reading Telegram Desktop exports and JSONL histories, quirks and broken input included."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.replay import read_sources
from adapters.replay.telegram_export import flatten_text

DATA = Path(__file__).resolve().parent.parent / "data"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_real_format_export_becomes_core_messages() -> None:
    messages, errors = read_sources([DATA / "telegram_export.json"], TZ)
    assert errors == []
    by_id = {m.message_id: m for m in messages}
    assert "1" not in by_id  # service message skipped
    hoax = by_id["3"]
    assert hoax.text.startswith("CHIA SẺ GẤP!!! Thôn 3 xã Cư M'gar đã có 15 ca")
    assert hoax.forwarded_from == "Tin Nóng Tây Nguyên"
    assert hoax.chat_id == "1000000001"
    assert hoax.sent_at.isoformat() == "2026-03-02T01:05:00+00:00"
    assert by_id["4"].sender_name is None and by_id["4"].reply_to == "3"  # deleted account
    assert by_id["5"].is_caption
    assert by_id["6"].text == ""  # sticker: empty text, still a message
    assert by_id["7"].text.startswith("http://nhanqua-vietcombank.xyz chúc mừng")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        (["a ", {"type": "bold", "text": "b"}, " c"], "a b c"),
        ([{"type": "mention", "text": "@lan"}, 5, None], "@lan"),
        (None, ""),
    ],
)
def test_flatten_text(value: object, expected: str) -> None:
    assert flatten_text(value) == expected


def test_several_exports_merge_in_time_order() -> None:
    messages, _ = read_sources([DATA / "telegram_export.json", DATA / "telegram_export_2.json"], TZ)
    assert [m.sent_at for m in messages] == sorted(m.sent_at for m in messages)
    assert {m.chat_id for m in messages} == {"1000000001", "1000000002"}


def test_broken_messages_are_reported_with_position_and_the_rest_is_read(tmp_path: Path) -> None:
    export = json.loads((DATA / "telegram_export.json").read_text())
    export["messages"][2].pop("date_unixtime")
    export["messages"][2].pop("date")
    export["messages"].insert(3, "not an object")
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False))
    messages, errors = read_sources([path], TZ)
    assert len(errors) == 2
    assert "messages[2] (id 3)" in str(errors[0]) and "date" in str(errors[0])
    assert "messages[3]" in str(errors[1])
    assert len(messages) == 6


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text('{"messages": [\n  {"id": 1,, }\n]}')
    messages, errors = read_sources([path], TZ)
    assert messages == [] and "line 2 column" in str(errors[0])


def test_jsonl_lines_are_read_and_bad_lines_reported(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(
        b'{"chat_id": "g1", "text": "xin chao", "date": 1772413200}\n'
        b"{oops\n"
        b'{"chat_id": "g1", "date": 1772413201}\n'
        b"\xff\xfe\n"
        b'{"chat_id": "g2", "text": ["a", {"type": "bold", "text": "b"}],'
        b' "date": "2026-03-02T01:00:00Z"}\n'
    )
    messages, errors = read_sources([path], TZ)
    assert [m.text for m in messages] == ["xin chao", "ab"]
    assert [e.position.split()[1] for e in errors] == ["2", "3", "4"]


def test_a_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    messages, errors = read_sources([tmp_path / "nope.json"], TZ)
    assert messages == [] and "no such file" in str(errors[0])
