"""Escalation and reminder timers in a sorted set, fenced by the incident's token.

A timer is consumed (`take`) inside the transaction that runs its step, under the write
lock, and only while its fence equals the incident's: a step the chain has moved past, or
one another worker already ran, is never run again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botkit.storage.records import TimerRow
from botkit.storage.redis.connection import Runner, Unit, dt, score, ts

TABLE = "timers"


def _due_key(u: Unit) -> str:
    return u.key("timers", "due")


def _incident_key(u: Unit, incident_id: int) -> str:
    return u.key("timers", "incident", incident_id)


def _row(r: dict[str, object]) -> TimerRow:
    return TimerRow(
        int(r["id"]),  # type: ignore[call-overload]
        int(r["incident_id"]),  # type: ignore[call-overload]
        str(r["kind"]),
        dt(str(r["due_at"])),
        int(r["fence"]),  # type: ignore[call-overload]
    )


async def _schedule(u: Unit, incident_id: int, kind: str, due_at: datetime, fence: int) -> int:
    timer_id = await u.incr(u.key("seq", TABLE))
    u.put(
        TABLE,
        timer_id,
        {
            "id": timer_id,
            "incident_id": incident_id,
            "kind": kind,
            "due_at": ts(due_at),
            "fence": fence,
        },
    )
    u.zadd(_due_key(u), str(timer_id), score(due_at))
    u.sadd(_incident_key(u, incident_id), str(timer_id))
    return timer_id


def _forget(u: Unit, row: dict[str, object]) -> None:
    u.drop(TABLE, str(row["id"]))
    u.zrem(_due_key(u), str(row["id"]))
    u.srem(_incident_key(u, int(row["incident_id"])), str(row["id"]))  # type: ignore[call-overload]


async def _sorted(u: Unit, ids: list[str]) -> list[TimerRow]:
    rows = [_row(r) for r in await u.rows(TABLE, ids)]
    return sorted(rows, key=lambda t: (t.due_at, t.id))


async def _due(u: Unit, now: datetime) -> list[TimerRow]:
    ids = [m for m, _ in await u.zrange(_due_key(u), high=score(now))]
    return [t for t in await _sorted(u, ids) if t.due_at <= now]


async def _pending(u: Unit, incident_id: int | None) -> list[TimerRow]:
    if incident_id is None:
        ids = [m for m, _ in await u.zrange(_due_key(u))]
    else:
        ids = sorted(await u.smembers(_incident_key(u, incident_id)))
    return await _sorted(u, ids)


async def _take(u: Unit, timer_id: int) -> TimerRow | None:
    row = await u.row(TABLE, timer_id)
    if row is None:
        return None
    incident = await u.row("incidents", int(row["incident_id"]))
    _forget(u, row)  # taken, or stale: either way it never fires again
    if incident is None or int(incident["fence"]) != int(row["fence"]):
        return None
    return _row(row)


async def _hasten(u: Unit, incident_id: int, kind: str, due_at: datetime) -> bool:
    moved = False
    for row in await u.rows(TABLE, sorted(await u.smembers(_incident_key(u, incident_id)))):
        if row["kind"] == kind and dt(row["due_at"]) > due_at:
            row["due_at"] = ts(due_at)
            u.put(TABLE, row["id"], row)
            u.zadd(_due_key(u), str(row["id"]), score(due_at))
            moved = True
    return moved


async def _next_due(u: Unit) -> datetime | None:
    first: Any = await u.conn.call(u.conn.text.zrange, _due_key(u), 0, 0)
    if not first:
        return None
    row = await u.row(TABLE, first[0])
    return dt(row["due_at"]) if row else None


# -- used by the other roles, inside their unit --------------------------------------------------
async def cancel_pending(u: Unit, incident_id: int) -> int:
    """Drop every pending timer of the incident (its state changed: the chain stops)."""
    rows = await u.rows(TABLE, sorted(await u.smembers(_incident_key(u, incident_id))))
    for row in rows:
        _forget(u, row)
    return len(rows)


async def incidents_with_timers(u: Unit) -> set[int]:
    rows = await u.rows(TABLE, [m for m, _ in await u.zrange(_due_key(u))])
    return {int(r["incident_id"]) for r in rows}


async def purge(u: Unit, incident_ids: list[int]) -> int:
    return sum([await cancel_pending(u, i) for i in incident_ids])


async def status(u: Unit, now: datetime) -> tuple[int, int]:
    """(pending, due now)."""
    text = u.conn.text
    pending = int(await u.conn.call(text.zcard, _due_key(u)))
    due = int(await u.conn.call(text.zcount, _due_key(u), "-inf", repr(score(now))))
    return pending, due


class RedisTimers:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def schedule(self, incident_id: int, kind: str, due_at: datetime, fence: int) -> int:
        return await self._r.write(_schedule, incident_id, kind, due_at, fence)

    async def due(self, now: datetime) -> list[TimerRow]:
        return await self._r.read(_due, now)

    async def pending(self, incident_id: int | None = None) -> list[TimerRow]:
        return await self._r.read(_pending, incident_id)

    async def take(self, timer_id: int) -> TimerRow | None:
        return await self._r.write(_take, timer_id)

    async def hasten(self, incident_id: int, kind: str, due_at: datetime) -> bool:
        """Bring a pending step forward (its pages all failed for good: move on now)."""
        return await self._r.write(_hasten, incident_id, kind, due_at)

    async def next_due(self) -> datetime | None:
        return await self._r.read(_next_due)
