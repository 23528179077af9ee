"""Counters and samples per day and commune, for monthly reports.

- `stats:counts:DAY` hash: "jurisdiction|name" → count (HINCRBY: workers never conflict)
- `stats:samples:DAY` list of JSON [jurisdiction, name, value]
- `stats:days` sorted set of the days that have any, for reading a month and the purge
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from botkit.storage.records import StatCount, StatSample
from botkit.storage.redis.connection import Runner, Unit

STATS = "stats"


def _ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()


async def _add(u: Unit, day: str, jurisdiction: int, name: str, value: int) -> None:
    u.hincrby(u.key(STATS, "counts", day), f"{jurisdiction}|{name}", value)
    u.zadd(u.key(STATS, "days"), day, _ordinal(day))


async def _observe(u: Unit, day: str, jurisdiction: int, name: str, value: float) -> None:
    u.rpush(u.key(STATS, "samples", day), json.dumps([jurisdiction, name, value]))
    u.zadd(u.key(STATS, "days"), day, _ordinal(day))


async def _days(u: Unit, first: str, last: str) -> list[str]:
    return [d for d, _ in await u.zrange(u.key(STATS, "days"), _ordinal(first), _ordinal(last))]


async def _counts(u: Unit, first: str, last: str) -> list[StatCount]:
    found: list[StatCount] = []
    for day in await _days(u, first, last):
        raw: dict[str, str] = await u.conn.call(u.conn.text.hgetall, u.key(STATS, "counts", day))
        for field, value in raw.items():
            jurisdiction, _, name = field.partition("|")
            found.append(StatCount(day, int(jurisdiction), name, int(value)))
    return sorted(found, key=lambda c: (c.day, c.jurisdiction, c.name))


async def _samples(u: Unit, first: str, last: str) -> list[StatSample]:
    found: list[StatSample] = []
    for day in await _days(u, first, last):
        raw: Any = await u.conn.call(u.conn.text.lrange, u.key(STATS, "samples", day), 0, -1)
        for item in raw:
            jurisdiction, name, value = json.loads(item)
            found.append(StatSample(day, int(jurisdiction), name, float(value)))
    return found


async def purge(u: Unit, before_day: str) -> int:
    old = [d for d, _ in await u.zrange(u.key(STATS, "days"), high=_ordinal(before_day) - 1)]
    for day in old:
        u.delete(u.key(STATS, "counts", day))
        u.delete(u.key(STATS, "samples", day))
        u.zrem(u.key(STATS, "days"), day)
    return len(old)


class RedisStats:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def add(self, day: str, jurisdiction: int, name: str, value: int = 1) -> None:
        await self._r.write(_add, day, jurisdiction, name, value)

    async def observe(self, day: str, jurisdiction: int, name: str, value: float) -> None:
        await self._r.write(_observe, day, jurisdiction, name, value)

    async def counts(self, first_day: str, last_day: str) -> list[StatCount]:
        return await self._r.read(_counts, first_day, last_day)

    async def samples(self, first_day: str, last_day: str) -> list[StatSample]:
        return await self._r.read(_samples, first_day, last_day)
