"""Bulletins to every group of a commune, reported once; residents' forwards of them not
flagged; and the monthly report built from what the core counted."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from botkit.adapter import DeliveryError
from botkit.app import App
from botkit.clock import VirtualClock
from botkit.domain import Message, OfficerCommand
from botkit.outbound import SendText
from botkit.pipeline import Inbound
from botkit.reports.command import monthly_report
from botkit.reports.monthly import build_report, month_days
from botkit.reports.render import as_csv
from botkit.storage.records import StatCount, StatSample
from botkit.texts import Texts
from tests.conftest import CU_MGAR, QUANG_PHU, ROOT, RecordingDispatcher
from tests.core.assembled import SCAM, T0, assembled

_ids = itertools.count(1)
# A warning that quotes the scam: the model alone flags it as a scam.
WARNING = f'Công an xã cảnh báo: tin nhắn "{SCAM}" là lừa đảo, bà con không chuyển tiền.'


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    async with assembled(tmp_path, monkeypatch) as built:
        yield built


def sent_to(app: App, chat: str) -> list[str]:
    dispatcher = app.dispatcher
    assert isinstance(dispatcher, RecordingDispatcher)
    return [a.text for _, a in dispatcher.sent if isinstance(a, SendText) and a.chat_id == chat]


async def handle(app: App, *events: object) -> None:
    assert not await app.pipeline.process([Inbound(e) for e in events])  # type: ignore[arg-type]
    await app.sender.run_once()


def command(who: str, verb: str, arg: str | None, chat: str | None = None) -> OfficerCommand:
    return OfficerCommand(
        "test", who, verb, arg, T0, chat_id=chat or who, event_id=f"e{next(_ids)}"
    )


def group_message(text: str, chat: str = "g-cu-mgar") -> Message:
    return Message("test", chat, str(next(_ids)), text, T0, sender_id="someone")


async def test_a_bulletin_reaches_the_units_groups_and_is_reported_once(app: App) -> None:
    await app.store.groups.upsert("test", "g-registered", CU_MGAR, "active", "Thôn 9")
    await app.store.groups.upsert("test", "g-left", CU_MGAR, "left", None)
    dispatcher = app.dispatcher
    assert isinstance(dispatcher, RecordingDispatcher)
    # The bot was removed from one group: the platform refuses for good.
    dispatcher.failures = [DeliveryError("Forbidden: bot was kicked", permanent=True)]
    dispatcher.fail_on = "test"
    await handle(app, command("u-thanh", "bulletin", WARNING))
    [queued] = sent_to(app, "u-thanh")
    assert "tới 2 nhóm" in queued  # Cư M'gar's groups: configured and registered, not the left one
    assert sent_to(app, "g-quang-phu") == []
    reported = await app.bulletins.settle()
    assert len(reported) == 1 and reported[0].delivered == 1 and len(reported[0].failed) == 1
    assert await app.bulletins.settle() == []  # once
    await app.sender.run_once()
    report = sent_to(app, "u-thanh")[-1]
    assert "đã tới 1/2 nhóm" in report and "bot was kicked" in report
    counts = {c.name: c.value for c in await app.store.stats.counts(*month_days("2026-03"))}
    assert counts["bulletins_delivered"] == 1 and counts["bulletins_failed"] == 1


async def test_a_unit_without_groups_is_told_nothing_was_sent(app: App) -> None:
    await handle(app, command("u-son", "bulletin", WARNING))  # traffic police: the whole province
    assert "tới 2 nhóm" in sent_to(app, "u-son")[-1]
    await app.store.run_transaction(lambda tx: tx.groups.upsert("test", "g-x", 1, "left", None))
    async with app.store.transaction() as tx:
        assert await app.bulletins.publish(tx, WARNING, "cli", frozenset({24277})) == (0, 0)
    assert await app.store.bulletins.unfinished() != []  # only the traffic police's


async def test_a_bulletin_is_refused_in_a_group_or_too_short_or_from_a_resident(app: App) -> None:
    await handle(app, command("u-thanh", "bulletin", WARNING, chat="g-cu-mgar"))
    assert "tin nhắn riêng" in sent_to(app, "u-thanh")[-1]
    await handle(app, command("u-thanh", "bulletin", "ngắn"))
    assert "Cách dùng" in sent_to(app, "u-thanh")[-1]
    await handle(app, command("resident", "bulletin", WARNING))
    assert "chỉ cán bộ" in sent_to(app, "resident")[-1]
    assert sent_to(app, "g-cu-mgar") == []


async def test_residents_forwarding_a_bulletin_are_not_flagged_but_the_scam_is(app: App) -> None:
    await handle(app, command("u-thanh", "bulletin", WARNING))
    pages_before = len(sent_to(app, "u-thanh"))
    await handle(app, group_message("Mọi người đọc kỹ nhé!!! " + WARNING))
    assert app.pipeline.flags == 0
    await handle(app, group_message(SCAM))  # the scam the bulletin quotes: still flagged
    assert app.pipeline.flags == 1
    await handle(app, group_message("Mọi người đọc kỹ nhé!!! " + WARNING, chat="g-quang-phu"))
    assert app.pipeline.flags == 1
    assert len(sent_to(app, "u-thanh")) > pages_before


async def test_the_month_counts_messages_flags_incidents_and_time_to_acknowledge(
    app: App, tmp_path: Path
) -> None:
    await handle(app, group_message("chiều nay họp thôn lúc 3 giờ nhé bà con"))
    await handle(app, group_message(SCAM))
    [incident] = await app.store.incidents.query()
    clock = app.clock
    assert isinstance(clock, VirtualClock)
    clock.advance_to(T0 + timedelta(minutes=7))
    await handle(app, command("u-thanh", "ack", str(incident.id)))
    report = await monthly_report(app.config, ROOT, "2026-03")  # the config's own store: none
    assert report.empty
    counts = await app.store.stats.counts(*month_days("2026-03"))
    samples = await app.store.stats.samples(*month_days("2026-03"))
    built = build_report("2026-03", counts, samples, list(app.config.categories), {})
    [row] = built.rows
    assert row.jurisdiction == CU_MGAR and row.messages == 2 and row.flags["scam"] == 1
    assert row.incidents == 1 and row.ack_median_minutes == pytest.approx(7.0)
    assert built.total.messages == 2


def test_a_report_has_a_row_per_commune_and_a_total() -> None:
    counts = [
        StatCount("2026-03-01", CU_MGAR, "messages", 40),
        StatCount("2026-03-02", CU_MGAR, "messages", 2),
        StatCount("2026-03-02", QUANG_PHU, "messages", 7),
        StatCount("2026-03-02", QUANG_PHU, "flag:fake_news", 3),
        StatCount("2026-03-02", QUANG_PHU, "hoaxes_confirmed", 1),
        StatCount("2026-03-05", QUANG_PHU, "tips", 2),
        StatCount("2026-03-05", CU_MGAR, "questions_answered", 5),
    ]
    samples = [
        StatSample("2026-03-02", QUANG_PHU, "ack_seconds", 60),
        StatSample("2026-03-03", QUANG_PHU, "ack_seconds", 300),
        StatSample("2026-03-03", QUANG_PHU, "ack_seconds", 600),
    ]
    names = {CU_MGAR: "Xã Cư M'gar", QUANG_PHU: "Xã Quảng Phú"}
    report = build_report("2026-03", counts, samples, ["fake_news", "scam"], names)
    assert [r.name for r in report.rows] == ["Xã Cư M'gar", "Xã Quảng Phú"]
    cu, qp = report.rows
    assert (cu.messages, cu.answered, cu.ack_median_minutes) == (42, 5, None)
    assert (qp.flags, qp.hoaxes_confirmed, qp.tips) == ({"fake_news": 3, "scam": 0}, 1, 2)
    assert qp.ack_median_minutes == pytest.approx(5.0)
    assert report.total.messages == 49 and report.total.flags["fake_news"] == 3
    only = build_report("2026-03", counts, samples, ["fake_news"], names, only=QUANG_PHU)
    assert [r.jurisdiction for r in only.rows] == [QUANG_PHU]
    lines = as_csv(report, Texts("vi")).splitlines()
    assert lines[0].startswith("month,commune_code,commune,messages,flags_fake_news,flags_scam")
    assert lines[1].startswith(f"2026-03,{CU_MGAR},Xã Cư M'gar,42,0,0,")
    assert lines[-1].startswith("2026-03,,Tổng,49,3,0,")


def test_months_are_checked() -> None:
    assert month_days("2026-02") == ("2026-02-01", "2026-02-28")
    assert month_days("2028-02") == ("2028-02-01", "2028-02-29")
    for bad in ("2026-13", "03-2026", "2026/03", ""):
        with pytest.raises(ValueError, match="month"):
            month_days(bad)
