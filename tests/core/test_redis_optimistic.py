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
    "hget an empty value": (
        lambda c, k: c.text.hset(k, "f", ""),
        lambda u, k: u.hget(k, "f"),
        lambda c, k: c.text.hdel(k, "f"),  # an empty value is not an absent one
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
    "zscore absent": (
        lambda c, k: c.text.delete(k),
        lambda u, k: u.zscore(k, "m"),
        lambda c, k: c.text.zadd(k, {"m": 0}),
    ),
    "zscore": (
        lambda c, k: c.text.zadd(k, {"m": 1732968000.123456}),
        lambda u, k: u.zscore(k, "m"),
        lambda c, k: c.text.zadd(k, {"m": 1732968000.123457}),
    ),
    "hgetall a value": (
        lambda c, k: c.text.hset(k, mapping={"f": "a", "g": "b"}),
        lambda u, k: u.hgetall(k),
        lambda c, k: c.text.hset(k, "g", "c"),
    ),
    "smembers of nothing": (
        lambda c, k: c.text.delete(k),
        lambda u, k: u.smembers(k),
        lambda c, k: c.text.sadd(k, "1"),
    ),
    "smembers": (
        lambda c, k: c.text.sadd(k, "1", "2"),
        lambda u, k: u.smembers(k),
        lambda c, k: c.text.srem(k, "2"),
    ),
    "prefetch": (
        lambda c, k: c.text.hset(k, "f", "a"),
        lambda u, k: u.prefetch([(k, "f"), (k, "absent")]),
        lambda c, k: c.text.hset(k, "absent", "now here"),
    ),
    "prefetch a set": (
        lambda c, k: c.text.sadd(k, "1", "2"),
        lambda u, k: u.prefetch(sets=[k]),
        lambda c, k: c.text.sadd(k, "3"),
    ),
    "members with fields: the set": (
        lambda c, k: c.text.sadd(k, "1"),
        lambda u, k: u.members_with_fields(k, [k + ":rows"]),
        lambda c, k: c.text.sadd(k, "2"),
    ),
    "members with fields: a field": (
        lambda c, k: c.text.sadd(k, "1"),
        lambda u, k: u.members_with_fields(k, [k + ":rows"]),
        lambda c, k: c.text.hset(k + ":rows", "1", "a row"),
    ),
    "prefetch a range": (
        lambda c, k: c.text.zadd(k, {"m": 1.5, "n": 3.25}),
        lambda u, k: u.prefetch(ranges=[(k, float("-inf"), 2.0)]),
        lambda c, k: c.text.zrem(k, "m"),
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


@pytest.mark.parametrize("changed", [None, *sorted(READS)])
async def test_a_commit_checks_reads_of_every_kind_together(
    conns: list[Connection], changed: str | None
) -> None:
    """Checks of every shape in one commit (they reach the script one after the other, as
    plain arguments): all hold, or the one that changed is found, wherever it sits."""
    unit = Unit(conns[0], optimistic=True)
    for kind, (prepare, read, _) in READS.items():
        key = conns[0].key("together", kind)
        await prepare(conns[1], key)
        await read(unit, key)
    if changed is not None:
        await READS[changed][2](conns[1], conns[0].key("together", changed))
    out = conns[0].key("out", "together")
    unit.set(out, "written")
    unit.hset(conns[0].key("out", "hash"), "f", "v")
    if changed is not None:
        with pytest.raises(Conflict):
            await unit.commit()
        assert await conns[0].text.get(out) is None
    else:
        await unit.commit()
        assert await conns[0].text.get(out) == "written"
        assert await conns[0].text.hget(conns[0].key("out", "hash"), "f") == "v"


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


class RoundTrips:
    """Counts the unit's calls to Redis (each one a round trip)."""

    def __init__(self, conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = conn.call

        async def counted(
            fn: Callable[..., Awaitable[object]], *args: object, **kwargs: object
        ) -> object:
            self.count += 1
            return await real(fn, *args, **kwargs)

        monkeypatch.setattr(conn, "call", counted)


async def test_reads_fetched_ahead_cost_one_round_trip_and_numbers_are_never_reused(
    conns: list[Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, seq = conns[0].key("doc"), conns[0].key("seq", "things")
    await conns[0].text.hset(key, mapping={"a": "1", "b": "2"})
    await conns[0].text.set(seq, "40")
    trips = RoundTrips(conns[0], monkeypatch)
    unit = Unit(conns[0], optimistic=True)
    await unit.prefetch([(key, "a"), (key, "b"), (key, "c")], [seq, seq])
    assert trips.count == 1
    assert await unit.hmget(key, ["a", "b", "c"]) == ["1", "2", None]
    assert [await unit.incr(seq), await unit.incr(seq)] == [41, 42]
    assert unit.drew(seq, 41) and not unit.drew(seq, 40)
    assert trips.count == 1  # all of it from the one round trip
    assert await unit.incr(seq) == 43  # none drawn ahead is left: a round trip of its own
    # A number drawn and not used is a gap: another process never gets it.
    spare = Unit(conns[0], optimistic=True)
    await spare.prefetch(numbers=[seq])
    assert await conns[1].text.incr(seq) == 45


async def test_sets_and_ranges_fetched_ahead_are_read_without_another_round_trip(
    conns: list[Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender's look after each batch: the chats due and the changed incidents at once."""
    members, ranked = conns[0].key("changed"), conns[0].key("due")
    await conns[0].text.sadd(members, "4", "9")
    await conns[0].text.zadd(ranked, {"a": 1.0, "b": 2.5, "c": 7.0})
    trips = RoundTrips(conns[0], monkeypatch)
    unit = Unit(conns[0], optimistic=True)
    await unit.prefetch(sets=[members], ranges=[(ranked, float("-inf"), 3.0)])
    assert trips.count == 1
    assert await unit.smembers(members) == {"4", "9"}
    assert await unit.zrange(ranked, high=3.0) == [("a", 1.0), ("b", 2.5)]
    unit.zadd(ranked, "d", 0.5)  # its own writes are seen on top
    assert await unit.zrange(ranked, high=3.0) == [("d", 0.5), ("a", 1.0), ("b", 2.5)]
    assert trips.count == 1
    assert await unit.zrange(ranked, high=9.0) == [("d", 0.5), ("a", 1.0), ("b", 2.5), ("c", 7.0)]
    assert trips.count == 2  # another range: read on its own


async def test_a_set_and_the_rows_it_names_are_read_in_one_round_trip(
    conns: list[Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incident's content set names its open incidents; their rows and counts come with
    it. A field the unit read before keeps that first reading."""
    ids, rows, counts = (conns[0].key(n) for n in ("content", "rows", "counts"))
    await conns[0].text.sadd(ids, "3", "5")
    await conns[0].text.hset(rows, mapping={"3": "row 3", "5": "row 5"})
    await conns[0].text.hset(counts, "3", "2")
    trips = RoundTrips(conns[0], monkeypatch)
    unit = Unit(conns[0], optimistic=True)
    assert await unit.hget(rows, "5") == "row 5"
    await conns[1].text.hset(rows, "5", "changed since")
    assert await unit.members_with_fields(ids, [rows, counts]) == {"3", "5"}
    assert trips.count == 2
    assert await unit.hmget(rows, ["3", "5"]) == ["row 3", "row 5"]
    assert await unit.hmget(counts, ["3", "5"]) == ["2", None]
    assert await unit.smembers(ids) == {"3", "5"}
    assert trips.count == 2
    unit.set(conns[0].key("out"), "x")
    with pytest.raises(Conflict):  # its first reading of row 5 is no longer so
        await unit.commit()
    empty = Unit(conns[0], optimistic=True)
    assert await empty.members_with_fields(conns[0].key("none"), [rows]) == set()
    many = [str(n) for n in range(10_000)]  # more than Lua can unpack at once
    big_ids, big_rows = conns[0].key("big"), conns[0].key("big-rows")
    await conns[0].text.sadd(big_ids, *many)
    await conns[0].text.hset(big_rows, mapping={n: f"row {n}" for n in many[::7]})
    large = Unit(conns[0], optimistic=True)
    assert await large.members_with_fields(big_ids, [big_rows]) == set(many)
    found = await large.hmget(big_rows, many)
    assert found == [f"row {n}" if int(n) % 7 == 0 else None for n in many]


async def test_a_hash_named_after_a_fresh_number_is_read_without_a_round_trip(
    conns: list[Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh, shared = conns[0].key("occurrences", 7), conns[0].key("counts")
    trips = RoundTrips(conns[0], monkeypatch)
    unit = Unit(conns[0], optimistic=True)
    unit.fresh(fresh)
    unit.fresh(shared, "7")
    assert await unit.hget(fresh, "x") is None and await unit.hgetall(fresh) == {}
    assert await unit.hget(shared, "7") is None
    unit.hset(fresh, "x", "1")
    assert await unit.hget(fresh, "x") == "1"  # its own writes are seen
    await unit.prefetch([(fresh, "y"), (shared, "7")])
    assert trips.count == 0 and unit.checks == []  # nothing read, nothing to check
    await unit.commit()
    assert await conns[0].text.hget(fresh, "x") == "1"


async def test_a_field_written_again_in_a_unit_is_sent_once(
    conns: list[Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row rewritten as a unit goes on (an incident recorded, joined, paged) is applied once,
    at its last version; a counter incremented in between still counts."""
    key, other = conns[0].key("rows"), conns[0].key("other")
    sent: list[list[list[str]]] = []
    real = conns[0].apply

    async def apply(
        token: str | None, ops: list[list[str]], release: bool, checks: list[list[object]]
    ) -> None:
        sent.append(ops)
        await real(token, ops, release, checks)

    monkeypatch.setattr(conns[0], "apply", apply)
    unit = Unit(conns[0], optimistic=True)
    unit.hset(key, "1", "first")
    unit.hset(other, "1", "kept")
    unit.hdel(key, "1")
    unit.hincrby(key, "n", 1)
    unit.hset(key, "1", "last")
    unit.hset(key, "n", "10")
    unit.hincrby(key, "n", 5)
    await unit.commit()
    [ops] = sent
    assert [op for op in ops if op[1] == key and op[2] == "1"] == [["hset", key, "1", "last"]]
    assert await conns[0].text.hgetall(key) == {"1": "last", "n": "15"}
    assert await conns[0].text.hget(other, "1") == "kept"
