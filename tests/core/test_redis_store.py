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
from tests.core.test_storage_contract import (
    LEASE,
    NO_INTERVAL,
    T0,
    delivered_then_changed,
    items,
    new_incident,
    opened,
    page,
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
        assert db.zcard(key("intake", "leases")) == db.hlen(key("intake", "owners")) == 1000
        await store.intake.done([c.id for c in claimed], T0)
        assert db.zcard(key("intake", "leases")) == db.hlen(key("intake", "owners")) == 0
        assert db.zcard(key("intake", "done")) == 1000 and db.hlen(key("intake", "seen")) == 0
        assert db.llen(key("intake", "latency")) == 1000  # time in the stream of each
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
