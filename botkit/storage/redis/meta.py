"""Small facts about the store itself: the hash key's fingerprint, the last purge."""

from __future__ import annotations

from datetime import datetime, timedelta

from botkit.storage.hooks import held_by, hold
from botkit.storage.redis.connection import Runner, Unit


async def _get(u: Unit, key: str) -> str | None:
    return await u.hget(u.key("meta"), key)


async def _set(u: Unit, key: str, value: str) -> None:
    u.hset(u.key("meta"), key, value)


async def _hold(u: Unit, name: str, owner: str, now: datetime, until: datetime) -> str | None:
    other, value = hold(await _get(u, f"hold:{name}"), owner, now, until)
    if other is None:
        await _set(u, f"hold:{name}", value)
    return other


async def _let_go(u: Unit, name: str, owner: str) -> None:
    if held_by(await _get(u, f"hold:{name}")) == owner:
        u.hdel(u.key("meta"), f"hold:{name}")


class RedisMeta:
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
