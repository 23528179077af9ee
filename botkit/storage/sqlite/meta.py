"""Small facts about the store itself: the hash key's fingerprint, the last purge."""

from __future__ import annotations

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


class SqliteMeta:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def get(self, key: str) -> str | None:
        return await self._r.read(_get, key)

    async def set(self, key: str, value: str) -> None:
        await self._r.write(_set, key, value)
