"""Groups registered at run time (a bot added to a group, `/setup`, a migration)."""

from __future__ import annotations

from datetime import UTC, datetime

from botkit.storage.records import GroupRow
from botkit.storage.sqlite.connection import Db, Runner, ts


def _upsert(
    db: Db, platform: str, chat_id: str, jurisdiction: int | None, status: str, title: str | None
) -> None:
    db.execute(
        "INSERT INTO groups(platform, chat_id, jurisdiction, status, title, updated_at)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT(platform, chat_id) DO UPDATE SET"
        " jurisdiction=excluded.jurisdiction, status=excluded.status,"
        " title=COALESCE(excluded.title, groups.title), updated_at=excluded.updated_at",
        (platform, chat_id, jurisdiction, status, title, ts(datetime.now(UTC))),
    )


def _get(db: Db, platform: str, chat_id: str) -> tuple[int | None, str] | None:
    row = db.execute(
        "SELECT jurisdiction, status FROM groups WHERE platform=? AND chat_id=?",
        (platform, chat_id),
    ).fetchone()
    return (row[0], row[1]) if row else None


def _all(db: Db) -> list[GroupRow]:
    rows = db.execute(
        "SELECT platform, chat_id, jurisdiction, status, title FROM groups"
        " ORDER BY platform, chat_id"
    ).fetchall()
    return [GroupRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]


class SqliteGroups:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def upsert(
        self, platform: str, chat_id: str, jurisdiction: int | None, status: str, title: str | None
    ) -> None:
        await self._r.write(_upsert, platform, chat_id, jurisdiction, status, title)

    async def get(self, platform: str, chat_id: str) -> tuple[int | None, str] | None:
        return await self._r.read(_get, platform, chat_id)

    async def all(self) -> list[GroupRow]:
        return await self._r.read(_all)
