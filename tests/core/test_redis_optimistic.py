"""Optimistic units of work on a real redis-server: each process reads without a lock and its
commit is refused, then run again, when what it read changed (see `storage.redis.connection`).
Each `Connection` here stands for one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest

from botkit.storage.base import Transaction
from botkit.storage.redis import RedisStore, connection
from botkit.storage.redis.connection import Conflict, Connection, Unit, attempt
from tests.core.test_storage_contract import T0, new_incident, record
from tests.redis_server import fresh_prefix, shared_url


@pytest.fixture
async def conns() -> AsyncIterator[list[Connection]]:
    prefix = fresh_prefix()
    found = [Connection(shared_url(), prefix, owner=f"host:{n}") for n in range(3)]
    for conn in found:
        await conn.open()
    yield found
    for conn in found:
        await conn.close()


async def test_concurrent_read_modify_writes_lose_no_update(conns: list[Connection]) -> None:
    key = conns[0].key("counter")

    async def increment(u: Unit) -> None:
        value = int(await u.get(key) or 0)
        await asyncio.sleep(0.002)  # the others read the same value meanwhile
        u.set(key, str(value + 1))

    await asyncio.gather(*(attempt(conns[n % 3], increment) for n in range(30)))
    assert await conns[0].text.get(key) == "30"
    assert sum(c.conflicts for c in conns) > 0  # they did overlap: the checks refused some


async def test_processes_racing_on_one_hoax_open_one_incident() -> None:
    prefix = fresh_prefix()
    stores = [RedisStore(shared_url(), prefix, owner=f"host:{n}") for n in range(3)]
    for store in stores:
        await store.open()

    async def find_or_open(n: int) -> None:
        async def effect(tx: Transaction) -> None:
            flagged, _ = await tx.incidents.record_flagged(record(f"copy-{n}"))
            found = await tx.incidents.find_open("hoax", T0 - timedelta(hours=1))
            await asyncio.sleep(0.001)
            incident = found or await tx.incidents.open(new_incident(key="hoax"))
            await tx.incidents.add_occurrence(incident.id, flagged, "t", f"g{n}", str(n), T0)

        await stores[n % 3].run_transaction(effect)

    try:
        await asyncio.gather(*(find_or_open(n) for n in range(12)))
        [incident] = await stores[0].incidents.query()
        assert incident.occurrences == 12 and incident.groups == 12
        assert sum(s.connection.conflicts for s in stores) > 0
    finally:
        for store in stores:
            await store.close()


Setup = Callable[[Connection, str], Awaitable[object]]


# Each kind of read: how to prepare the key, read it in a unit, and change it from outside.
READS: dict[str, tuple[Setup, Callable[[Unit, str], Awaitable[object]], Setup]] = {
    "get": (
        lambda c, k: c.text.set(k, "a"),
        lambda u, k: u.get(k),
        lambda c, k: c.text.set(k, "b"),
    ),
    "get absent": (
        lambda c, k: c.text.delete(k),
        lambda u, k: u.get(k),
        lambda c, k: c.text.set(k, "b"),
    ),
    "hget": (
        lambda c, k: c.text.hset(k, "f", "a"),
        lambda u, k: u.hget(k, "f"),
        lambda c, k: c.text.hset(k, "f", "b"),
    ),
    "hmget": (
        lambda c, k: c.text.hset(k, mapping={"f": "a", "g": "a"}),
        lambda u, k: u.hmget(k, ["f", "g"]),
        lambda c, k: c.text.hdel(k, "g"),
    ),
    "hgetall": (
        lambda c, k: c.text.hset(k, "f", "a"),
        lambda u, k: u.hgetall(k),
        lambda c, k: c.text.hset(k, "g", "a"),
    ),
    "zrange": (
        lambda c, k: c.text.zadd(k, {"m": 1.5, "n": 3.25}),
        lambda u, k: u.zrange(k, high=2.0),
        lambda c, k: c.text.zadd(k, {"n": 1.75}),  # moves into the range read
    ),
    "zscore": (
        lambda c, k: c.text.zadd(k, {"m": 1732968000.123456}),
        lambda u, k: u.zscore(k, "m"),
        lambda c, k: c.text.zadd(k, {"m": 1732968000.123457}),
    ),
    "smembers": (
        lambda c, k: c.text.sadd(k, "1", "2"),
        lambda u, k: u.smembers(k),
        lambda c, k: c.text.srem(k, "2"),
    ),
}


@pytest.mark.parametrize("kind", sorted(READS))
@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "changed"])
async def test_a_commit_checks_every_kind_of_read(
    conns: list[Connection], kind: str, changed: bool
) -> None:
    prepare, read, change = READS[kind]
    key, out = conns[0].key("read", kind), conns[0].key("out", kind)
    await prepare(conns[1], key)
    unit = Unit(conns[0], optimistic=True)
    await read(unit, key)
    if changed:
        await change(conns[1], key)
    unit.set(out, "written")
    if changed:
        with pytest.raises(Conflict):
            await unit.commit()
        assert await conns[0].text.get(out) is None  # nothing of it applied
    else:
        await unit.commit()
        assert await conns[0].text.get(out) == "written"


async def test_an_optimistic_commit_waits_for_a_lock_holder(conns: list[Connection]) -> None:
    """A locked unit's reads stay true until it commits: the optimistic writer of the same
    key is refused meanwhile and runs again after, on the holder's result."""
    key = conns[0].key("doc")
    await conns[0].text.set(key, "start")
    holding = asyncio.Event()

    async def holder() -> None:
        async with connection.transaction(conns[0]) as unit:
            await unit.lock()  # as every read in a transaction does (`TxRunner`)
            value = await unit.get(key)
            holding.set()
            await asyncio.sleep(0.3)
            unit.set(key, f"{value}+holder")

    async def appender(u: Unit) -> None:
        u.set(key, f"{await u.get(key)}+other")

    task = asyncio.create_task(holder())
    await holding.wait()
    await attempt(conns[1], appender)
    await task
    assert await conns[0].text.get(key) == "start+holder+other"


async def test_a_body_that_keeps_losing_finishes_under_the_lock(
    conns: list[Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "OPTIMISTIC_TRIES", 3)
    key = conns[0].key("hot")
    kinds: list[bool] = []

    async def body(u: Unit) -> None:
        kinds.append(u.optimistic)
        await u.get(key)
        await conns[1].text.incr(key)  # another process always writes in between
        u.set(conns[0].key("done"), "1")

    await attempt(conns[0], body)
    assert kinds == [True, True, True, False]
    assert await conns[0].text.get(conns[0].key("done")) == "1"


async def test_an_error_after_reading_changing_data_is_a_conflict(
    conns: list[Connection],
) -> None:
    """A body may see half of another commit and fail on it: if what it read changed, it runs
    again; if nothing changed, the error is real and reaches the caller."""
    key = conns[0].key("row")
    await conns[0].text.set(key, "old")
    runs: list[str | None] = []

    async def body(u: Unit) -> str:
        value = await u.get(key)
        runs.append(value)
        if len(runs) == 1:
            await conns[1].text.set(key, "new")
            raise LookupError("saw half of a commit")
        return value or ""

    assert await attempt(conns[0], body) == "new"
    assert runs == ["old", "new"]

    async def broken(u: Unit) -> None:
        await u.get(key)
        raise LookupError("a real bug")

    with pytest.raises(LookupError, match="a real bug"):
        await attempt(conns[0], broken)
