"""The storage contract for residents' cases, conversations, report counters and bulletins:
the same suite against every backend (see `tests/storage_backends.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from botkit.storage.base import Store
from botkit.storage.records import (
    Cancelled,
    Destination,
    Failed,
    MessageWork,
    NewBulletin,
    NewCase,
    NewMessage,
    Retry,
    Sent,
    StatCount,
)
from tests.storage_backends import BACKENDS, open_backend

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_backend(request.param, tmp_path) as s:
        yield s


def case(at: datetime = T0, contact: bytes | None = b"\x01sealed", kind: str = "tip") -> NewCase:
    return NewCase(
        kind=kind,
        platform="tg",
        contact=contact,
        code_hash="h1",
        jurisdiction=24280,
        unit="u1",
        excerpt="mất trộm bò",
        opened_at=at,
        details={"anonymous": contact is None},
    )


async def test_a_case_keeps_what_was_opened_and_changes_state(store: Store) -> None:
    first = await store.cases.open(case())
    second = await store.cases.open(case(T0 + timedelta(minutes=1), None, "question"))
    assert second > first
    row = await store.cases.get(first)
    assert row is not None
    assert (row.kind, row.platform, row.contact, row.code_hash) == (
        "tip",
        "tg",
        b"\x01sealed",
        "h1",
    )
    assert (row.jurisdiction, row.unit, row.excerpt, row.state) == (
        24280,
        "u1",
        "mất trộm bò",
        "open",
    )
    assert row.opened_at == T0 and row.updated_at == T0 and row.details == {"anonymous": False}
    anonymous = await store.cases.get(second)
    assert anonymous is not None and anonymous.contact is None and anonymous.kind == "question"

    await store.cases.link(first, 42)
    assert await store.cases.set_state(first, "answered", T0 + timedelta(hours=1))
    row = await store.cases.get(first)
    assert row is not None and row.incident_id == 42 and row.state == "answered"
    assert row.updated_at == T0 + timedelta(hours=1)
    assert not await store.cases.set_state(999, "answered", T0)
    assert await store.cases.get(999) is None


async def test_cases_opened_in_a_period(store: Store) -> None:
    ids = [await store.cases.open(case(T0 + timedelta(days=d))) for d in range(3)]
    found = await store.cases.opened_between(T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert [c.id for c in found] == [ids[1]]


async def test_a_case_in_a_rolled_back_transaction_is_not_there(store: Store) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.transaction() as tx:
            case_id = await tx.cases.open(case())
            raise Boom
    assert await store.cases.get(case_id) is None


async def test_a_draft_expires_and_can_be_dropped(store: Store) -> None:
    await store.drafts.put("d1", b"step-1", T0)
    assert await store.drafts.get("d1", T0 - timedelta(hours=1)) == b"step-1"
    assert await store.drafts.get("d1", T0 + timedelta(seconds=1)) is None  # too old
    await store.drafts.put("d1", b"step-2", T0 + timedelta(hours=2))
    assert await store.drafts.get("d1", T0 + timedelta(hours=1)) == b"step-2"
    await store.drafts.drop("d1")
    assert await store.drafts.get("d1", T0) is None
    await store.drafts.drop("never-there")


async def test_counters_add_up_and_samples_are_kept(store: Store) -> None:
    await store.stats.add("2026-03-01", 24280, "messages", 5)
    await store.stats.add("2026-03-01", 24280, "messages", 2)
    await store.stats.add("2026-03-31", 24283, "flag:scam")
    await store.stats.add("2026-04-01", 24280, "messages", 9)
    async with store.transaction() as tx:  # inside a transaction too
        await tx.stats.add("2026-03-01", 24280, "messages")
        await tx.stats.observe("2026-03-02", 24280, "ack_seconds", 90.5)
    await store.stats.observe("2026-03-02", 24280, "ack_seconds", 30.0)
    counts = await store.stats.counts("2026-03-01", "2026-03-31")
    assert counts == [
        StatCount("2026-03-01", 24280, "messages", 8),
        StatCount("2026-03-31", 24283, "flag:scam", 1),
    ]
    samples = await store.stats.samples("2026-03-01", "2026-03-31")
    assert sorted(s.value for s in samples) == [30.0, 90.5]
    assert await store.stats.counts("2026-05-01", "2026-05-31") == []


async def test_bulletins_open_finish_once_and_list(store: Store) -> None:
    targets = (("tg", "-100", 24280), ("zalo", "g7", 24283))
    new = NewBulletin("Cảnh báo lừa đảo", "officer:thanh", "tg", "555", targets, T0)
    first = await store.bulletins.open(new)
    second = await store.bulletins.open(
        NewBulletin("Thông báo 2", "cli", None, None, targets[:1], T0 + timedelta(days=2))
    )
    row = await store.bulletins.get(first)
    assert row is not None and row.targets == targets and row.author_chat == "555"
    assert row.finished_at is None and row.text == "Cảnh báo lừa đảo"
    assert [b.id for b in await store.bulletins.unfinished()] == [first, second]
    assert await store.bulletins.finish(first, T0 + timedelta(minutes=1))
    assert not await store.bulletins.finish(first, T0 + timedelta(minutes=2))  # once
    assert [b.id for b in await store.bulletins.unfinished()] == [second]
    assert [b.id for b in await store.bulletins.since(T0 + timedelta(days=1))] == [second]


async def test_registered_groups_are_listed(store: Store) -> None:
    await store.groups.upsert("tg", "-2", 24283, "active", "Thôn 2")
    await store.groups.upsert("tg", "-1", None, "left", None)
    rows = await store.groups.all()
    assert [(g.platform, g.chat_id, g.jurisdiction, g.status) for g in rows] == [
        ("tg", "-1", None, "left"),
        ("tg", "-2", 24283, "active"),
    ]
    assert rows[1].title == "Thôn 2"


async def test_queued_messages_states_by_key(store: Store) -> None:
    async with store.transaction() as tx:
        for key in ("b:1", "b:2"):
            await tx.outbox.enqueue_message(NewMessage(key, "tg", key, {"type": "x"}), T0)
    states = await store.outbox.message_states(["b:1", "b:2", "b:missing"])
    assert states == {"b:1": ("pending", None), "b:2": ("pending", None)}
    assert await store.outbox.message_states([]) == {}


async def test_purge_removes_old_cases_drafts_counters_and_bulletins(store: Store) -> None:
    old_case = await store.cases.open(case(T0))
    live_case = await store.cases.open(case(T0))
    await store.cases.set_state(live_case, "answered", T0 + timedelta(days=100))
    await store.drafts.put("old", b"x", T0)
    await store.drafts.put("new", b"y", T0 + timedelta(days=100))
    await store.stats.add("2025-01-01", 1, "messages")
    await store.stats.add("2026-03-01", 1, "messages")
    await store.bulletins.open(NewBulletin("cũ", "cli", None, None, (), T0 - timedelta(days=400)))
    kept = await store.bulletins.open(NewBulletin("mới", "cli", None, None, (), T0))
    before = T0 + timedelta(days=90)
    counts = await store.purge(before, T0 - timedelta(days=30), T0 + timedelta(days=99))
    assert counts["cases"] == 1 and counts["drafts"] == 1
    assert counts["stats"] >= 1 and counts["bulletins"] == 1
    assert await store.cases.get(old_case) is None
    assert await store.cases.get(live_case) is not None
    assert await store.drafts.get("old", T0 - timedelta(days=1)) is None
    assert await store.drafts.get("new", T0) == b"y"
    assert await store.stats.counts("2025-01-01", "2025-12-31") == []
    assert len(await store.stats.counts("2026-03-01", "2026-03-31")) == 1
    assert [b.id for b in await store.bulletins.since(T0 - timedelta(days=999))] == [kept]


@pytest.mark.parametrize("outcome", [Sent("m1"), Failed("blocked"), Cancelled("gone")])
async def test_a_message_to_a_resident_is_erased_once_it_has_its_outcome(
    store: Store, outcome: Sent | Failed | Cancelled
) -> None:
    action = {"type": "SendText", "chat_id": "r-42", "text": "Mã hồ sơ 3-ABCDE", "buttons": [],
              "reply_to": None}  # fmt: skip
    kept = {**action, "chat_id": "u-1", "text": "for an officer"}
    await store.outbox.enqueue_message(
        NewMessage("resident:1", "tg", "r-42", action, erase=True), T0
    )
    await store.outbox.enqueue_message(NewMessage("reply:2", "tg", "u-1", kept), T0)
    work = await store.outbox.claim(Destination("tg", "r-42"), "w", T0, LEASE, timedelta(0))
    assert isinstance(work, MessageWork) and work.action["text"] == "Mã hồ sơ 3-ABCDE"
    retry = Retry(T0, "timeout")
    assert await store.outbox.settle(work, retry, T0)  # not final: kept to send again
    [waiting] = [m for m in await store.outbox.messages() if m["dedupe_key"] == "resident:1"]
    assert waiting["chat_id"] == "r-42"
    work = await store.outbox.claim(Destination("tg", "r-42"), "w", T0, LEASE, timedelta(0))
    assert isinstance(work, MessageWork)
    assert await store.outbox.settle(work, outcome, T0)
    rows = {m["dedupe_key"]: m for m in await store.outbox.messages()}
    assert rows["resident:1"]["chat_id"] == "-" and "3-ABCDE" not in str(rows["resident:1"])
    assert rows["reply:2"]["chat_id"] == "u-1"  # not a resident's: kept as it was
    states = await store.outbox.message_states(["resident:1"])
    expected = {Sent: "sent", Failed: "failed", Cancelled: "cancelled"}[type(outcome)]
    assert states["resident:1"][0] == expected
    assert await store.outbox.next_due() is not None  # the officer's message still waits
