"""The SQLite store: migrations, idempotence, append-only audit, retention, fenced timers."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from botkit.domain import IncidentState
from botkit.storage import SqliteStore
from botkit.storage.base import FlaggedRecord, NewIncident
from botkit.storage.migrations import MIGRATIONS
from botkit.storage.sqlite import StoreError

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def record(key: str = "k1", at: datetime = T0) -> FlaggedRecord:
    return FlaggedRecord(
        key,
        "test",
        "g1",
        "1",
        "s-hash",
        "t-hash",
        "excerpt",
        "scam",
        0.9,
        "m1",
        (("phone", "[số]"),),
        at,
    )


def incident(at: datetime = T0) -> NewIncident:
    return NewIncident(
        "content",
        "scam",
        24280,
        "u1",
        (),
        at,
        "excerpt",
        0.9,
        None,
        {"unit": "u1", "steps": [], "repeat": 1, "reminder_hours": 1},
    )


@pytest.fixture
async def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "botkit.sqlite3")
    await s.open()
    yield s
    await s.close()


async def test_schema_is_migrated_with_wal(store: SqliteStore, tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "botkit.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    for _ in range(2):
        s = SqliteStore(tmp_path / "db")
        await s.open()
        await s.close()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer"):
        await SqliteStore(path).open()


async def test_a_corrupt_database_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=str(path)):
        await SqliteStore(path).open()


async def test_flagged_messages_are_recorded_once(store: SqliteStore) -> None:
    first = await store.record_flagged(record())
    again = await store.record_flagged(record())
    assert first[1] is True and again == (first[0], False)


async def test_audit_log_is_append_only(store: SqliteStore, tmp_path: Path) -> None:
    await store.audit(T0, "thanh", "officer.ack", "incident:1", {})
    db = sqlite3.connect(tmp_path / "botkit.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_log SET actor='x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_log")


async def test_purge_deletes_old_data_everywhere(store: SqliteStore) -> None:
    old = T0 - timedelta(days=100)
    flagged_id, _ = await store.record_flagged(record("old", old))
    inc = await store.open_incident(incident(old))
    await store.add_occurrence(inc.id, flagged_id, "test", "g1", "1", old)
    await store.create_alert(inc.id, "thanh", "test", "u", "alert", 0, old)
    await store.audit(old, "thanh", "officer.ack", f"incident:{inc.id}", {})
    fresh_id, _ = await store.record_flagged(record("new", T0))
    counts = await store.purge(T0 - timedelta(days=90), T0 - timedelta(days=30))
    assert counts["flagged_messages"] == 1 and counts["incidents"] == 1
    assert counts["alerts"] == 1 and counts["audit_log"] == 1
    assert await store.incidents() == []
    assert (await store.record_flagged(record("new", T0)))[0] == fresh_id
    # the guard is down again: the audit log is append-only after the purge
    await store.audit(T0, "x", "y", "z", {})
    with pytest.raises(sqlite3.DatabaseError):
        store.db.execute("DELETE FROM audit_log")


async def test_transition_is_compare_and_set(store: SqliteStore) -> None:
    inc = await store.open_incident(incident())
    assert await store.transition(
        inc.id, IncidentState.OPENED, IncidentState.ACKNOWLEDGED, "a", "ack", T0
    )
    # a second officer acting on the stale state loses the race
    assert not await store.transition(
        inc.id, IncidentState.OPENED, IncidentState.FALSE_POSITIVE, "b", "false", T0
    )


async def test_timer_with_a_stale_fence_is_not_claimed(store: SqliteStore) -> None:
    inc = await store.open_incident(incident())
    fence = await store.advance_step(inc.id, 0, exhausted=False)
    timer = await store.schedule(inc.id, "escalate", T0, fence)
    await store.bump_fence(inc.id)  # e.g. an acknowledgement happened
    assert not await store.claim_timer(timer)
    fence = await store.advance_step(inc.id, 1, exhausted=False)
    timer = await store.schedule(inc.id, "escalate", T0, fence)
    assert await store.claim_timer(timer)
    assert not await store.claim_timer(timer)  # never twice
