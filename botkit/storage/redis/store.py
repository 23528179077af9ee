"""The shared store for a fleet: every role on one Redis server (see `connection`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from botkit.storage.hooks import AfterCommit
from botkit.storage.records import StoreStatus
from botkit.storage.redis import (
    audit,
    bulletins,
    cases,
    drafts,
    incidents,
    intake,
    outbox,
    stats,
    timers,
)
from botkit.storage.redis.audit import RedisAudit
from botkit.storage.redis.bulletins import RedisBulletins
from botkit.storage.redis.cases import RedisCases
from botkit.storage.redis.connection import (
    AutoRunner,
    Connection,
    Runner,
    TxRunner,
    Unit,
    run_transaction,
)
from botkit.storage.redis.connection import transaction as unit_transaction
from botkit.storage.redis.drafts import RedisDrafts
from botkit.storage.redis.groups import RedisGroups
from botkit.storage.redis.incidents import RedisIncidents
from botkit.storage.redis.intake import RedisIntake
from botkit.storage.redis.meta import RedisMeta
from botkit.storage.redis.outbox import RedisOutbox
from botkit.storage.redis.pacing import RedisRateGate
from botkit.storage.redis.reviews import RedisReviews
from botkit.storage.redis.stats import RedisStats
from botkit.storage.redis.timers import RedisTimers

T = TypeVar("T")


class _Roles:
    def __init__(self, runner: Runner, conn: Connection) -> None:
        self.incidents = RedisIncidents(runner)
        self.outbox = RedisOutbox(runner)
        self.timers = RedisTimers(runner)
        self.audit = RedisAudit(runner)
        self.intake = RedisIntake(runner, conn)
        self.groups = RedisGroups(runner)
        self.meta = RedisMeta(runner)
        self.cases = RedisCases(runner)
        self.drafts = RedisDrafts(runner)
        self.stats = RedisStats(runner)
        self.bulletins = RedisBulletins(runner)
        self.reviews = RedisReviews(runner)


class RedisTransaction(_Roles, AfterCommit):
    def __init__(self, unit: Unit) -> None:
        _Roles.__init__(self, TxRunner(unit), unit.conn)
        AfterCommit.__init__(self)


class RedisStore(_Roles):
    backend = "redis"

    def __init__(self, url: str, prefix: str = "botkit", owner: str | None = None) -> None:
        self._conn = Connection(url, prefix, owner)
        self.location = self._conn.location
        self.rate_gate = RedisRateGate(self._conn)
        super().__init__(AutoRunner(self._conn), self._conn)

    @property
    def connection(self) -> Connection:
        return self._conn

    async def open(self) -> None:
        await self._conn.open()
        await intake.prepare(self._conn)
        await self.outbox.prepare()

    async def close(self) -> None:
        await self._conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[RedisTransaction]:
        async with unit_transaction(self._conn) as unit:
            tx = RedisTransaction(unit)
            yield tx
        tx.committed()

    async def run_transaction(self, effect: Callable[[RedisTransaction], Awaitable[T]]) -> T:
        """`effect` in one optimistic transaction, run again on fresh data when another
        process changed what it read before it could commit (see `connection`)."""
        last: list[RedisTransaction] = []

        async def body(unit: Unit) -> T:
            last[:] = [RedisTransaction(unit)]
            return await effect(last[0])

        result = await run_transaction(self._conn, body)
        last[0].committed()
        return result

    async def purge(
        self, before: datetime, audit_before: datetime, keys_before: datetime
    ) -> dict[str, int]:
        return await AutoRunner(self._conn).write_locked(_purge, before, audit_before, keys_before)

    async def status(self, now: datetime) -> StoreStatus:
        return await AutoRunner(self._conn).read(_status, now)

    async def lease_owners(self) -> list[str]:
        return await AutoRunner(self._conn).read(_lease_owners)

    async def release_leases(self, owners: Sequence[str]) -> int:
        return await AutoRunner(self._conn).write_locked(_release_leases, list(owners))


async def _lease_owners(u: Unit) -> list[str]:
    return sorted(await intake.lease_owners(u) | await outbox.lease_owners(u))


async def _release_leases(u: Unit, owners: list[str]) -> int:
    return await intake.release_leases(u, owners) + await outbox.release_leases(u, owners)


async def _purge(
    u: Unit, before: datetime, audit_before: datetime, keys_before: datetime
) -> dict[str, int]:
    counts, stale = await incidents.purge(u, before)
    counts["timers"] = await timers.purge(u, stale)
    counts |= await outbox.purge(u, stale, before, keys_before)
    counts["intake"] = await intake.purge(u, before, keys_before)
    counts["audit_log"] = await audit.purge(u, audit_before)
    counts["cases"] = await cases.purge(u, before)
    counts["drafts"] = await drafts.purge(u, keys_before)
    counts["stats"] = await stats.purge(u, audit_before.date().isoformat())
    counts["bulletins"] = await bulletins.purge(u, audit_before)
    return counts


async def _status(u: Unit, now: datetime) -> StoreStatus:
    pending, in_flight, oldest, dead = await intake.status(u, now)
    by_status, edits_due = await outbox.status(u, now)
    timers_pending, timers_due = await timers.status(u, now)
    return StoreStatus(
        backend="redis",
        location=u.conn.location,
        intake_pending=pending,
        intake_in_flight=in_flight,
        intake_oldest=oldest,
        dead_letters=dead,
        outbox=by_status,
        edits_due=edits_due,
        timers_pending=timers_pending,
        timers_due=timers_due,
        incidents_open=await incidents.open_count(u),
        consumers=await intake.consumers(u),
        intake_latency_ms=_p50_p99(await intake.stream_latency(u)),
    )


def _p50_p99(values: list[int]) -> tuple[int, int] | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)]
