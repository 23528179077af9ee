"""Warnings posted to every group of a jurisdiction.

- `bulletins` hash: id → JSON row; `seq:bulletins` counter
- `bulletins:created` sorted set of ids by time; `bulletins:unfinished` set of ids
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botkit.storage.records import BulletinRow, NewBulletin
from botkit.storage.redis.connection import Runner, Unit, dt, score, ts

BULLETINS = "bulletins"


def _bulletin(row: dict[str, Any]) -> BulletinRow:
    return BulletinRow(
        id=int(row["id"]),
        text=row["text"],
        author=row["author"],
        author_platform=row["author_platform"],
        author_chat=row["author_chat"],
        targets=tuple((p, c, int(j)) for p, c, j in row["targets"]),
        created_at=dt(row["created_at"]),
        finished_at=dt(row["finished_at"]) if row["finished_at"] else None,
    )


async def _open(u: Unit, new: NewBulletin) -> int:
    bulletin_id = await u.incr(u.key("seq", BULLETINS))
    u.put(
        BULLETINS,
        bulletin_id,
        {
            "id": bulletin_id,
            "text": new.text,
            "author": new.author,
            "author_platform": new.author_platform,
            "author_chat": new.author_chat,
            "targets": [list(t) for t in new.targets],
            "created_at": ts(new.created_at),
            "finished_at": None,
        },
    )
    u.zadd(u.key(BULLETINS, "created"), str(bulletin_id), score(new.created_at))
    u.sadd(u.key(BULLETINS, "unfinished"), str(bulletin_id))
    return bulletin_id


async def _get(u: Unit, bulletin_id: int) -> BulletinRow | None:
    row = await u.row(BULLETINS, bulletin_id)
    return _bulletin(row) if row is not None else None


async def _unfinished(u: Unit) -> list[BulletinRow]:
    ids = sorted(await u.smembers(u.key(BULLETINS, "unfinished")), key=int)
    return [_bulletin(r) for r in await u.rows(BULLETINS, ids)]


async def _finish(u: Unit, bulletin_id: int, at: datetime) -> bool:
    row = await u.row(BULLETINS, bulletin_id)
    if row is None or row["finished_at"] is not None:
        return False
    u.put(BULLETINS, bulletin_id, row | {"finished_at": ts(at)})
    u.srem(u.key(BULLETINS, "unfinished"), str(bulletin_id))
    return True


async def _since(u: Unit, at: datetime) -> list[BulletinRow]:
    ids = [m for m, _ in await u.zrange(u.key(BULLETINS, "created"), score(at))]
    return sorted((_bulletin(r) for r in await u.rows(BULLETINS, ids)), key=lambda b: b.id)


async def purge(u: Unit, before: datetime) -> int:
    old = [m for m, _ in await u.zrange(u.key(BULLETINS, "created"), high=score(before) - 1e-6)]
    for bulletin_id in old:
        u.drop(BULLETINS, bulletin_id)
        u.zrem(u.key(BULLETINS, "created"), bulletin_id)
        u.srem(u.key(BULLETINS, "unfinished"), bulletin_id)
    return len(old)


class RedisBulletins:
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
