"""Send rates a platform allows, kept for a whole fleet when the store is shared.

An adapter declares the limits one action falls under (Telegram: 30 messages/s per bot,
1/s per chat, 20/min per group); the dispatcher waits until every one of them has room,
reserving a slot in all at once. The gate is the store's: in one process a local one, on
Redis one shared by every process, so ten workers together still send 30/s, not 300/s.

The algorithm is GCRA (a leaky bucket kept as one "theoretical arrival time" per limit):
one number per key, no per-send bookkeeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `count` actions per `seconds` for everything sharing `key`."""

    key: str
    count: int
    seconds: float

    @property
    def interval(self) -> float:
        return self.seconds / self.count


class RateGate(Protocol):
    async def reserve(self, rates: Sequence[Rate]) -> float:
        """Reserve one slot in every rate and return 0, or reserve nothing and return how
        many seconds to wait before asking again."""
        ...


class LocalRateGate:
    """For one process (the embedded SQLite default)."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}

    async def reserve(self, rates: Sequence[Rate]) -> float:
        now = time.monotonic()
        waits = [gcra_wait(self._tat.get(r.key, now), now, r) for r in rates]
        if max(waits, default=0.0) > 0:
            return max(waits)
        for rate in rates:
            self._tat[rate.key] = max(self._tat.get(rate.key, now), now) + rate.interval
        if len(self._tat) > 10_000:  # forget keys whose bucket has drained
            self._tat = {k: v for k, v in self._tat.items() if v > now}
        return 0.0


def gcra_wait(tat: float, now: float, rate: Rate) -> float:
    """Seconds until one more action fits under `rate` (0: it fits now)."""
    allowed_at = max(tat, now) + rate.interval - rate.seconds
    return max(allowed_at - now, 0.0)


class RateLimited(Exception):
    """No room within the wait allowed; `retry_after` says when to ask again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


async def paced(gate: RateGate, rates: Sequence[Rate], max_wait: float) -> None:
    """Wait until the action may go (a slot reserved in every rate), at most `max_wait`
    seconds: a sender holds a lease on the work meanwhile, and it must not run out."""
    waited = 0.0
    while rates:
        wait = await gate.reserve(rates)
        if wait <= 0:
            return
        if waited + wait > max_wait:
            names = ", ".join(r.key for r in rates)
            raise RateLimited(f"rate limit: no room under {names} yet", waited + wait)
        await asyncio.sleep(wait)
        waited += wait
