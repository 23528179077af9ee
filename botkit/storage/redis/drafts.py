"""Conversations in progress, sealed by the caller.

- `drafts` hash: key → JSON {payload (base64), at}; `drafts:updated` sorted set by time
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from botkit.storage.redis.connection import Runner, Unit, dt, score, ts

DRAFTS = "drafts"


async def _get(u: Unit, key: str, since: datetime) -> bytes | None:
    raw = await u.hget(u.key(DRAFTS), key)
    if raw is None:
        return None
    row = json.loads(raw)
    if dt(row["at"]) < since:
        return None
    return base64.b64decode(row["payload"])


async def _put(u: Unit, key: str, payload: bytes, at: datetime) -> None:
    row = {"payload": base64.b64encode(payload).decode(), "at": ts(at)}
    u.hset(u.key(DRAFTS), key, json.dumps(row))
    u.zadd(u.key(DRAFTS, "updated"), key, score(at))


async def _drop(u: Unit, key: str) -> None:
    u.hdel(u.key(DRAFTS), key)
    u.zrem(u.key(DRAFTS, "updated"), key)


async def purge(u: Unit, before: datetime) -> int:
    old = [m for m, _ in await u.zrange(u.key(DRAFTS, "updated"), high=score(before) - 1e-6)]
    for key in old:
        await _drop(u, key)
    return len(old)


class RedisDrafts:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def get(self, key: str, since: datetime) -> bytes | None:
        return await self._r.read(_get, key, since)

    async def put(self, key: str, payload: bytes, at: datetime) -> None:
        await self._r.write(_put, key, payload, at)

    async def drop(self, key: str) -> None:
        await self._r.write(_drop, key)
