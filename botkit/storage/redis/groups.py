"""Groups registered at run time (a bot added to a group, `/setup`, a migration)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from botkit.storage.records import GroupRow
from botkit.storage.redis.connection import Runner, Unit, ts


def _field(platform: str, chat_id: str) -> str:
    return json.dumps([platform, chat_id])


async def _upsert(
    u: Unit, platform: str, chat_id: str, jurisdiction: int | None, status: str, title: str | None
) -> None:
    key, field = u.key("groups"), _field(platform, chat_id)
    old = await u.hget(key, field)
    previous = json.loads(old) if old else {}
    row = {
        "jurisdiction": jurisdiction,
        "status": status,
        "title": title if title is not None else previous.get("title"),
        "updated_at": ts(datetime.now(UTC)),
    }
    u.hset(key, field, json.dumps(row, ensure_ascii=False))


async def _get(u: Unit, platform: str, chat_id: str) -> tuple[int | None, str] | None:
    raw = await u.hget(u.key("groups"), _field(platform, chat_id))
    if raw is None:
        return None
    row = json.loads(raw)
    return row["jurisdiction"], row["status"]


async def _all(u: Unit) -> list[GroupRow]:
    found = []
    for field, raw in (await u.hgetall(u.key("groups"))).items():
        platform, chat_id = json.loads(field)
        row = json.loads(raw)
        found.append(GroupRow(platform, chat_id, row["jurisdiction"], row["status"], row["title"]))
    return sorted(found, key=lambda g: (g.platform, g.chat_id))


class RedisGroups:
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
