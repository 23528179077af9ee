"""One Redis server shared by every botkit process: units of work, optimistic and locked.

Redis runs one command at a time but knows nothing of botkit's multi-step effects (record a
flag, open or join its incident, queue its pages, schedule the next step, acknowledge the
intake entry). Those must commit together, and what a unit decided from must still hold when
it commits. So:

- Writes are buffered in a `Unit` (reads see them: read-your-writes) and applied by one Lua
  script. A crash before the script runs applies nothing; there is no undo to do, ever.
- **Optimistic** units (the usual case) take no lock: every value they read from Redis is
  remembered, and the script first checks each is unchanged and that nobody holds the
  write lock. If not, nothing is applied and the unit's work is run again on fresh data
  (`Conflict`). Two workers conflict only when they touch the same rows (the same incident,
  the same message), so a fleet's workers run side by side instead of taking turns.
- **Locked** units hold one fleet-wide lock: a key set with `SET NX PX` to a random token,
  renewed while held and expiring by itself when its holder dies (`kill -9`). An optimistic
  commit is refused while anyone holds it, so a locked unit's reads stay true until it
  commits. A holder that stalled past its lease is fenced off: its commit is refused. Used
  by maintenance that runs scripts of its own (purge) and by a unit that lost the
  optimistic race too often (so it cannot starve).
- Reads outside a unit of work see committed data only.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
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
# Optimistic tries before a unit takes the lock instead (each retry waits a little longer).
OPTIMISTIC_TRIES = 6
# Renew well before the lease runs out: a long transaction keeps its lock, a dead one loses it.
_RENEW_AFTER = 1.0

# Acknowledging intake entries: gone from the stream, their keys kept a while (a redelivery
# of the same update is recognised), their leases and attempts forgotten. Shared with
# `intake`. A batch's entries share each command (variadic, in chunks that stay inside Lua's
# stack): Redis's cost per entry is then a share of ten commands, not eleven commands of its
# own, each also written to the append-only file. An entry's key is found in `intake:keys`
# (id -> key, set at append): reading the entry itself (XRANGE) converted its whole payload
# into Lua for one field, most of the acknowledgement's time.
# `command key head... list...` in chunks that stay inside Lua's stack (an even size: the
# pairs of ZADD and HSET stay together). Shared with `intake`.
BULK_LUA = """
local function bulk(command, key, head, list)
  for first = 1, #list, 400 do
    local args = {command, key}
    for _, h in ipairs(head) do table.insert(args, h) end
    for i = first, math.min(first + 399, #list) do table.insert(args, list[i]) end
    redis.call(unpack(args))
  end
end
"""

INTAKE_DONE_LUA = (
    BULK_LUA
    + """
local function intake_done(K, group, at, ids)
  if #ids == 0 then return end
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local keys, scored, waited = {}, {}, {}
  local known = {}
  for first = 1, #ids, 400 do
    local found = redis.call('HMGET', K.keys, unpack(ids, first, math.min(first + 399, #ids)))
    for i, key in ipairs(found) do known[first + i - 1] = key end
  end
  for n, id in ipairs(ids) do
    local key = known[n]
    if not key then
      -- Not in `keys`: acknowledged already, or appended before `keys` existed (then its
      -- entry, still in the stream, has it).
      local e = redis.call('XRANGE', K.stream, id, id)
      if #e > 0 then
        local f = e[1][2]
        for i = 1, #f, 2 do
          if f[i] == 'key' then key = f[i + 1] end
        end
      end
    end
    if key then
      -- Not acknowledged yet (acknowledging forgets the id).
      table.insert(keys, key)
      table.insert(scored, at)
      table.insert(scored, key)
      -- Time in the stream, on the server's clock (the id is the append time): the last
      -- 10,000 are kept for `botkit status` and the benchmark.
      local id_ms = tonumber(string.match(id, '^(%d+)'))
      if id_ms then table.insert(waited, now_ms - id_ms) end
    end
  end
  bulk('HDEL', K.keys, {}, ids)
  bulk('HDEL', K.seen, {}, keys)
  bulk('ZADD', K.done, {}, scored)
  bulk('XACK', K.stream, {group}, ids)
  bulk('XDEL', K.stream, {}, ids)
  bulk('ZREM', K.leases, {}, ids)
  bulk('HDEL', K.owners, {}, ids)
  bulk('HDEL', K.attempts, {}, ids)
  if #waited > 0 then
    bulk('LPUSH', K.latency, {}, waited)
    redis.call('LTRIM', K.latency, 0, 9999)
  end
end
"""
)

# What an optimistic unit read, checked again at its commit. The checks and the writes reach
# the script as plain arguments (`flat_checks`, `flat_ops`): Redis hands each to Lua as it is,
# where one JSON document had to be decoded first, character by character (a flag's commit
# carries an incident's row, about 1 KB of escaped JSON, as a write and as a check: decoding
# them was a third of the script's time). A check is the command's name, its key, its
# arguments and the reply the unit saw; a list (members, pairs) is its length, then its items;
# a single reply is "1" and the value, or "0" and "" (absent).
CHECKS_LUA = """
local function seen(i)
  if ARGV[i] == '1' then return ARGV[i + 1] end
  return false
end

-- Whether the check at ARGV[i] still holds, and where the next one starts (nil: it does not).
local function unchanged(i)
  local verb, key = ARGV[i], ARGV[i + 1]
  if verb == 'get' then
    if redis.call('GET', key) == seen(i + 2) then return i + 4 end
  elseif verb == 'hget' then
    if redis.call('HGET', key, ARGV[i + 2]) == seen(i + 3) then return i + 5 end
  elseif verb == 'zscore' then
    local found, expected = redis.call('ZSCORE', key, ARGV[i + 2]), seen(i + 3)
    if found == false or expected == false then
      if found == expected then return i + 5 end
    elseif tonumber(found) == tonumber(expected) then return i + 5 end
  elseif verb == 'smembers' then
    local n = tonumber(ARGV[i + 2])
    if redis.call('SCARD', key) ~= n then return nil end
    for j = i + 3, i + 2 + n do
      if redis.call('SISMEMBER', key, ARGV[j]) == 0 then return nil end
    end
    return i + 3 + n
  elseif verb == 'zrange' then
    local n = tonumber(ARGV[i + 4])
    local found = redis.call('ZRANGEBYSCORE', key, ARGV[i + 2], ARGV[i + 3], 'WITHSCORES')
    if #found ~= n then return nil end
    for j = 1, n, 2 do
      if found[j] ~= ARGV[i + 4 + j] or tonumber(found[j + 1]) ~= tonumber(ARGV[i + 5 + j]) then
        return nil
      end
    end
    return i + 5 + n
  elseif verb == 'hgetall' then
    local n = tonumber(ARGV[i + 2])
    if redis.call('HLEN', key) * 2 ~= n then return nil end
    for j = i + 3, i + 2 + n, 2 do
      if redis.call('HGET', key, ARGV[j]) ~= ARGV[j + 1] then return nil end
    end
    return i + 3 + n
  else
    error('botkit: unknown check ' .. tostring(verb))
  end
  return nil
end

-- The checks in ARGV[first .. last], all still true.
local function all_unchanged(first, last)
  local i = first
  while i <= last do
    i = unchanged(i)
    if i == nil then return false end
  end
  return true
end
"""

# ARGV: token (empty: optimistic), release ("1": delete the lock), the number of arguments
# the checks take, the checks, then the writes: each is its length, its verb and arguments.
_APPLY = (
    INTAKE_DONE_LUA
    + CHECKS_LUA
    + """
local last_check = 3 + tonumber(ARGV[3])
if ARGV[1] ~= '' then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
elseif redis.call('EXISTS', KEYS[1]) == 1 or not all_unchanged(4, last_check) then
  return 2
end
local i = last_check + 1
while i <= #ARGV do
  local n, verb, a = tonumber(ARGV[i]), ARGV[i + 1], i + 2  -- ARGV[a]: the first argument
  if verb == 'hset' then redis.call('HSET', ARGV[a], ARGV[a + 1], ARGV[a + 2])
  elseif verb == 'hdel' then redis.call('HDEL', ARGV[a], ARGV[a + 1])
  elseif verb == 'zadd' then redis.call('ZADD', ARGV[a], ARGV[a + 1], ARGV[a + 2])
  elseif verb == 'zrem' then redis.call('ZREM', ARGV[a], ARGV[a + 1])
  elseif verb == 'sadd' then redis.call('SADD', ARGV[a], ARGV[a + 1])
  elseif verb == 'srem' then redis.call('SREM', ARGV[a], ARGV[a + 1])
  elseif verb == 'set' then redis.call('SET', ARGV[a], ARGV[a + 1])
  elseif verb == 'del' then redis.call('DEL', ARGV[a])
  elseif verb == 'hincrby' then redis.call('HINCRBY', ARGV[a], ARGV[a + 1], ARGV[a + 2])
  elseif verb == 'rpush' then redis.call('RPUSH', ARGV[a], ARGV[a + 1])
  elseif verb == 'zmin' then
    -- index ARGV[a + 1] holds member ARGV[a + 2] at the lowest score of sorted set ARGV[a],
    -- or not at all
    local first = redis.call('ZRANGE', ARGV[a], 0, 0, 'WITHSCORES')
    if #first == 0 then redis.call('ZREM', ARGV[a + 1], ARGV[a + 2])
    else redis.call('ZADD', ARGV[a + 1], first[2], ARGV[a + 2]) end
  elseif verb == 'intake_done' then
    -- the intake's keys, the group, the time, then the entry ids
    local K = {stream = ARGV[a], leases = ARGV[a + 1], owners = ARGV[a + 2],
      attempts = ARGV[a + 3], seen = ARGV[a + 4], done = ARGV[a + 5], latency = ARGV[a + 6],
      keys = ARGV[a + 7]}
    local ids = {}
    for j = a + 10, i + n do table.insert(ids, ARGV[j]) end
    intake_done(K, ARGV[a + 8], ARGV[a + 9], ids)
  else return redis.error_reply('botkit: unknown op ' .. tostring(verb)) end
  i = i + n + 1
end
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
return 1
"""
)

# ARGV: the checks (as `_APPLY` takes them).
_STILL_TRUE = (
    CHECKS_LUA
    + """
if redis.call('EXISTS', KEYS[1]) == 1 or not all_unchanged(1, #ARGV) then
  return 0
end
return 1
"""
)


def flat_checks(checks: Sequence[Sequence[Any]]) -> list[str]:
    """An optimistic unit's checks as the scripts take them (see `CHECKS_LUA`)."""
    out: list[str] = []
    for verb, key, *rest in checks:
        out += [verb, key]
        if verb in ("smembers", "hgetall"):
            (items,) = rest
            out += [str(len(items)), *items]
        elif verb == "zrange":
            low, high, items = rest
            out += [low, high, str(len(items)), *items]
        else:
            *args, value = rest
            out += [*args, *(("0", "") if value is False else ("1", value))]
    return out


def flat_ops(ops: Sequence[Sequence[str]]) -> list[str]:
    """A unit's writes as `_APPLY` takes them: each is its length, then itself."""
    out: list[str] = []
    for op in ops:
        out += [str(len(op)), *op]
    return out


# A set's members and, for each, its field in each of the other keys (hashes): one round
# trip where reading the set first, then the fields, takes two.
_MEMBERS_WITH_FIELDS = """
local members = redis.call('SMEMBERS', KEYS[1])
local out = {members}
for i = 2, #KEYS do
  local values = {}
  -- In chunks: `unpack` of a large set would overflow Lua's stack.
  for first = 1, #members, 400 do
    local last = math.min(first + 399, #members)
    local found = redis.call('HMGET', KEYS[i], unpack(members, first, last))
    for n = 1, #found do values[first + n - 1] = found[n] end
  end
  table.insert(out, values)
end
return out
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class Conflict(Exception):
    """What an optimistic unit read changed before it committed: nothing was applied."""


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
        self._still_true = self.text.register_script(_STILL_TRUE)
        self.members_with_fields = self.text.register_script(_MEMBERS_WITH_FIELDS)
        self.conflicts = 0  # optimistic commits refused (for the benchmark and `status`)
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

    async def apply(
        self, token: str | None, ops: list[list[str]], release: bool, checks: list[list[Any]]
    ) -> None:
        flat = flat_checks(checks)
        args = [token or "", "1" if release else "0", str(len(flat)), *flat, *flat_ops(ops)]
        applied = await self.call(self._apply, [self.key("lock")], args)
        if applied == 2:
            self.conflicts += 1
            raise Conflict()
        if not applied:
            raise StoreUnavailable(
                f"{self.location}: lost the write lock before committing; nothing was written"
            )

    async def still_true(self, checks: list[list[Any]]) -> bool:
        """Whether everything an optimistic unit read is still so (and nobody holds the lock)."""
        args = flat_checks(checks)
        return bool(await self.call(self._still_true, [self.key("lock")], args))


_ABSENT = object()


def _bounds(low: float, high: float) -> tuple[str, str]:
    """A score range as Redis reads it (exact: `repr` of a float round-trips)."""
    return (
        "-inf" if low == float("-inf") else repr(low),
        "+inf" if high == float("inf") else repr(high),
    )


class Unit:
    """Reads against Redis, writes buffered until `commit`; reads see the buffered writes.

    An optimistic unit remembers what it read (`checks`) for its commit to verify; a locked
    one takes the fleet-wide lock at its first read or write instead."""

    def __init__(self, conn: Connection, optimistic: bool = False) -> None:
        self.conn = conn
        self.key = conn.key
        self.optimistic = optimistic
        self.checks: list[list[Any]] = []
        self.token: str | None = None
        self._locked_at = 0.0
        self._ops: list[list[str] | None] = []
        # Where the last write of each hash field sits in `_ops`: a row rewritten several
        # times in one unit (an incident as its flag is recorded, joined and paged) is sent
        # and applied once, its last version (a later HSET or HDEL overwrites any earlier
        # one, and nothing in the script reads a hash between them).
        self._field_ops: dict[tuple[str, str], int] = {}
        self._hashes: dict[tuple[str, str], str | None] = {}
        self._zsets: dict[str, dict[str, float | None]] = {}
        self._sets: dict[str, dict[str, bool]] = {}
        self._strings: dict[str, str | None] = {}
        # What this unit read while holding the lock (nobody else can change it meanwhile) or
        # optimistically (its commit checks it is unchanged): a second read of the same field
        # costs no round trip and sees the same value.
        self._read_fields: dict[tuple[str, str], str | None] = {}
        self._read_sets: dict[str, builtins.set[str]] = {}
        self._read_strings: dict[str, str | None] = {}
        self._read_ranges: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
        # Numbers drawn ahead by `prefetch`, handed out by `incr`; hashes and fields named
        # after a number this unit drew (`fresh`), which nobody else can have written.
        self._drawn: dict[str, list[int]] = {}
        self._handed: dict[str, builtins.set[int]] = {}
        self._fresh_keys: builtins.set[str] = builtins.set()
        self._fresh_fields: builtins.set[tuple[str, str]] = builtins.set()

    # -- locking ---------------------------------------------------------------------------
    @property
    def _remembers(self) -> bool:
        return self.optimistic or self.token is not None

    def _check(self, *check: Any) -> None:
        if self.optimistic:
            self.checks.append([False if c is None else c for c in check])

    async def lock(self) -> None:
        if self.optimistic:
            return
        if self.token is None:
            self.token = await self.conn.acquire()
            self._locked_at = time.monotonic()
        elif time.monotonic() - self._locked_at > _RENEW_AFTER:
            await self.conn.renew(self.token)
            self._locked_at = time.monotonic()

    async def commit(self) -> None:
        if self._ops and not self.optimistic and self.token is None:
            await self.lock()  # a locked unit's commit is locked even if it read nothing
        if self._ops:
            if self.token is not None and time.monotonic() - self._locked_at > _RENEW_AFTER:
                await self.conn.renew(self.token)
            ops = [op for op in self._ops if op is not None]
            await self.conn.apply(
                self.token, ops, release=self.token is not None, checks=self.checks
            )
            self._ops = []
            self._field_ops = {}
        elif self.token is not None:
            await self.conn.release(self.token)
        self.token = None

    async def abandon(self) -> None:
        self._ops = []
        self._field_ops = {}
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
        if key in self._read_strings:
            return self._read_strings[key]
        value: str | None = await self._do(self.conn.text.get, key)
        if self._remembers:
            self._read_strings[key] = value
            self._check("get", key, value)
        return value

    def set(self, key: str, value: str) -> None:
        self._strings[key] = value
        self._op("set", key, value)

    def delete(self, key: str) -> None:
        self._strings[key] = None
        self._op("del", key)

    async def incr(self, key: str) -> int:
        """A fresh number, at once and never rolled back (ids may have gaps, never repeats)."""
        drawn = self._drawn.get(key)
        number = drawn.pop(0) if drawn else int(await self._do(self.conn.text.incr, key))
        self._handed.setdefault(key, builtins.set()).add(number)
        return number

    def drew(self, key: str, number: int) -> bool:
        """Whether `incr` handed this number out in this unit (its row is this unit's)."""
        return number in self._handed.get(key, ())

    # -- reading ahead ---------------------------------------------------------------------
    async def prefetch(
        self,
        fields: Iterable[tuple[str, str]] = (),
        numbers: Iterable[str] = (),
        sets: Iterable[str] = (),
        ranges: Iterable[tuple[str, float, float]] = (),
    ) -> None:
        """Hash fields the unit will read next, numbers it will draw, whole sets and ranges
        of sorted sets, in one round trip instead of one each: each round trip is a wait in
        which the worker's core may go to another process, and on a busy machine it comes
        back late.

        They are then read as `hmget`, `smembers` and `zrange` read them (and checked at an
        optimistic commit); a unit that keeps no reads (one read outside a transaction)
        keeps these for its one operation. A number drawn and never used leaves a gap, which
        ids may have."""
        wanted = [(k, f) for k, f in dict.fromkeys(fields) if self._unknown(k, f)]
        keys = [key for key in numbers if not self._drawn.get(key)]
        members = [key for key in dict.fromkeys(sets) if key not in self._read_sets]
        spans = [(key, *_bounds(low, high)) for key, low, high in ranges]
        spans = [s for s in dict.fromkeys(spans) if s not in self._read_ranges]
        if not wanted and not keys and not members and not spans:
            return
        pipe = self.conn.text.pipeline(transaction=False)
        for key, field in wanted:
            pipe.hget(key, field)
        for key in keys:
            pipe.incr(key)
        for key in members:
            pipe.smembers(key)
        for key, lo, hi in spans:
            pipe.zrangebyscore(key, lo, hi, withscores=True)
        replies = iter(await self._do(pipe.execute))
        for key, field in wanted:
            value = next(replies)
            self._read_fields[(key, field)] = value
            self._check("hget", key, field, value)
        for key in keys:
            self._drawn.setdefault(key, []).append(int(next(replies)))
        for key in members:
            found = builtins.set(next(replies))
            self._read_sets[key] = found
            self._check("smembers", key, sorted(found))
        for key, lo, hi in spans:
            pairs = [(m, float(v)) for m, v in next(replies)]
            self._read_ranges[(key, lo, hi)] = pairs
            self._check("zrange", key, lo, hi, [x for m, v in pairs for x in (m, repr(v))])

    async def members_with_fields(self, key: str, hashes: Sequence[str]) -> builtins.set[str]:
        """`smembers(key)`, with each member's field in each of `hashes` read in the same
        round trip (then read as `hmget` reads them, and checked like them): the rows a set
        of ids names, found in one round trip instead of two."""
        if key in self._read_sets:
            return await self.smembers(key)
        script = self.conn.members_with_fields
        replies: list[Any] = await self._do(script, [key, *hashes], [])
        members = [str(m) for m in replies[0]]
        found = builtins.set(members)
        self._read_sets[key] = found
        self._check("smembers", key, sorted(found))
        for hash_key, values in zip(hashes, replies[1:], strict=True):
            for member, value in zip(members, values, strict=True):
                # A field read before keeps that first reading (and its check).
                if self._unknown(hash_key, member):
                    self._read_fields[(hash_key, member)] = value
                    self._check("hget", hash_key, member, value)
        return await self.smembers(key)

    def fresh(self, key: str, field: str | None = None) -> None:
        """A hash (or one field of it) named after a number this unit drew: it cannot exist
        before the unit commits, so reading it costs no round trip and needs no check."""
        if field is None:
            self._fresh_keys.add(key)
        else:
            self._fresh_fields.add((key, field))

    def _unknown(self, key: str, field: str) -> bool:
        return (
            (key, field) not in self._hashes
            and (key, field) not in self._read_fields
            and key not in self._fresh_keys
            and (key, field) not in self._fresh_fields
        )

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
            elif key in self._fresh_keys or (key, field) in self._fresh_fields:
                known[field] = None
        missing = [f for f in dict.fromkeys(wanted) if f not in known]
        if missing:
            if len(missing) == 1:
                values = [await self._do(self.conn.text.hget, key, missing[0])]
            else:
                values = await self._do(self.conn.text.hmget, key, missing)
            for field, value in zip(missing, values, strict=True):
                known[field] = value
                if self._remembers:
                    self._read_fields[(key, field)] = value
                    self._check("hget", key, field, value)
        return [known[f] for f in wanted]

    async def hgetall(self, key: str) -> dict[str, str]:
        found: dict[str, str] = {}
        if key not in self._fresh_keys:
            found = await self._do(self.conn.text.hgetall, key)
            self._check("hgetall", key, [x for pair in sorted(found.items()) for x in pair])
        for (k, field), value in self._hashes.items():
            if k == key:
                if value is None:
                    found.pop(field, None)
                else:
                    found[field] = value
        return found

    def hset(self, key: str, field: str, value: str) -> None:
        self._hashes[(key, field)] = value
        self._field_op("hset", key, field, value)

    def hdel(self, key: str, field: str) -> None:
        self._hashes[(key, field)] = None
        self._field_op("hdel", key, field)

    def _field_op(self, verb: str, key: str, field: str, *value: str) -> None:
        earlier = self._field_ops.get((key, field))
        if earlier is not None:
            self._ops[earlier] = None
        self._field_ops[(key, field)] = len(self._ops)
        self._op(verb, key, field, *value)

    def hincrby(self, key: str, field: str, amount: int) -> None:
        """A blind increment at commit: counters that nothing in the unit reads back, so
        concurrent writers never conflict over them (increments commute)."""
        self._op("hincrby", key, field, amount)

    def rpush(self, key: str, value: str) -> None:
        """A blind append at commit (samples nothing in the unit reads back)."""
        self._op("rpush", key, value)

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
        lo, hi = _bounds(low, high)
        pairs: Any = self._read_ranges.get((key, lo, hi))
        if pairs is None:
            pairs = await self._do(self.conn.text.zrangebyscore, key, lo, hi, withscores=True)
            self._check("zrange", key, lo, hi, [x for m, v in pairs for x in (m, repr(v))])
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
        self._check("zscore", key, member, None if value is None else repr(value))
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
            if self._remembers:
                self._read_sets[key] = cached
                self._check("smembers", key, sorted(cached))
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


async def _retry_pause(attempt: int) -> None:
    """Spread out workers that just conflicted, so they do not collide again at once."""
    await asyncio.sleep(0.001 * (2**attempt) * (0.5 + random.random()))


async def attempt(
    conn: Connection, body: Callable[[Unit], Awaitable[T]], after: Callable[[], None] = lambda: None
) -> T:
    """Run `body` in a unit of work until it commits: optimistically first, then (after
    `OPTIMISTIC_TRIES` conflicts) under the lock, so a unit that keeps losing still finishes.

    `body` may run more than once, so it changes nothing outside its unit (effects on the
    world wait for `after`, called once it has committed). An error raised by a body that
    read changing data is a conflict too: it may have seen half of another commit."""
    for tries in range(OPTIMISTIC_TRIES + 1):
        unit = Unit(conn, optimistic=tries < OPTIMISTIC_TRIES)
        try:
            await unit.lock()  # only a locked unit takes it (its reads then hold)
            result = await body(unit)
            await unit.commit()
        except Conflict:
            await _retry_pause(tries)
            continue
        except BaseException as exc:
            await asyncio.shield(unit.abandon())
            if (
                unit.optimistic
                and isinstance(exc, Exception)
                and not isinstance(exc, StoreError)
                and not await conn.still_true(unit.checks)
            ):
                await _retry_pause(tries)
                continue
            raise
        after()
        return result
    raise AssertionError("unreachable: the last try holds the lock")  # pragma: no cover


class AutoRunner:
    """Each operation on its own: reads see committed data, writes commit at once."""

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
            return await attempt(self._conn, lambda unit: fn(unit, *args))

    async def write_locked(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Under the fleet-wide lock, for work that runs scripts of its own beside its unit
        (it must not be run twice, nor overlap an optimistic commit)."""
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


async def run_transaction(conn: Connection, body: Callable[[Unit], Awaitable[T]]) -> T:
    """`body` in one unit of work, optimistic and retried (see `attempt`)."""
    conn.check_not_inside()
    async with conn.lock:
        conn.tx_task = asyncio.current_task()
        try:
            return await attempt(conn, body)
        finally:
            conn.tx_task = None


@contextlib.asynccontextmanager
async def transaction(conn: Connection) -> AsyncIterator[Unit]:
    """A locked unit of work, for a caller that cannot be run again (`run_transaction` is
    the optimistic way). The lock is taken at the first read or write."""
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
