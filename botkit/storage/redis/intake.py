"""Accepted events on a Redis stream, read by a consumer group: one consumer per worker.

- `append` adds sealed payloads with `XADD`, skipping keys seen before (a platform that
  redelivers an update is recognised while its entry waits and for a while after it is done).
  `intake:keys` maps each waiting entry's id to its key, for the acknowledgement.
- `claim` reads new entries with `XREADGROUP` and takes back entries whose lease ran out (a
  worker that died holding them, a failed event whose retry time came) with `XCLAIM`, which
  counts the delivery. Leases follow the store's clock (the `now` given), like every other
  lease in botkit, so a test's virtual time and the server's idle times never disagree.
- An entry is acknowledged (`XACK`, then `XDEL`: the stream never keeps what is done) only
  in the commit of its effects, by the same Lua script. Nothing is trimmed blindly.
- After `max_deliveries` deliveries without finishing, or `max_attempts` failures, an entry
  moves to the dead-letter stream, where `botkit dead-letters` shows and requeues it.

Stream ids ("<ms>-<seq>") cross the storage port as integers, `ms << 20 | seq`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import redis.exceptions as rexc

from botkit.storage.records import ClaimedEvent, DeadLetter, IntakeItem
from botkit.storage.redis.connection import (
    BULK_LUA,
    INTAKE_DONE_LUA,
    Connection,
    Runner,
    TxRunner,
    Unit,
    dt,
    score,
    ts,
)

GROUP = "workers"
PARKED = "parked"  # the consumer that holds entries given back, until someone claims them

_FIELDS = """
local function fields(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
local function attempts_of(attempts, id)
  local a = redis.call('HGET', attempts, id)
  if a then return cjson.decode(a) end
  return {0, false}
end
local function bury(K, id, f, deliveries, err, now)
  local a = attempts_of(K.attempts, id)
  if a[2] then err = a[2] end
  redis.call('XADD', K.dead, '*', 'payload', f.payload, 'key', f.key, 'at', f.at,
    'attempts', a[1], 'deliveries', deliveries, 'error', err)
  redis.call('XACK', K.stream, ARGV[1], id)
  redis.call('XDEL', K.stream, id)
  redis.call('ZREM', K.leases, id)
  redis.call('HDEL', K.owners, id)
  redis.call('HDEL', K.attempts, id)
  redis.call('HDEL', K.keys, id)
  redis.call('HSET', K.seen, f.key, 'dead')
end
local K = {stream = KEYS[1], leases = KEYS[2], owners = KEYS[3], attempts = KEYS[4],
  dead = KEYS[5], seen = KEYS[6], done = KEYS[7], latency = KEYS[8], keys = KEYS[9]}
"""

# ARGV: group, at (iso), then key, payload pairs
_APPEND = (
    _FIELDS
    + """
local added = 0
for i = 3, #ARGV, 2 do
  local key = ARGV[i]
  if redis.call('HEXISTS', K.seen, key) == 0 then
    if not redis.call('ZSCORE', K.done, key) then
      local id = redis.call('XADD', K.stream, '*',
        'payload', ARGV[i + 1], 'key', key, 'at', ARGV[2])
      redis.call('HSET', K.seen, key, id)
      redis.call('HSET', K.keys, id, key)
      added = added + 1
    end
  end
end
return added
"""
)

# A member of `leases` that is never due (its score is +inf, so no range up to now finds it)
# and is longer than Redis's `zset-max-listpack-value` (64 by default): a sorted set holding
# it is a skiplist for as long as it exists, not a listpack, whose inserts cost a scan of the
# whole set each (a batch's 64 leases cost 64 such scans).
ANCHOR = "~ never due: keeps this sorted set a skiplist (fast inserts whatever its size) ~"

# ARGV: group, owner, limit, now (score), until (score), max deliveries, anchor
_CLAIM = (
    BULK_LUA
    + _FIELDS
    + """
local owner, limit, untils, maxd = ARGV[2], tonumber(ARGV[3]), ARGV[5], tonumber(ARGV[6])
local out = {}
local expired = redis.call('ZRANGEBYSCORE', K.leases, '-inf', ARGV[4], 'LIMIT', 0, limit * 4 + 16)
for _, id in ipairs(expired) do
  if #out >= limit then break end
  local p = redis.call('XPENDING', K.stream, ARGV[1], id, id, 1)
  local e = redis.call('XRANGE', K.stream, id, id)
  if #p == 0 or #e == 0 then
    -- finished (or deleted) meanwhile: only the lease was left over
    redis.call('ZREM', K.leases, id)
    redis.call('HDEL', K.owners, id)
    redis.call('HDEL', K.keys, id)
    if #p > 0 then redis.call('XACK', K.stream, ARGV[1], id) end
  else
    local deliveries = tonumber(p[1][4])
    local f = fields(e[1][2])
    if deliveries >= maxd then
      bury(K, id, f, deliveries,
        'delivered ' .. deliveries .. ' times without finishing (did it crash the process?)')
    else
      redis.call('XCLAIM', K.stream, ARGV[1], owner, 0, id, 'RETRYCOUNT', deliveries + 1, 'JUSTID')
      redis.call('ZADD', K.leases, untils, id)
      redis.call('HSET', K.owners, id, owner)
      table.insert(out, {id, f.payload, deliveries + 1, attempts_of(K.attempts, id)[1]})
    end
  end
end
if #out < limit then
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], owner, 'COUNT', limit - #out,
    'STREAMS', K.stream, '>')
  if r then
    -- One ZADD and one HSET for the batch. The set's anchor (see ANCHOR) keeps it a
    -- skiplist: in Redis's compact encoding every insert scans and parses all the scores
    -- before it, which made this ZADD nearly half of the script's time.
    redis.call('ZADD', K.leases, 'NX', 'inf', ARGV[7])
    local leased, owned = {}, {}
    for _, e in ipairs(r[1][2]) do
      local f = fields(e[2])
      table.insert(leased, untils)
      table.insert(leased, e[1])
      table.insert(owned, e[1])
      table.insert(owned, owner)
      table.insert(out, {e[1], f.payload, 1, 0})
    end
    bulk('ZADD', K.leases, {}, leased)
    bulk('HSET', K.owners, {}, owned)
  end
end
return out
"""
)

# ARGV: group, id, error, retry at (score), max attempts
_FAIL = (
    _FIELDS
    + """
local id = ARGV[2]
local e = redis.call('XRANGE', K.stream, id, id)
if #e == 0 then return -1 end
local a = attempts_of(K.attempts, id)
local n = a[1] + 1
redis.call('HSET', K.attempts, id, cjson.encode({n, ARGV[3]}))
if n >= tonumber(ARGV[5]) then
  local p = redis.call('XPENDING', K.stream, ARGV[1], id, id, 1)
  local deliveries = 0
  if #p > 0 then deliveries = tonumber(p[1][4]) end
  bury(K, id, fields(e[1][2]), deliveries, ARGV[3])
  return 1
end
redis.call('ZADD', K.leases, ARGV[4], id)
redis.call('HDEL', K.owners, id)
return 0
"""
)

# ARGV: group, at (score), ids...
_DONE = (
    INTAKE_DONE_LUA
    + _FIELDS
    + """
local ids = {}
for i = 3, #ARGV do table.insert(ids, ARGV[i]) end
intake_done(K, ARGV[1], ARGV[2], ids)
return #ids
"""
)

# ARGV: group, discount (1: the delivery did not count), ids...
_RELEASE = (
    _FIELDS
    + """
local n = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local p = redis.call('XPENDING', K.stream, ARGV[1], id, id, 1)
  if #p > 0 then
    local count = tonumber(p[1][4]) - tonumber(ARGV[2])
    if count < 0 then count = 0 end
    redis.call('XCLAIM', K.stream, ARGV[1], 'parked', 0, id, 'RETRYCOUNT', count, 'JUSTID')
    local at = redis.call('ZSCORE', K.leases, id)
    if redis.call('HEXISTS', K.owners, id) == 1 then at = 0 end
    redis.call('ZADD', K.leases, at or 0, id)
    redis.call('HDEL', K.owners, id)
    n = n + 1
  end
end
return n
"""
)

# ARGV: group
_REQUEUE = (
    _FIELDS
    + """
local n = 0
for _, e in ipairs(redis.call('XRANGE', K.dead, '-', '+')) do
  local f = fields(e[2])
  local id = redis.call('XADD', K.stream, '*', 'payload', f.payload, 'key', f.key, 'at', f.at)
  redis.call('HSET', K.seen, f.key, id)
  redis.call('HSET', K.keys, id, f.key)
  redis.call('XDEL', K.dead, e[1])
  n = n + 1
end
return n
"""
)

# ARGV: group, before (iso), keys before (score)
_PURGE = (
    _FIELDS
    + """
local n = 0
for _, e in ipairs(redis.call('XRANGE', K.dead, '-', '+')) do
  local f = fields(e[2])
  if f.at < ARGV[2] then
    redis.call('XDEL', K.dead, e[1])
    redis.call('HDEL', K.seen, f.key)
    n = n + 1
  end
end
return n + redis.call('ZREMRANGEBYSCORE', K.done, '-inf', '(' .. ARGV[3])
"""
)


def encode_id(stream_id: str | bytes) -> int:
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    ms, seq = text.split("-")
    return int(ms) << 20 | int(seq)


def decode_id(entry_id: int) -> str:
    return f"{entry_id >> 20}-{entry_id & 0xFFFFF}"


def _keys(conn: Connection) -> list[str]:
    k = conn.key
    return [
        k("intake", "stream"),
        k("intake", "leases"),
        k("intake", "owners"),
        k("intake", "attempts"),
        k("intake", "dead"),
        k("intake", "seen"),
        k("intake", "done"),
        k("intake", "latency"),
        k("intake", "keys"),
    ]


async def prepare(conn: Connection) -> None:
    """Create the consumer group (from the stream's start: nothing appended before is missed)."""
    try:
        await conn.call(conn.text.xgroup_create, _keys(conn)[0], GROUP, id="0", mkstream=True)
    except Exception as exc:  # only "the group exists" is expected here
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if not (isinstance(cause, rexc.ResponseError) and "BUSYGROUP" in str(cause)):
            raise


class RedisIntake:
    def __init__(self, runner: Runner, conn: Connection) -> None:
        self._r = runner
        self._conn = conn
        self._keys = _keys(conn)
        raw = conn.raw
        self._append = raw.register_script(_APPEND)
        self._claim = raw.register_script(_CLAIM)
        self._fail = conn.text.register_script(_FAIL)
        self._done = conn.text.register_script(_DONE)
        self._release = conn.text.register_script(_RELEASE)
        self._requeue = conn.text.register_script(_REQUEUE)

    async def _run(self, script: Any, *args: Any) -> Any:
        return await self._conn.call(script, self._keys, [GROUP, *args])

    async def append(self, items: Sequence[IntakeItem], at: datetime) -> int:
        if not items:
            return 0
        args: list[Any] = [ts(at)]
        for item in items:
            args += [item.key, item.payload]
        return int(await self._run(self._append, *args))

    async def claim(
        self, owner: str, limit: int, now: datetime, lease: timedelta, max_deliveries: int
    ) -> list[ClaimedEvent]:
        rows = await self._run(
            self._claim, owner, limit, score(now), score(now + lease), max_deliveries, ANCHOR
        )
        events = [ClaimedEvent(encode_id(r[0]), bytes(r[1]), int(r[2]), int(r[3])) for r in rows]
        return sorted(events, key=lambda e: e.id)

    async def done(self, ids: Sequence[int], at: datetime) -> None:
        if not ids:
            return
        if isinstance(self._r, TxRunner):
            # Part of the transaction's commit, which applies its effects and the
            # acknowledgement in one script; no need to wait for the write lock for it.
            stream, leases, owners, attempts, _, seen, done, latency, keys = self._keys
            self._r.unit.after(
                "intake_done", stream, leases, owners, attempts, seen, done, latency, keys,
                GROUP, repr(score(at)), *[decode_id(i) for i in ids],
            )  # fmt: skip
            return
        await self._run(self._done, repr(score(at)), *[decode_id(i) for i in ids])

    async def fail(self, entry_id: int, error: str, retry_at: datetime, max_attempts: int) -> bool:
        found = await self._run(
            self._fail, decode_id(entry_id), error[:500], score(retry_at), max_attempts
        )
        return int(found) == 1

    async def release(self, ids: Sequence[int]) -> None:
        if ids:
            await self._run(self._release, 1, *[decode_id(i) for i in ids])

    async def backlog(self) -> int:
        return int(await self._conn.call(self._conn.text.xlen, self._keys[0]))

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        text = self._conn.text
        entries: Any = await self._conn.call(text.xrange, self._keys[4], "-", "+", count=limit)
        return [_dead_letter(entry_id, fields) for entry_id, fields in entries]

    async def requeue_dead(self) -> int:
        return int(await self._run(self._requeue))


def _dead_letter(entry_id: str, fields: dict[str, str]) -> DeadLetter:
    return DeadLetter(
        encode_id(entry_id),
        dt(fields["at"]),
        int(fields["attempts"]),
        int(fields["deliveries"]),
        fields.get("error") or None,
    )


# -- used by the store ---------------------------------------------------------------------------
async def lease_owners(u: Unit) -> set[str]:
    owners: Any = await u.conn.call(u.conn.text.hvals, u.key("intake", "owners"))
    return {str(o) for o in owners}


async def release_leases(u: Unit, owners: list[str]) -> int:
    conn = u.conn
    held = await conn.call(conn.text.hgetall, u.key("intake", "owners"))
    ids = [entry_id for entry_id, owner in held.items() if owner in owners]
    script = conn.text.register_script(_RELEASE)
    released = int(await conn.call(script, _keys(conn), [GROUP, 0, *ids])) if ids else 0
    stream = u.key("intake", "stream")
    for owner in owners:  # their entries are parked now; the consumers can go
        await conn.call(conn.text.xgroup_delconsumer, stream, GROUP, owner)
    return released


async def purge(u: Unit, before: datetime, keys_before: datetime) -> int:
    script = u.conn.text.register_script(_PURGE)
    args = [GROUP, ts(before), repr(score(keys_before))]
    return int(await u.conn.call(script, _keys(u.conn), args))


async def status(u: Unit, now: datetime) -> tuple[int, int, datetime | None, int]:
    """(waiting or in flight, in flight, the oldest entry's arrival, dead letters)."""
    conn, keys = u.conn, _keys(u.conn)
    stream, owners, dead = keys[0], keys[2], keys[4]
    pending = int(await conn.call(conn.text.xlen, stream))
    in_flight = int(await conn.call(conn.text.hlen, owners))
    first: Any = await conn.call(conn.text.xrange, stream, "-", "+", count=1)
    oldest = dt(first[0][1]["at"]) if first else None
    return pending, in_flight, oldest, int(await conn.call(conn.text.xlen, dead))


async def stream_latency(u: Unit) -> list[int]:
    """Milliseconds the last (up to 10,000) entries spent in the stream, newest first."""
    found: Any = await u.conn.call(u.conn.text.lrange, u.key("intake", "latency"), 0, -1)
    return [int(x) for x in found]


async def consumers(u: Unit) -> dict[str, int]:
    """Entries each worker holds now (those given back wait with the `parked` consumer)."""
    conn = u.conn
    found = await conn.call(conn.text.xinfo_consumers, u.key("intake", "stream"), GROUP)
    return {str(c["name"]): int(c["pending"]) for c in found if int(c["pending"])}
