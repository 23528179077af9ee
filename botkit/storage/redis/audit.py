"""The append-only audit log: a sorted set of entries by time, ids from a counter.

Nothing but the retention purge removes an entry; no code path edits one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botkit.storage.redis.connection import Runner, Unit, score, ts


async def _record(
    u: Unit, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
) -> None:
    entry_id = await u.incr(u.key("seq", "audit"))
    entry = {"id": entry_id, "at": ts(at), "actor": actor, "action": action, "subject": subject}
    u.put("audit", entry_id, entry | {"details": details})
    u.zadd(u.key("audit", "by_id"), str(entry_id), entry_id)
    u.zadd(u.key("audit", "by_time"), str(entry_id), score(at))


async def _log(u: Unit, limit: int) -> list[dict[str, Any]]:
    ids: Any = await u.conn.call(u.conn.text.zrange, u.key("audit", "by_id"), 0, limit - 1)
    return await u.rows("audit", ids)


async def purge(u: Unit, before: datetime) -> int:
    old = [m for m, _ in await u.zrange(u.key("audit", "by_time"), high=score(before) - 1e-6)]
    for entry_id in old:
        u.drop("audit", entry_id)
        u.zrem(u.key("audit", "by_id"), entry_id)
        u.zrem(u.key("audit", "by_time"), entry_id)
    return len(old)


class RedisAudit:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def record(
        self, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
    ) -> None:
        await self._r.write(_record, at, actor, action, subject, details)

    async def log(self, limit: int = 1000) -> list[dict[str, Any]]:
        return await self._r.read(_log, limit)
