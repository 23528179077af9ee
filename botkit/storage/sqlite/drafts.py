"""Conversations in progress, sealed by the caller."""

from __future__ import annotations

from datetime import datetime

from botkit.storage.sqlite.connection import Db, Runner, ts


def _get(db: Db, key: str, since: datetime) -> bytes | None:
    row = db.execute(
        "SELECT payload FROM drafts WHERE key=? AND updated_at >= ?", (key, ts(since))
    ).fetchone()
    return bytes(row[0]) if row else None


def _put(db: Db, key: str, payload: bytes, at: datetime) -> None:
    db.execute(
        "INSERT INTO drafts(key, payload, updated_at) VALUES (?,?,?) ON CONFLICT(key) DO UPDATE"
        " SET payload=excluded.payload, updated_at=excluded.updated_at",
        (key, payload, ts(at)),
    )


def _drop(db: Db, key: str) -> None:
    db.execute("DELETE FROM drafts WHERE key=?", (key,))


class SqliteDrafts:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def get(self, key: str, since: datetime) -> bytes | None:
        return await self._r.read(_get, key, since)

    async def put(self, key: str, payload: bytes, at: datetime) -> None:
        await self._r.write(_put, key, payload, at)

    async def drop(self, key: str) -> None:
        await self._r.write(_drop, key)
