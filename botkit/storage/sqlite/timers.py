"""Durable escalation and reminder timers, fenced by the incident's token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botkit.storage.records import TimerRow
from botkit.storage.sqlite.connection import Db, Runner, dt, ts


def _schedule(db: Db, incident_id: int, kind: str, due_at: datetime, fence: int) -> int:
    cur = db.execute(
        "INSERT INTO timers(incident_id, kind, due_at, fence) VALUES (?,?,?,?)",
        (incident_id, kind, ts(due_at), fence),
    )
    return int(cur.lastrowid or 0)


def _timers(db: Db, where: str, args: list[Any]) -> list[TimerRow]:
    rows = db.execute(
        "SELECT id, incident_id, kind, due_at, fence FROM timers WHERE status='pending' "
        + where
        + " ORDER BY due_at, id",
        args,
    ).fetchall()
    return [TimerRow(r[0], r[1], r[2], dt(r[3]), r[4]) for r in rows]


def _take(db: Db, timer_id: int) -> TimerRow | None:
    cur = db.execute(
        "UPDATE timers SET status='done' WHERE id=? AND status='pending' AND fence ="
        " (SELECT fence FROM incidents WHERE incidents.id = timers.incident_id)",
        (timer_id,),
    )
    if cur.rowcount != 1:
        db.execute("UPDATE timers SET status='stale' WHERE id=? AND status='pending'", (timer_id,))
        return None
    row = db.execute(
        "SELECT id, incident_id, kind, due_at, fence FROM timers WHERE id=?", (timer_id,)
    ).fetchone()
    return TimerRow(row[0], row[1], row[2], dt(row[3]), row[4])


def _hasten(db: Db, incident_id: int, kind: str, due_at: datetime) -> bool:
    cur = db.execute(
        "UPDATE timers SET due_at=? WHERE incident_id=? AND kind=? AND status='pending'"
        " AND due_at > ?",
        (ts(due_at), incident_id, kind, ts(due_at)),
    )
    return cur.rowcount > 0


def _next_due(db: Db) -> datetime | None:
    row = db.execute("SELECT MIN(due_at) FROM timers WHERE status='pending'").fetchone()
    return dt(row[0]) if row and row[0] else None


class SqliteTimers:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def schedule(self, incident_id: int, kind: str, due_at: datetime, fence: int) -> int:
        return await self._r.write(_schedule, incident_id, kind, due_at, fence)

    async def due(self, now: datetime) -> list[TimerRow]:
        return await self._r.read(_timers, "AND due_at <= ?", [ts(now)])

    async def pending(self, incident_id: int | None = None) -> list[TimerRow]:
        if incident_id is None:
            return await self._r.read(_timers, "", [])
        return await self._r.read(_timers, "AND incident_id = ?", [incident_id])

    async def take(self, timer_id: int) -> TimerRow | None:
        return await self._r.write(_take, timer_id)

    async def hasten(self, incident_id: int, kind: str, due_at: datetime) -> bool:
        """Bring a pending step forward (its pages all failed for good: move on now)."""
        return await self._r.write(_hasten, incident_id, kind, due_at)

    async def next_due(self) -> datetime | None:
        return await self._r.read(_next_due)
