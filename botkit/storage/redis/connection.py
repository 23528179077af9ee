"""One Redis server shared by every botkit process: the write lock and units of work.

Redis runs one command at a time but knows nothing of botkit's multi-step effects (record a
flag, open or join its incident, queue its pages, schedule the next step, acknowledge the
intake entry). Those must commit together, and a reader deciding what to write must not be
overtaken. So:

- Every write, single or in a transaction, holds one fleet-wide lock: a key set with
  `SET NX PX` to a random token, renewed while held and expiring by itself when its holder
  dies (`kill -9`). A process queues its own coroutines on an asyncio lock first, so only
  one of them polls Redis for it.
- Writes are buffered in a `Unit` (reads see them: read-your-writes) and applied by one Lua
  script that first checks the lock token is still ours. A holder that stalled past its
  lease is fenced off: its commit is refused and nothing of it is applied. A crash before
  the script runs applies nothing. There is no undo to do, ever.
- Reads outside a transaction take no lock; they see committed data only.

Keys share one hash tag (`{prefix}:...`) so a cluster would keep them in one slot.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import os
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
import redis.exceptions as rexc
from redis.backoff import NoBackoff
from redis.retry import Retry

from botkit.storage.base import StoreError, StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

LOCK_TTL_MS = 5000
# Renew well before the lease runs out: a long transaction keeps its lock, a dead one loses it.
_RENEW_AFTER = 1.0

# Acknowledging an intake entry: gone from the stream, its key kept a while (a redelivery of
# the same update is recognised), its lease and attempts forgotten. Shared with `intake`.
INTAKE_DONE_LUA = """
local function intake_done(stream, group, id, leases, owners, attempts, seen, done, at, lat)
  local e = redis.call('XRANGE', stream, id, id)
  if #e > 0 then
    local f = e[1][2]
    for i = 1, #f, 2 do
      if f[i] == 'key' then
        redis.call('HDEL', seen, f[i + 1])
        redis.call('ZADD', done, at, f[i + 1])
      end
    end
  end
  -- Time in the stream, on the server's clock (the id is the append time): the last 10,000
  -- are kept for `botkit status` and the benchmark.
  local t = redis.call('TIME')
  local id_ms = tonumber(string.match(id, '^(%d+)'))
  if id_ms and redis.call('XACK', stream, group, id) == 1 then
    redis.call('LPUSH', lat, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - id_ms)
    redis.call('LTRIM', lat, 0, 9999)
  end
  redis.call('XDEL', stream, id)
  redis.call('ZREM', leases, id)
  redis.call('HDEL', owners, id)
  redis.call('HDEL', attempts, id)
end
"""

_APPLY = (
    INTAKE_DONE_LUA
    + """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ops = cjson.decode(ARGV[2])
for _, op in ipairs(ops) do
  local verb = op[1]
  if verb == 'hset' then redis.call('HSET', op[2], op[3], op[4])
  elseif verb == 'hdel' then redis.call('HDEL', op[2], op[3])
  elseif verb == 'zadd' then redis.call('ZADD', op[2], op[3], op[4])
  elseif verb == 'zrem' then redis.call('ZREM', op[2], op[3])
  elseif verb == 'sadd' then redis.call('SADD', op[2], op[3])
  elseif verb == 'srem' then redis.call('SREM', op[2], op[3])
  elseif verb == 'set' then redis.call('SET', op[2], op[3])
  elseif verb == 'del' then redis.call('DEL', op[2])
  elseif verb == 'intake_done' then
    intake_done(op[2], op[3], op[4], op[5], op[6], op[7], op[8], op[9], op[10], op[11])
  else return redis.error_reply('botkit: unknown op ' .. tostring(verb)) end
end
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
return 1
"""
)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def ts(value: datetime) -> str:
    """A UTC timestamp as text (exact, unlike a float)."""
    return value.astimezone(UTC).isoformat()


def dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def score(value: datetime) -> float:
    """A sorted set's score for a time (milliseconds are plenty for due times)."""
    return round(value.timestamp(), 6)


def redact_url(url: str) -> str:
    """The URL without its password, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class Keys:
    def __init__(self, prefix: str) -> None:
        self._tag = "{" + prefix + "}"

    def __call__(self, *parts: object) -> str:
        return ":".join([self._tag, *(str(p) for p in parts)])


class Connection:
    """The clients, the key names and the write lock of one process."""

    def __init__(self, url: str, prefix: str, owner: str | None = None) -> None:
        self.url = url
        self.location = f"{redact_url(url)} ({prefix})"
        self.key = Keys(prefix)
        self.owner = owner or f"{os.uname().nodename}:{os.getpid()}"
        # No silent retries inside redis-py: a command whose reply was lost may have run,
        # and whether to try again is the caller's decision (every botkit write is fenced
        # or idempotent, and says so).
        options: dict[str, Any] = {
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "retry": Retry(NoBackoff(), 0),
        }
        self.text: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=True, **options)
        self.raw: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=False, **options)
        self.lock = asyncio.Lock()
        self.tx_task: asyncio.Task[Any] | None = None
        self._apply = self.text.register_script(_APPLY)
        self._release = self.text.register_script(_RELEASE)
        self._renew = self.text.register_script(_RENEW)

    async def open(self) -> None:
        try:
            await self.text.ping()
        except rexc.RedisError as exc:
            raise StoreError(f"{self.location}: cannot reach Redis: {exc}") from exc

    async def close(self) -> None:
        await self.text.aclose()
        await self.raw.aclose()

    async def call(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """Run `fn(*args)`, turning Redis's failures into the store's errors."""
        try:
            return await fn(*args, **kwargs)
        except (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError) as exc:
            raise StoreUnavailable(f"{self.location}: {exc or type(exc).__name__}") from exc
        except rexc.ResponseError as exc:
            if "OOM" in str(exc) or "READONLY" in str(exc) or "MISCONF" in str(exc):
                raise StoreUnavailable(f"{self.location}: {exc}") from exc
            raise StoreError(f"{self.location}: {exc}") from exc

    def check_not_inside(self) -> None:
        current = asyncio.current_task()
        if current is not None and current is self.tx_task:
            raise RuntimeError("store used outside the open transaction of the same task")

    # -- the fleet-wide write lock ---------------------------------------------------------
    async def acquire(self) -> str:
        token = f"{self.owner}:{secrets.token_hex(6)}"
        key = self.key("lock")
        delay = 0.0005
        while not await self.call(self.text.set, key, token, px=LOCK_TTL_MS, nx=True):
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.02)
        return token

    async def release(self, token: str) -> None:
        with contextlib.suppress(StoreError):
            await self.call(self._release, [self.key("lock")], [token])

    async def renew(self, token: str) -> None:
        if not await self.call(self._renew, [self.key("lock")], [token, LOCK_TTL_MS]):
            raise StoreUnavailable(f"{self.location}: lost the write lock (stalled too long)")

    async def apply(self, token: str | None, ops: list[list[str]], release: bool) -> None:
        args = [token or "", json.dumps(ops, ensure_ascii=False), "1" if release else "0"]
        if not await self.call(self._apply, [self.key("lock")], args):
            raise StoreUnavailable(
                f"{self.location}: lost the write lock before committing; nothing was written"
            )


_ABSENT = object()


class Unit:
    """Reads against Redis, writes buffered until `commit`; reads see the buffered writes."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.key = conn.key
        self.token: str | None = None
        self._locked_at = 0.0
        self._ops: list[list[str]] = []
        self._hashes: dict[tuple[str, str], str | None] = {}
        self._zsets: dict[str, dict[str, float | None]] = {}
        self._sets: dict[str, dict[str, bool]] = {}
        self._strings: dict[str, str | None] = {}
        # What this unit read while holding the lock: nobody else can change it meanwhile,
        # so a second read of the same field costs no round trip.
        self._read_fields: dict[tuple[str, str], str | None] = {}
        self._read_sets: dict[str, builtins.set[str]] = {}

    # -- locking ---------------------------------------------------------------------------
    async def lock(self) -> None:
        if self.token is None:
            self.token = await self.conn.acquire()
            self._locked_at = time.monotonic()
        elif time.monotonic() - self._locked_at > _RENEW_AFTER:
            await self.conn.renew(self.token)
            self._locked_at = time.monotonic()

    async def commit(self) -> None:
        if self._ops:
            if self.token is not None and time.monotonic() - self._locked_at > _RENEW_AFTER:
                await self.conn.renew(self.token)
            await self.conn.apply(self.token, self._ops, release=self.token is not None)
            self._ops = []
        elif self.token is not None:
            await self.conn.release(self.token)
        self.token = None

    async def abandon(self) -> None:
        self._ops = []
        if self.token is not None:
            token, self.token = self.token, None
            await self.conn.release(token)

    def _op(self, *args: object) -> None:
        self._ops.append([str(a) for a in args])

    def after(self, *op: object) -> None:
        """An op for the commit that no read needs to see (acknowledging stream entries)."""
        self._op(*op)

    async def _do(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        # redis-py's types cover bytes and str replies at once; callers name what they get.
        return await self.conn.call(fn, *args, **kwargs)

    # -- strings ---------------------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        if key in self._strings:
            return self._strings[key]
        value: str | None = await self._do(self.conn.text.get, key)
        return value

    def set(self, key: str, value: str) -> None:
        self._strings[key] = value
        self._op("set", key, value)

    def delete(self, key: str) -> None:
        self._strings[key] = None
        self._op("del", key)

    async def incr(self, key: str) -> int:
        """A fresh number, at once and never rolled back (ids may have gaps, never repeats)."""
        return int(await self._do(self.conn.text.incr, key))

    # -- hashes ----------------------------------------------------------------------------
    async def hget(self, key: str, field: str) -> str | None:
        [value] = await self.hmget(key, [field])
        return value

    async def hmget(self, key: str, fields: Iterable[str]) -> list[str | None]:
        wanted = list(fields)
        known: dict[str, Any] = {}
        for field in wanted:
            local = self._hashes.get((key, field), _ABSENT)
            if local is _ABSENT:
                local = self._read_fields.get((key, field), _ABSENT)
            if local is not _ABSENT:
                known[field] = local
        missing = [f for f in dict.fromkeys(wanted) if f not in known]
        if missing:
            if len(missing) == 1:
                values = [await self._do(self.conn.text.hget, key, missing[0])]
            else:
                values = await self._do(self.conn.text.hmget, key, missing)
            for field, value in zip(missing, values, strict=True):
                known[field] = value
                if self.token is not None:
                    self._read_fields[(key, field)] = value
        return [known[f] for f in wanted]

    async def hgetall(self, key: str) -> dict[str, str]:
        found: dict[str, str] = await self._do(self.conn.text.hgetall, key)
        for (k, field), value in self._hashes.items():
            if k == key:
                if value is None:
                    found.pop(field, None)
                else:
                    found[field] = value
        return found

    def hset(self, key: str, field: str, value: str) -> None:
        self._hashes[(key, field)] = value
        self._op("hset", key, field, value)

    def hdel(self, key: str, field: str) -> None:
        self._hashes[(key, field)] = None
        self._op("hdel", key, field)

    # -- rows: one JSON document per id in a hash per table --------------------------------
    async def row(self, table: str, row_id: int | str) -> dict[str, Any] | None:
        raw = await self.hget(self.key(table), str(row_id))
        return json.loads(raw) if raw is not None else None

    async def rows(self, table: str, ids: Iterable[int | str]) -> list[dict[str, Any]]:
        raw = await self.hmget(self.key(table), [str(i) for i in ids])
        return [json.loads(r) for r in raw if r is not None]

    async def all_rows(self, table: str) -> list[dict[str, Any]]:
        found = await self.hgetall(self.key(table))
        return [json.loads(v) for _, v in sorted(found.items(), key=lambda kv: int(kv[0]))]

    def put(self, table: str, row_id: int | str, row: dict[str, Any]) -> None:
        self.hset(self.key(table), str(row_id), json.dumps(row, ensure_ascii=False))

    def drop(self, table: str, row_id: int | str) -> None:
        self.hdel(self.key(table), str(row_id))

    # -- sorted sets -----------------------------------------------------------------------
    async def zrange(
        self, key: str, low: float = float("-inf"), high: float = float("inf")
    ) -> list[tuple[str, float]]:
        """Members with low <= score <= high, by score then member."""
        lo = "-inf" if low == float("-inf") else repr(low)
        hi = "+inf" if high == float("inf") else repr(high)
        pairs: Any = await self._do(self.conn.text.zrangebyscore, key, lo, hi, withscores=True)
        found: dict[str, float] = dict(pairs)
        for member, value in self._zsets.get(key, {}).items():
            found.pop(member, None)
            if value is not None and low <= value <= high:
                found[member] = value
        return sorted(found.items(), key=lambda kv: (kv[1], kv[0]))

    async def zscore(self, key: str, member: str) -> float | None:
        local = self._zsets.get(key, {})
        if member in local:
            return local[member]
        value: float | None = await self._do(self.conn.text.zscore, key, member)
        return value

    def zadd(self, key: str, member: str, value: float) -> None:
        self._zsets.setdefault(key, {})[member] = value
        self._op("zadd", key, repr(value), member)

    def zrem(self, key: str, member: str) -> None:
        self._zsets.setdefault(key, {})[member] = None
        self._op("zrem", key, member)

    # -- sets ------------------------------------------------------------------------------
    async def smembers(self, key: str) -> builtins.set[str]:
        cached = self._read_sets.get(key)
        if cached is None:
            members: Any = await self._do(self.conn.text.smembers, key)
            cached = builtins.set(members)
            if self.token is not None:
                self._read_sets[key] = cached
        found: builtins.set[str] = builtins.set(cached)
        for member, present in self._sets.get(key, {}).items():
            if present:
                found.add(member)
            else:
                found.discard(member)
        return found

    def sadd(self, key: str, member: str) -> None:
        self._sets.setdefault(key, {})[member] = True
        self._op("sadd", key, member)

    def srem(self, key: str, member: str) -> None:
        self._sets.setdefault(key, {})[member] = False
        self._op("srem", key, member)


class AutoRunner:
    """Each operation on its own: reads lock-free, writes under the lock, committed at once."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        self._conn.check_not_inside()
        unit = Unit(self._conn)
        result = await fn(unit, *args)
        if unit._ops:
            raise RuntimeError(f"{fn.__name__} wrote in a read")
        return result

    async def write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        self._conn.check_not_inside()
        async with self._conn.lock:
            unit = Unit(self._conn)
            try:
                await unit.lock()
                result = await fn(unit, *args)
                await unit.commit()
            except BaseException:
                await asyncio.shield(unit.abandon())
                raise
            return result


class TxRunner:
    """Operations inside an open transaction: all share its unit and its lock."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    async def read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        await self.unit.lock()
        return await fn(self.unit, *args)

    async def write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        await self.unit.lock()
        return await fn(self.unit, *args)


Runner = AutoRunner | TxRunner


@contextlib.asynccontextmanager
async def transaction(conn: Connection) -> AsyncIterator[Unit]:
    """The lock is taken at the first read or write: a transaction that only acknowledges
    intake entries (a normal message) never waits for it."""
    conn.check_not_inside()
    async with conn.lock:
        conn.tx_task = asyncio.current_task()
        unit = Unit(conn)
        try:
            try:
                yield unit
            except BaseException:
                await asyncio.shield(unit.abandon())
                raise
            try:
                await asyncio.shield(unit.commit())
            except BaseException:
                await asyncio.shield(unit.abandon())
                raise
        finally:
            conn.tx_task = None
