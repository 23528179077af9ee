"""Small facts about the store itself: the hash key's fingerprint, the last purge."""

from __future__ import annotations

from datetime import datetime, timedelta

from botkit.storage.hooks import held_by, hold
from botkit.storage.sqlite.connection import Db, Runner


def _get(db: Db, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


def _set(db: Db, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET"
        " value=excluded.value",
        (key, value),
    )


def _hold(db: Db, name: str, owner: str, now: datetime, until: datetime) -> str | None:
    other, value = hold(_get(db, f"hold:{name}"), owner, now, until)
    if other is None:
        _set(db, f"hold:{name}", value)
    return other


def _let_go(db: Db, name: str, owner: str) -> None:
    if held_by(_get(db, f"hold:{name}")) == owner:
        db.execute("DELETE FROM meta WHERE key=?", (f"hold:{name}",))


class SqliteMeta:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def get(self, key: str) -> str | None:
        return await self._r.read(_get, key)

    async def set(self, key: str, value: str) -> None:
        await self._r.write(_set, key, value)

    async def hold(self, name: str, owner: str, now: datetime, ttl: timedelta) -> str | None:
        return await self._r.write(_hold, name, owner, now, now + ttl)

    async def let_go(self, name: str, owner: str) -> None:
        await self._r.write(_let_go, name, owner)
