"""Warnings posted to every group of a jurisdiction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botkit.storage.records import BulletinRow, NewBulletin
from botkit.storage.sqlite.connection import Db, Runner, dt, ts

_COLUMNS = "id, text, author, author_platform, author_chat, targets, created_at, finished_at"


def _row(r: Any) -> BulletinRow:
    return BulletinRow(
        id=int(r[0]),
        text=str(r[1]),
        author=str(r[2]),
        author_platform=r[3],
        author_chat=r[4],
        targets=tuple((p, c, int(j)) for p, c, j in json.loads(str(r[5]))),
        created_at=dt(str(r[6])),
        finished_at=dt(str(r[7])) if r[7] is not None else None,
    )


def _open(db: Db, new: NewBulletin) -> int:
    cur = db.execute(
        "INSERT INTO bulletins(text, author, author_platform, author_chat, targets, created_at)"
        " VALUES (?,?,?,?,?,?)",
        (
            new.text,
            new.author,
            new.author_platform,
            new.author_chat,
            json.dumps([list(t) for t in new.targets], ensure_ascii=False),
            ts(new.created_at),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _get(db: Db, bulletin_id: int) -> BulletinRow | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM bulletins WHERE id=?", (bulletin_id,)).fetchone()
    return _row(row) if row else None


def _unfinished(db: Db) -> list[BulletinRow]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM bulletins WHERE finished_at IS NULL ORDER BY id"
    ).fetchall()
    return [_row(r) for r in rows]


def _finish(db: Db, bulletin_id: int, at: datetime) -> bool:
    cur = db.execute(
        "UPDATE bulletins SET finished_at=? WHERE id=? AND finished_at IS NULL",
        (ts(at), bulletin_id),
    )
    return cur.rowcount > 0


def _since(db: Db, at: datetime) -> list[BulletinRow]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM bulletins WHERE created_at >= ? ORDER BY id", (ts(at),)
    ).fetchall()
    return [_row(r) for r in rows]


class SqliteBulletins:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def open(self, new: NewBulletin) -> int:
        return await self._r.write(_open, new)

    async def get(self, bulletin_id: int) -> BulletinRow | None:
        return await self._r.read(_get, bulletin_id)

    async def unfinished(self) -> list[BulletinRow]:
        return await self._r.read(_unfinished)

    async def finish(self, bulletin_id: int, at: datetime) -> bool:
        return await self._r.write(_finish, bulletin_id, at)

    async def since(self, at: datetime) -> list[BulletinRow]:
        return await self._r.read(_since, at)
