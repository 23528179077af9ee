"""Accepted events, sealed, until their effects commit; then only their key stays a while."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from botkit.storage.records import ClaimedEvent, DeadLetter, IntakeItem
from botkit.storage.sqlite.connection import Db, Runner, dt, ts

_FREE = "COALESCE(next_at, '') <= :now AND COALESCE(lease_until, '') < :now"


def _append(db: Db, items: Sequence[IntakeItem], at: datetime) -> int:
    cur = db.executemany(
        "INSERT OR IGNORE INTO intake(event_key, payload, received_at) VALUES (?,?,?)",
        [(item.key, item.payload, ts(at)) for item in items],
    )
    return max(cur.rowcount, 0)


def _claim(
    db: Db, owner: str, limit: int, now: datetime, until: datetime, max_deliveries: int
) -> list[ClaimedEvent]:
    params = {"now": ts(now), "limit": limit, "max": max_deliveries}
    # An entry delivered this often never finished: it probably kills the process.
    db.execute(
        "UPDATE intake SET status='dead', finished_at=:now,"
        " last_error=COALESCE(last_error, 'delivered ' || deliveries || ' times without"
        " finishing (did it crash the process?)') WHERE status='pending'"
        f" AND deliveries >= :max AND {_FREE}",
        params,
    )
    rows = db.execute(
        f"SELECT id, payload, deliveries, attempts FROM intake WHERE status='pending' AND {_FREE}"
        " ORDER BY id LIMIT :limit",
        params,
    ).fetchall()
    if rows:
        db.executemany(
            "UPDATE intake SET lease_owner=?, lease_until=?, deliveries = deliveries + 1"
            " WHERE id=?",
            [(owner, ts(until), r[0]) for r in rows],
        )
    return [ClaimedEvent(r[0], r[1], r[2] + 1, r[3]) for r in rows]


def _done(db: Db, ids: Sequence[int], at: datetime) -> None:
    db.executemany(
        "UPDATE intake SET status='done', payload=NULL, lease_owner=NULL, lease_until=NULL,"
        " finished_at=? WHERE id=?",
        [(ts(at), i) for i in ids],
    )


def _fail(db: Db, entry_id: int, error: str, retry_at: datetime, max_attempts: int) -> bool:
    db.execute(
        "UPDATE intake SET attempts = attempts + 1, last_error=?, next_at=?, lease_owner=NULL,"
        " lease_until=NULL WHERE id=? AND status='pending'",
        (error[:500], ts(retry_at), entry_id),
    )
    cur = db.execute(
        "UPDATE intake SET status='dead' WHERE id=? AND attempts >= ?", (entry_id, max_attempts)
    )
    return cur.rowcount == 1


def _release(db: Db, ids: Sequence[int]) -> None:
    db.executemany(
        "UPDATE intake SET lease_owner=NULL, lease_until=NULL,"
        " deliveries = MAX(deliveries - 1, 0) WHERE id=? AND status='pending'",
        [(i,) for i in ids],
    )


def _backlog(db: Db) -> int:
    return int(db.execute("SELECT COUNT(*) FROM intake WHERE status='pending'").fetchone()[0])


def _dead_letters(db: Db, limit: int) -> list[DeadLetter]:
    rows = db.execute(
        "SELECT id, received_at, attempts, deliveries, last_error FROM intake"
        " WHERE status='dead' ORDER BY id LIMIT ?",
        (limit,),
    ).fetchall()
    return [DeadLetter(r[0], dt(r[1]), r[2], r[3], r[4]) for r in rows]


def _requeue_dead(db: Db) -> int:
    cur = db.execute(
        "UPDATE intake SET status='pending', attempts=0, deliveries=0, next_at=NULL,"
        " finished_at=NULL WHERE status='dead' AND payload IS NOT NULL"
    )
    return cur.rowcount


class SqliteIntake:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def append(self, items: Sequence[IntakeItem], at: datetime) -> int:
        return await self._r.write(_append, items, at)

    async def claim(
        self, owner: str, limit: int, now: datetime, lease: timedelta, max_deliveries: int
    ) -> list[ClaimedEvent]:
        return await self._r.write(_claim, owner, limit, now, now + lease, max_deliveries)

    async def done(self, ids: Sequence[int], at: datetime) -> None:
        if ids:
            await self._r.write(_done, list(ids), at)

    async def fail(self, entry_id: int, error: str, retry_at: datetime, max_attempts: int) -> bool:
        return await self._r.write(_fail, entry_id, error, retry_at, max_attempts)

    async def release(self, ids: Sequence[int]) -> None:
        if ids:
            await self._r.write(_release, list(ids))

    async def backlog(self) -> int:
        return await self._r.read(_backlog)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return await self._r.read(_dead_letters, limit)

    async def requeue_dead(self) -> int:
        return await self._r.write(_requeue_dead)
