"""The fleet's rate gate: GCRA in one Lua script, on the Redis server's clock.

The server's clock, not each machine's: workers on several hosts agree on when a slot frees.
All rates of one action are checked and reserved together, or none is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from botkit.pacing import Rate
from botkit.storage.redis.connection import Connection

# KEYS: one per rate; ARGV: interval, period (seconds) per rate
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval, period = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local w = tat + interval - period - now
  if w > wait then wait = w end
  tats[i] = tat + interval
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local period = tonumber(ARGV[2 * i])
  redis.call('SET', key, tostring(tats[i]), 'PX', math.ceil(period * 1000) + 1000)
end
return '0'
"""


class RedisRateGate:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._script = conn.text.register_script(_RESERVE)

    async def reserve(self, rates: Sequence[Rate]) -> float:
        keys = [self._conn.key("rate", r.key) for r in rates]
        args: list[str] = []
        for rate in rates:
            args += [json.dumps(rate.interval), json.dumps(rate.seconds)]
        return float(await self._conn.call(self._script, keys, args))
