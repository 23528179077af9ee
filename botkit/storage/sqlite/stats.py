"""Counters and samples per day and commune, for monthly reports."""

from __future__ import annotations

from botkit.storage.records import StatCount, StatSample
from botkit.storage.sqlite.connection import Db, Runner


def _add(db: Db, day: str, jurisdiction: int, name: str, value: int) -> None:
    db.execute(
        "INSERT INTO stat_counts(day, jurisdiction, name, value) VALUES (?,?,?,?)"
        " ON CONFLICT(day, jurisdiction, name) DO UPDATE SET value = value + excluded.value",
        (day, jurisdiction, name, value),
    )


def _observe(db: Db, day: str, jurisdiction: int, name: str, value: float) -> None:
    db.execute(
        "INSERT INTO stat_samples(day, jurisdiction, name, value) VALUES (?,?,?,?)",
        (day, jurisdiction, name, value),
    )


def _counts(db: Db, first: str, last: str) -> list[StatCount]:
    rows = db.execute(
        "SELECT day, jurisdiction, name, value FROM stat_counts WHERE day BETWEEN ? AND ?"
        " ORDER BY day, jurisdiction, name",
        (first, last),
    ).fetchall()
    return [StatCount(r[0], int(r[1]), r[2], int(r[3])) for r in rows]


def _samples(db: Db, first: str, last: str) -> list[StatSample]:
    rows = db.execute(
        "SELECT day, jurisdiction, name, value FROM stat_samples WHERE day BETWEEN ? AND ?"
        " ORDER BY id",
        (first, last),
    ).fetchall()
    return [StatSample(r[0], int(r[1]), r[2], float(r[3])) for r in rows]


class SqliteStats:
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
