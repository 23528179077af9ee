"""The SQLite backend's own promises: migrations, WAL, append-only audit, clear errors."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from botkit.storage import SqliteStore
from botkit.storage.base import StoreError, StoreUnavailable
from botkit.storage.migrations import MIGRATIONS
from botkit.storage.records import IntakeItem
from tests.conftest import read_only

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


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


async def test_a_store_of_the_first_version_is_migrated_and_its_duplicate_pages_kept_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO incidents(content_key, category, jurisdiction, unit, state, opened_at,"
        " last_seen, excerpt, score) VALUES ('k','scam',1,'u','opened','t','t','e',0.9)"
    )
    for _ in range(2):  # the old sender could queue one page twice
        db.execute(
            "INSERT INTO alerts(incident_id, officer_id, platform, contact, kind, step,"
            " created_at) VALUES (1,'thanh','test','u','alert',0,'t')"
        )
    db.close()
    s = SqliteStore(path)
    await s.open()
    try:
        assert [r.status for r in await s.outbox.alerts()] == ["pending"]
    finally:
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


async def test_a_read_only_database_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    s = SqliteStore(path)
    await s.open()
    await s.close()
    for name in ("db.sqlite3-wal", "db.sqlite3-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    with read_only(path), pytest.raises(StoreError, match="read-only"):
        await SqliteStore(path).open()


async def test_an_unwritable_folder_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StoreError, match="folder"):
        await SqliteStore(tmp_path / "a-file" / "db.sqlite3").open()


async def test_a_full_store_is_unavailable_not_broken(tmp_path: Path) -> None:
    """SQLITE_FULL, as from a full disk, is the same error from the size cap."""
    s = SqliteStore(tmp_path / "db.sqlite3", max_megabytes=0.4)  # the schema takes ~0.2
    await s.open()
    try:
        with pytest.raises(StoreUnavailable, match="full"):
            for i in range(1000):
                await s.intake.append([IntakeItem(f"k{i}", os.urandom(2000))], T0)
        # nothing half-written; reading still works
        assert await s.intake.backlog() > 0
    finally:
        await s.close()


async def test_audit_log_is_append_only(store: SqliteStore, tmp_path: Path) -> None:
    await store.audit.record(T0, "thanh", "officer.ack", "incident:1", {})
    db = sqlite3.connect(tmp_path / "botkit.sqlite3", isolation_level=None)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_log SET actor='x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_log")
    await store.purge(T0, T0, T0)  # the purge's guard is down again afterwards
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_log")
