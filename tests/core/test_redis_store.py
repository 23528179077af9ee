"""What only a shared store must get right: several processes at once (a real redis-server;
each `RedisStore` here stands for one process, with its own connections and lock queue)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import redis

from botkit.storage.base import StoreUnavailable
from botkit.storage.records import Destination, EditWork, PageWork, Sent
from botkit.storage.redis import RedisStore, connection
from botkit.storage.redis.intake import ANCHOR
from tests.core.test_redis_optimistic import RoundTrips
from tests.core.test_storage_contract import (
    LEASE,
    NO_INTERVAL,
    T0,
    delivered_then_changed,
    items,
    new_incident,
    opened,
    page,
    page_on_its_way,
    record,
)
from tests.redis_server import fresh_prefix, shared_url


@pytest.fixture
async def fleet() -> AsyncIterator[list[RedisStore]]:
    prefix = fresh_prefix()
    stores = [RedisStore(shared_url(), prefix, owner=f"host:{n}:w") for n in range(3)]
    for store in stores:
        await store.open()
    yield stores
    for store in stores:
        await store.close()


async def test_processes_racing_on_one_hoax_open_one_incident(fleet: list[RedisStore]) -> None:
    async def find_or_open(store: RedisStore, n: int) -> None:
        async with store.transaction() as tx:
            flagged, _ = await tx.incidents.record_flagged(record(f"copy-{n}"))
            found = await tx.incidents.find_open("hoax", T0 - timedelta(hours=1))
            await asyncio.sleep(0.001)  # the others run meanwhile
            incident = found or await tx.incidents.open(new_incident(key="hoax"))
            await tx.incidents.add_occurrence(incident.id, flagged, "t", f"g{n}", str(n), T0)

    await asyncio.gather(*(find_or_open(fleet[n % 3], n) for n in range(12)))
    [incident] = await fleet[0].incidents.query()
    assert incident.occurrences == 12 and incident.groups == 12


async def test_a_holder_that_stalled_past_its_lock_commits_nothing(
    fleet: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "LOCK_TTL_MS", 150)
    monkeypatch.setattr(connection, "_RENEW_AFTER", 60.0)  # it does not renew: stalled
    slow, other = fleet[0], fleet[1]
    with pytest.raises(StoreUnavailable, match="lost the write lock"):
        async with slow.transaction() as tx:
            await tx.incidents.record_flagged(record("stalled"))
            await asyncio.sleep(0.3)  # its lock expires; another process writes meanwhile
            await other.incidents.record_flagged(record("meanwhile"))
    assert (await slow.incidents.record_flagged(record("stalled")))[1] is True  # not there
    assert (await other.incidents.record_flagged(record("meanwhile")))[1] is False


async def test_a_lock_left_by_a_killed_process_expires_by_itself(
    fleet: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fleet[0].connection.key("lock")
    with redis.Redis.from_url(shared_url()) as db:  # what kill -9 mid-transaction leaves
        db.set(key, "host:999:dead:0", px=300)
    started = time.monotonic()
    await fleet[1].incidents.record_flagged(record("after"))
    assert 0.2 < time.monotonic() - started < 3


async def test_chats_queued_before_the_due_chat_index_existed_are_found_at_the_next_start() -> None:
    prefix = fresh_prefix()
    old = RedisStore(shared_url(), prefix, owner="host:old")
    await old.open()
    incident_id = await opened(old)
    for n in range(3):  # a backlog for one officer, one page for another
        await old.outbox.enqueue_page(page(incident_id, step=n), T0)
    await old.outbox.enqueue_page(page(incident_id, officer="lan"), T0)
    expected = [Destination("test", "u-lan"), Destination("test", "u-thanh")]
    assert await old.outbox.due_destinations(T0, 10) == expected
    # Written by a version without the index: only the rows' own entries are there.
    db = redis.Redis.from_url(shared_url())
    db.delete(old.connection.key("alerts", "due_dest"))
    assert await old.outbox.due_destinations(T0, 10) == []
    new = RedisStore(shared_url(), prefix, owner="host:new")
    await new.open()
    assert await new.outbox.due_destinations(T0, 10) == expected
    # The index follows the queue: once lan's one page is out, only thanh's chat is due.
    work = await new.outbox.claim(Destination("test", "u-lan"), "w", T0, LEASE, NO_INTERVAL)
    assert isinstance(work, PageWork)
    detail = await new.incidents.get(incident_id)
    assert detail is not None
    assert await new.outbox.settle(work, Sent("m1", detail.version, "opened"), T0)
    assert await new.outbox.due_destinations(T0, 10) == [Destination("test", "u-thanh")]
    assert db.zcard(new.connection.key("alerts", "due_dest")) == 1
    db.close()
    await old.close()
    await new.close()


async def test_a_large_batch_leases_and_acknowledges_every_entry(fleet: list[RedisStore]) -> None:
    """Leases, owners and acknowledgements of a batch go in variadic commands, in chunks:
    every entry of a batch spanning several chunks is leased, then forgotten when done."""
    store, key = fleet[0], fleet[0].connection.key
    await store.intake.append(items(*(f"k{n}" for n in range(1000))), T0)
    claimed = await store.intake.claim("host:0:w", 1000, T0, LEASE, 20)
    db = redis.Redis.from_url(shared_url())
    try:
        assert db.hlen(key("intake", "keys")) == 1000  # id -> key, for the acknowledgement
        leased = {m.decode() for m in db.zrange(key("intake", "leases"), 0, -1)} - {ANCHOR}
        assert len(leased) == db.hlen(key("intake", "owners")) == 1000
        await store.intake.done([c.id for c in claimed], T0)
        assert db.zrange(key("intake", "leases"), 0, -1) == [ANCHOR.encode()]
        assert db.hlen(key("intake", "owners")) == 0
        assert db.zcard(key("intake", "done")) == 1000 and db.hlen(key("intake", "seen")) == 0
        assert db.llen(key("intake", "latency")) == 1000  # time in the stream of each
        assert db.hlen(key("intake", "keys")) == 0
    finally:
        db.close()


async def test_entries_appended_before_the_index_of_keys_are_acknowledged_by_their_entry(
    fleet: list[RedisStore],
) -> None:
    """The acknowledgement finds each entry's key in `intake:keys`; an entry appended by a
    version without it is read from the stream instead. An entry acknowledged twice counts
    once (its id is gone from both)."""
    store, key = fleet[0], fleet[0].connection.key
    await store.intake.append(items("old", "new"), T0)
    db = redis.Redis.from_url(shared_url())
    try:
        [old_id, _] = db.hkeys(key("intake", "keys"))
        db.hdel(key("intake", "keys"), old_id)  # as a version without the index left it
        claimed = await store.intake.claim("host:0:w", 10, T0, LEASE, 20)
        await store.intake.done([c.id for c in claimed], T0)
        await store.intake.done([c.id for c in claimed], T0)
        assert {k.decode() for k in db.zrange(key("intake", "done"), 0, -1)} == {"old", "new"}
        assert db.hlen(key("intake", "seen")) == 0 and db.xlen(key("intake", "stream")) == 0
        assert db.llen(key("intake", "latency")) == 2
        assert await store.intake.append(items("old", "new"), T0) == 0  # still recognised
    finally:
        db.close()


async def test_the_leases_of_a_small_batch_are_kept_in_a_skiplist(fleet: list[RedisStore]) -> None:
    """Redis keeps a small sorted set as a listpack, where each insert scans and parses every
    score before it: a batch's leases cost most of the claim. An anchor that is never due
    keeps the set a skiplist, and is never handed out."""
    store, key = fleet[0], fleet[0].connection.key
    await store.intake.append(items("a", "b", "c"), T0)
    db = redis.Redis.from_url(shared_url())
    try:
        claimed = await store.intake.claim("host:0:w", 10, T0, LEASE, 20)
        assert len(claimed) == 3
        assert db.object("encoding", key("intake", "leases")) == b"skiplist"
        await store.intake.done([c.id for c in claimed[:2]], T0)
        later = await store.intake.claim("host:1:w", 10, T0 + LEASE * 2, LEASE, 20)
        assert [c.id for c in later] == [claimed[2].id]  # the expired lease, not the anchor
    finally:
        db.close()


async def test_the_look_at_changed_incidents_reads_their_version_not_their_rows(
    fleet: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incident's row carries its escalation chain (kilobytes); the sender looks at every
    changed incident often, so it reads a [version, state] kept beside it. An incident
    written before that index existed is still seen behind, from its row."""
    store = fleet[0]
    dest = await delivered_then_changed(store)
    rows_read: list[object] = []
    conn, real = store.connection, store.connection.call

    async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if args and args[0] == conn.key("incidents"):
            rows_read.append(args[1:])
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(conn, "call", call)
    assert await store.outbox.due_destinations(T0, 10, NO_INTERVAL) == [dest]
    assert rows_read == []
    db = redis.Redis.from_url(shared_url())
    db.delete(conn.key("incidents", "shown"))  # as a version without the index left it
    db.close()
    assert await store.outbox.due_destinations(T0, 10, NO_INTERVAL) == [dest]
    assert len(rows_read) == 1
    edit = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    assert isinstance(edit, EditWork)


async def test_incidents_with_nothing_delivered_stay_out_of_the_sender_s_look(
    fleet: list[RedisStore],
) -> None:
    """The sender looks at every incident in `incidents:changed` after each batch that
    committed something. An incident whose page is not delivered has nothing to edit: were
    it in the set, each look would read it again, and the looks would grow with every
    incident since the last purge (they did: 175 after 10,000 messages of the bench)."""
    store = fleet[0]
    changed = store.connection.key("incidents", "changed")
    db = redis.Redis.from_url(shared_url())
    try:
        waiting = await opened(store, key="waiting")  # its page is queued, not delivered
        await store.outbox.enqueue_page(page(waiting, officer="lan"), T0)
        for n in range(5):
            flagged, _ = await store.incidents.record_flagged(record(f"w{n}"))
            await store.incidents.add_occurrence(waiting, flagged, "test", f"g{n}", str(n), T0)
        assert db.smembers(changed) == set()
        dest = await delivered_then_changed(store)  # a delivered page: it is edited
        [behind] = [int(i) for i in db.smembers(changed)]
        edit = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
        assert isinstance(edit, EditWork) and edit.incident_id == behind
    finally:
        db.close()


async def test_incidents_an_older_version_left_in_the_set_are_swept_at_start() -> None:
    """Before, every incident whose version moved joined `incidents:changed`, and only an
    edit's claim took out those with nothing to edit: the next process to start does."""
    prefix = fresh_prefix()
    store = RedisStore(shared_url(), prefix, owner="host:0:w")
    await store.open()
    db = redis.Redis.from_url(shared_url())
    try:
        dest = await delivered_then_changed(store)  # one alert behind: it stays
        idle = {str(await opened(store, key=f"idle-{n}")).encode() for n in range(3)}
        changed = store.connection.key("incidents", "changed")
        [behind] = db.smembers(changed)
        db.sadd(changed, *idle)  # as the older version left them
        restarted = RedisStore(shared_url(), prefix, owner="host:1:w")
        await restarted.open()
        try:
            assert db.smembers(changed) == {behind}
            edit = await restarted.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
            assert isinstance(edit, EditWork) and str(edit.incident_id).encode() == behind
        finally:
            await restarted.close()
    finally:
        db.close()
        await store.close()


async def test_a_delivery_racing_a_new_version_still_leaves_an_edit_due(
    fleet: list[RedisStore],
) -> None:
    """A new version decides from `alerts:editable` whether the incident joins the set; a
    page settled meanwhile makes its alert editable and reads the old version. Whichever
    commits second sees the other's change (its read is checked), so the edit is due."""
    sender, worker = fleet[0], fleet[1]
    incident_id, dest, work, version = await page_on_its_way(sender)
    flagged, _ = await worker.incidents.record_flagged(record("k2"))
    settled = asyncio.Event()
    runs = 0

    async def seen_again(tx: Any) -> None:
        nonlocal runs
        runs += 1
        await tx.incidents.add_occurrence(incident_id, flagged, "test", "g2", "2", T0)
        if runs == 1:
            await settled.wait()  # the page is delivered between this read and the commit

    async def deliver() -> None:
        await sender.outbox.settle(work, Sent("m1", version, "opened"), T0)
        settled.set()

    await asyncio.gather(worker.run_transaction(seen_again), deliver())
    assert runs == 2  # the first try conflicted
    assert await sender.outbox.due_destinations(T0, 10, NO_INTERVAL) == [dest]
    assert isinstance(await sender.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL), EditWork)


async def test_a_flag_that_opens_an_incident_costs_four_round_trips(
    fleet: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen before? (with its number), an open incident of its content? (none), the new
    incident's numbers, the commit. What the new incident's keys hold is known without
    asking: nothing, as nobody else can have written under a number just drawn."""
    store = fleet[0]
    trips = RoundTrips(store.connection, monkeypatch)

    async def flag(tx: Any) -> None:
        flagged, _ = await tx.incidents.record_flagged(record("k1"))
        assert await tx.incidents.find_open("content", T0 - timedelta(hours=1)) is None
        incident = await tx.incidents.open(new_incident())
        await tx.incidents.add_occurrence(incident.id, flagged, "test", "g1", "1", T0)

    await store.run_transaction(flag)
    assert trips.count == 4


async def test_a_flag_that_joins_an_open_incident_costs_four_round_trips(
    fleet: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen before? (with its number), the open incidents of its content with their rows,
    the occurrence's place in the incident, the commit."""
    store = fleet[0]
    incident_id = await opened(store)
    trips = RoundTrips(store.connection, monkeypatch)

    async def flag(tx: Any) -> None:
        flagged, _ = await tx.incidents.record_flagged(record("k2"))
        found = await tx.incidents.find_open("content", T0 - timedelta(hours=1))
        assert found is not None and found.id == incident_id
        await tx.incidents.add_occurrence(found.id, flagged, "test", "g2", "2", T0)

    await store.run_transaction(flag)
    assert trips.count == 4
    [incident] = await store.incidents.query()
    assert incident.occurrences == 2 and incident.groups == 2


async def test_the_sender_s_look_is_one_round_trip_when_nothing_is_behind(
    fleet: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every worker looks after each batch that committed something: the chats due (pages,
    messages) and the changed incidents come in one round trip."""
    store = fleet[0]
    incident_id = await opened(store)
    await store.outbox.enqueue_page(page(incident_id), T0)
    trips = RoundTrips(store.connection, monkeypatch)
    assert await store.outbox.due_destinations(T0, 10, NO_INTERVAL) == [
        Destination("test", "u-thanh")
    ]
    assert trips.count == 1


async def test_a_purged_incident_leaves_nothing_in_the_index_of_what_alerts_show(
    fleet: list[RedisStore],
) -> None:
    store = fleet[0]
    incident_id = await opened(store, T0 - timedelta(days=100), "old")
    db = redis.Redis.from_url(shared_url())
    shown = store.connection.key("incidents", "shown")
    try:
        assert db.hexists(shown, str(incident_id))
        days = [T0 - timedelta(days=d) for d in (90, 30, 2)]
        assert (await store.purge(*days))["incidents"] == 1
        assert not db.hexists(shown, str(incident_id))
    finally:
        db.close()


def test_replies_are_parsed_by_hiredis() -> None:
    """A worker's replies (a claim is 64 sealed payloads) are parsed in C: in pure Python the
    parsing of one claim took 1.6 ms of the worker's CPU, with hiredis 0.45 ms."""
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE
