"""The storage contract: what every backend promises the core, one suite run against each.

A backend joins by adding itself to `tests/storage_backends.py`; nothing here may depend on
how it stores anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from botkit.domain import IncidentState
from botkit.storage.base import Store, Transaction
from botkit.storage.records import (
    Cancelled,
    Destination,
    DigestWork,
    EditWork,
    Failed,
    FlaggedRecord,
    Held,
    IntakeItem,
    MessageWork,
    NewIncident,
    NewMessage,
    NewPage,
    PageWork,
    Redirected,
    Retry,
    Sent,
)
from tests.storage_backends import BACKENDS, open_backend

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
NO_INTERVAL = timedelta(0)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_backend(request.param, tmp_path) as s:
        yield s


def record(key: str = "k1", at: datetime = T0) -> FlaggedRecord:
    return FlaggedRecord(
        key, "test", "g1", "1", "s-hash", "t-hash", "excerpt", "scam", 0.9, "m1",
        (("phone", "[số]"),), at,
    )  # fmt: skip


def new_incident(at: datetime = T0, key: str = "content") -> NewIncident:
    return NewIncident(
        key, "scam", 24280, "u1", (), at, "excerpt", 0.9, None,
        {"unit": "u1", "steps": [], "repeat": 1, "reminder_hours": 1},
    )  # fmt: skip


async def opened(store: Store, at: datetime = T0, key: str = "content") -> int:
    async with store.transaction() as tx:
        flagged_id, _ = await tx.incidents.record_flagged(record(key, at))
        incident = await tx.incidents.open(new_incident(at, key))
        await tx.incidents.add_occurrence(incident.id, flagged_id, "test", "g1", key, at)
    return incident.id


def page(incident_id: int, officer: str = "thanh", kind: str = "alert", step: int = 0) -> NewPage:
    return NewPage(incident_id, officer, "test", f"u-{officer}", kind, step)


# -- incidents ---------------------------------------------------------------------------------


async def test_flagged_messages_are_recorded_once(store: Store) -> None:
    first = await store.incidents.record_flagged(record())
    again = await store.incidents.record_flagged(record())
    assert first[1] is True and again == (first[0], False)


async def test_an_open_incident_is_found_by_content_within_the_window(store: Store) -> None:
    incident_id = await opened(store)
    found = await store.incidents.find_open("content", T0 - timedelta(hours=1))
    assert found is not None and found.id == incident_id and found.occurrences == 1
    assert await store.incidents.find_open("content", T0 + timedelta(hours=1)) is None
    assert await store.incidents.find_open("other", T0 - timedelta(hours=1)) is None


async def test_occurrences_count_once_and_bump_the_version(store: Store) -> None:
    incident_id = await opened(store)
    before = await store.incidents.get(incident_id)
    flagged, _ = await store.incidents.record_flagged(record("k2"))
    _, added = await store.incidents.add_occurrence(incident_id, flagged, "test", "g2", "2", T0)
    _, again = await store.incidents.add_occurrence(incident_id, flagged, "test", "g2", "2", T0)
    after = await store.incidents.get(incident_id)
    assert added and not again
    assert before is not None and after is not None
    assert after.incident.occurrences == 2 and after.incident.groups == 2
    assert after.version > before.version


async def test_transition_is_compare_and_set_and_cancels_timers(store: Store) -> None:
    incident_id = await opened(store)
    fence = await store.incidents.advance_step(incident_id, 0, exhausted=False)
    await store.timers.schedule(incident_id, "escalate", T0, fence)
    assert await store.incidents.transition(
        incident_id, IncidentState.OPENED, IncidentState.ACKNOWLEDGED, "a", "ack", T0
    )
    # a second officer acting on the stale state loses the race
    assert not await store.incidents.transition(
        incident_id, IncidentState.OPENED, IncidentState.FALSE_POSITIVE, "b", "false", T0
    )
    assert await store.timers.pending(incident_id) == []
    assert await store.incidents.last_actor(incident_id) == "a"


async def test_incidents_without_a_pending_step_are_found_for_recovery(store: Store) -> None:
    with_timer = await opened(store, key="a")
    without = await opened(store, key="b")
    fence = await store.incidents.advance_step(with_timer, 0, exhausted=False)
    await store.timers.schedule(with_timer, "escalate", T0, fence)
    found = [d.incident.id for d in await store.incidents.needing_recovery()]
    assert found == [without]


async def test_claims_are_listed_after_a_sequence(store: Store) -> None:
    incident_id = await opened(store)
    await store.incidents.add_claim("c1", incident_id, "thôn 3 có 15 ca covid", T0)
    [(seq, claim_id, _)] = await store.incidents.claims()
    await store.incidents.add_claim("c2", incident_id, "phong tỏa toàn xã", T0)
    assert [c for _, c, _ in await store.incidents.claims(seq)] == ["c2"]
    assert claim_id == "c1" and await store.incidents.claim_incident("c1") == incident_id


# -- transactions -----------------------------------------------------------------------------


async def test_a_transaction_commits_all_or_nothing(store: Store) -> None:
    announced: list[str] = []
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.incidents.record_flagged(record("lost"))
            await tx.incidents.open(new_incident(key="lost"))
            tx.after_commit(lambda: announced.append("rolled back"))
            raise RuntimeError("crash before the commit")
    assert await store.incidents.query() == []
    assert (await store.incidents.record_flagged(record("lost")))[1] is True
    async with store.transaction() as tx:
        await tx.incidents.open(new_incident(key="kept"))
        tx.after_commit(lambda: announced.append("committed"))
    assert announced == ["committed"]
    assert len(await store.incidents.query()) == 1


async def test_concurrent_transactions_do_not_interleave(store: Store) -> None:
    """Two 'find or open' transactions racing on the same content open one incident."""

    async def find_or_open() -> None:
        async with store.transaction() as tx:
            found = await tx.incidents.find_open("race", T0 - timedelta(hours=1))
            await asyncio.sleep(0)  # let the other task run inside our transaction
            if found is None:
                await tx.incidents.open(new_incident(key="race"))

    await asyncio.gather(*(find_or_open() for _ in range(5)))
    assert len(await store.incidents.query()) == 1


async def test_run_transaction_commits_all_or_nothing_and_announces_once(store: Store) -> None:
    """The form the bot uses: the effect may run more than once on a shared store, so what
    it announces waits for the commit, and its result comes back."""
    announced: list[str] = []

    async def crash(tx: Transaction) -> None:
        await tx.incidents.open(new_incident(key="lost"))
        tx.after_commit(lambda: announced.append("rolled back"))
        raise RuntimeError("crash before the commit")

    with pytest.raises(RuntimeError, match="crash before the commit"):
        await store.run_transaction(crash)
    assert await store.incidents.query() == []

    async def find_or_open(tx: Transaction) -> int:
        found = await tx.incidents.find_open("race", T0 - timedelta(hours=1))
        await asyncio.sleep(0.001)  # the other tasks (and on Redis, their commits) run
        incident = found or await tx.incidents.open(new_incident(key="race"))
        tx.after_commit(lambda: announced.append(f"#{incident.id}"))
        return incident.id

    ids = await asyncio.gather(*(store.run_transaction(find_or_open) for _ in range(5)))
    [incident] = await store.incidents.query()
    assert set(ids) == {incident.id}
    assert announced == [f"#{incident.id}"] * 5


async def test_the_store_refuses_use_outside_an_open_transaction_of_the_same_task(
    store: Store,
) -> None:
    async with store.transaction():
        with pytest.raises(RuntimeError, match="outside the open transaction"):
            await store.incidents.query()


# -- timers ------------------------------------------------------------------------------------


async def test_a_timer_is_taken_once_and_only_with_a_current_fence(store: Store) -> None:
    incident_id = await opened(store)
    fence = await store.incidents.advance_step(incident_id, 0, exhausted=False)
    stale = await store.timers.schedule(incident_id, "escalate", T0, fence)
    fence = await store.incidents.advance_step(incident_id, 1, exhausted=False)
    assert await store.timers.take(stale) is None  # the chain moved on since
    timer = await store.timers.schedule(incident_id, "escalate", T0, fence)
    assert [t.id for t in await store.timers.due(T0)] == [timer]
    taken = await store.timers.take(timer)
    assert taken is not None and taken.kind == "escalate"
    assert await store.timers.take(timer) is None  # never twice
    assert await store.timers.next_due() is None


async def test_a_timer_taken_in_a_rolled_back_transaction_stays_pending(store: Store) -> None:
    incident_id = await opened(store)
    fence = await store.incidents.advance_step(incident_id, 0, exhausted=False)
    timer = await store.timers.schedule(incident_id, "escalate", T0, fence)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            assert await tx.timers.take(timer) is not None
            raise RuntimeError("crash while running the step")
    assert [t.id for t in await store.timers.pending(incident_id)] == [timer]


async def test_hasten_brings_a_pending_step_forward(store: Store) -> None:
    incident_id = await opened(store)
    fence = await store.incidents.advance_step(incident_id, 0, exhausted=False)
    await store.timers.schedule(incident_id, "escalate", T0 + timedelta(minutes=15), fence)
    assert await store.timers.hasten(incident_id, "escalate", T0)
    assert await store.timers.next_due() == T0
    assert not await store.timers.hasten(incident_id, "escalate", T0 + timedelta(hours=1))


# -- outbox ------------------------------------------------------------------------------------


async def test_a_page_is_queued_once_per_incident_officer_kind_and_step(store: Store) -> None:
    incident_id = await opened(store)
    first = await store.outbox.enqueue_page(page(incident_id), T0)
    assert first is not None
    assert await store.outbox.enqueue_page(page(incident_id), T0) is None
    assert await store.outbox.enqueue_page(page(incident_id, step=1), T0) is not None
    assert len(await store.outbox.alerts(incident_id)) == 2


async def test_a_message_is_queued_once_per_dedupe_key(store: Store) -> None:
    message = NewMessage("reply:1", "test", "g1", {"type": "SendText", "chat_id": "g1",
                                                   "text": "ok", "buttons": [],
                                                   "reply_to": None})  # fmt: skip
    assert await store.outbox.enqueue_message(message, T0)
    assert not await store.outbox.enqueue_message(message, T0)
    assert len(await store.outbox.messages()) == 1


async def test_claimed_work_is_leased_exclusively_until_it_expires(store: Store) -> None:
    incident_id = await opened(store)
    await store.outbox.enqueue_page(page(incident_id), T0)
    dest = Destination("test", "u-thanh")
    assert await store.outbox.due_destinations(T0, 10) == [dest]
    first = await store.outbox.claim(dest, "w1", T0, LEASE, NO_INTERVAL)
    assert isinstance(first, PageWork)
    assert await store.outbox.claim(dest, "w2", T0, LEASE, NO_INTERVAL) is None
    assert await store.outbox.due_destinations(T0, 10) == []
    later = T0 + LEASE + timedelta(seconds=1)  # w1 stalled past its lease
    second = await store.outbox.claim(dest, "w2", later, LEASE, NO_INTERVAL)
    assert isinstance(second, PageWork) and second.lease.token > first.lease.token
    # the stalled sender cannot overwrite the newer attempt
    detail = await store.incidents.get(incident_id)
    assert detail is not None
    assert not await store.outbox.settle(first, Sent("m1", detail.version, "opened"), later)
    assert await store.outbox.settle(second, Sent("m2", detail.version, "opened"), later)
    [row] = await store.outbox.alerts(incident_id)
    assert row.status == "sent" and row.delivery_ref == "m2"
    assert await store.outbox.claim(dest, "w3", later, LEASE, NO_INTERVAL) is None


async def test_a_retry_waits_for_its_time_and_counts_ambiguous_sends(store: Store) -> None:
    incident_id = await opened(store)
    await store.outbox.enqueue_page(page(incident_id), T0)
    dest = Destination("test", "u-thanh")
    work = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    assert work is not None
    at = T0 + timedelta(seconds=10)
    assert await store.outbox.settle(work, Retry(at, "timed out", ambiguous=True), T0)
    early = T0 + timedelta(seconds=5)
    assert await store.outbox.claim(dest, "w", early, LEASE, NO_INTERVAL) is None
    again = await store.outbox.claim(dest, "w", at, LEASE, NO_INTERVAL)
    assert isinstance(again, PageWork) and again.attempts == 1 and again.ambiguous == 1


async def test_outcomes_of_pages(store: Store) -> None:
    incident_id = await opened(store)
    for officer in ("a", "b", "c"):
        await store.outbox.enqueue_page(page(incident_id, officer), T0)
    works = []
    for officer in ("a", "b", "c"):
        w = await store.outbox.claim(Destination("test", f"u-{officer}"), "w", T0, LEASE,
                                     NO_INTERVAL)  # fmt: skip
        assert isinstance(w, PageWork)
        works.append(w)
    await store.outbox.settle(works[0], Failed("blocked"), T0)
    await store.outbox.settle(works[1], Cancelled("acknowledged"), T0)
    await store.outbox.settle(works[2], Redirected("other", "o-c", "blocked"), T0)
    rows = {r.officer_id: r for r in await store.outbox.alerts(incident_id)}
    assert rows["a"].status == "failed" and rows["a"].last_error == "blocked"
    assert rows["b"].status == "cancelled"
    assert (rows["c"].status, rows["c"].platform, rows["c"].contact) == ("pending", "other", "o-c")
    assert await store.outbox.due_destinations(T0, 10) == [Destination("other", "o-c")]
    assert [p.officer_id for p in await store.outbox.step_pages(incident_id, 0)] == ["a", "b", "c"]


async def test_held_pages_of_an_officer_come_back_together_as_a_digest(store: Store) -> None:
    ids = [await opened(store, key=f"k{i}") for i in range(3)]
    dest = Destination("test", "u-thanh")
    until = T0 + timedelta(seconds=40)
    for incident_id in ids:
        await store.outbox.enqueue_page(page(incident_id), T0)
        work = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
        assert isinstance(work, PageWork)
        await store.outbox.settle(work, Held(until), T0)
    assert await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL) is None
    digest = await store.outbox.claim(dest, "w", until, LEASE, NO_INTERVAL)
    assert isinstance(digest, DigestWork) and len(digest.pages) == 3
    assert await store.outbox.settle(digest, Sent("d1"), until)
    assert {r.status for r in await store.outbox.alerts()} == {"sent"}
    # delivered inside a digest: never edited as if it were that incident's own alert
    async with store.transaction() as tx:
        await tx.incidents.transition(
            ids[0], IncidentState.OPENED, IncidentState.ACKNOWLEDGED, "thanh", "ack", T0
        )
    assert await store.outbox.due_destinations(until, 10) == []


async def test_release_held_makes_them_due_now(store: Store) -> None:
    incident_id = await opened(store)
    await store.outbox.enqueue_page(page(incident_id), T0)
    dest = Destination("test", "u-thanh")
    work = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    assert work is not None
    await store.outbox.settle(work, Held(T0 + timedelta(minutes=1)), T0)
    assert await store.outbox.release_held(T0) == 1
    assert await store.outbox.due_destinations(T0, 10) == [dest]


async def test_the_officer_window_counts_sends_per_minute(store: Store) -> None:
    for i in range(3):
        assert await store.outbox.reserve_send("thanh", T0 + timedelta(seconds=i), 3) is None
    frees = await store.outbox.reserve_send("thanh", T0 + timedelta(seconds=5), 3)
    assert frees == T0 + timedelta(minutes=1)
    assert await store.outbox.reserve_send("dung", T0, 3) is None  # per officer
    assert await store.outbox.reserve_send("thanh", T0 + timedelta(seconds=61), 3) is None


async def test_a_delivered_alert_is_due_for_an_edit_when_its_incident_changes(
    store: Store,
) -> None:
    incident_id = await opened(store)
    await store.outbox.enqueue_page(page(incident_id), T0)
    dest = Destination("test", "u-thanh")
    work = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    detail = await store.incidents.get(incident_id)
    assert work is not None and detail is not None
    await store.outbox.settle(work, Sent("m1", detail.version, "opened"), T0)
    assert await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL) is None
    flagged, _ = await store.incidents.record_flagged(record("k2"))
    await store.incidents.add_occurrence(incident_id, flagged, "test", "g2", "2", T0)
    interval = timedelta(seconds=5)
    # a new occurrence waits for the edit interval; a change of state does not
    assert await store.outbox.claim(dest, "w", T0, LEASE, interval) is None
    edit = await store.outbox.claim(dest, "w", T0 + interval, LEASE, interval)
    assert isinstance(edit, EditWork) and edit.delivery_ref == "m1"
    fresh = await store.incidents.get(incident_id)
    assert fresh is not None
    await store.outbox.settle(edit, Sent("m1", fresh.version, "opened"), T0 + interval)
    await store.incidents.transition(
        incident_id, IncidentState.OPENED, IncidentState.ACKNOWLEDGED, "thanh", "ack", T0
    )
    assert isinstance(await store.outbox.claim(dest, "w", T0 + interval, LEASE, interval), EditWork)


async def delivered_then_changed(store: Store) -> Destination:
    """An incident whose page was delivered, then seen again: its alert is behind."""
    incident_id = await opened(store)
    await store.outbox.enqueue_page(page(incident_id), T0)
    dest = Destination("test", "u-thanh")
    work = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    assert work is not None
    await store.outbox.settle(work, Sent("m1", 1, "opened"), T0)
    flagged, _ = await store.incidents.record_flagged(record("k2"))
    await store.incidents.add_occurrence(incident_id, flagged, "test", "g2", "2", T0)
    return dest


async def page_on_its_way(store: Store) -> tuple[int, Destination, PageWork, int]:
    """An incident whose page is claimed, not yet settled: (incident, the officer's chat, the
    page's work, the version it is rendered with)."""
    incident_id = await opened(store)
    await store.outbox.enqueue_page(page(incident_id), T0)
    dest = Destination("test", "u-thanh")
    work = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    assert isinstance(work, PageWork)
    detail = await store.incidents.get(incident_id)
    assert detail is not None
    return incident_id, dest, work, detail.version


async def test_a_page_delivered_after_its_incident_moved_on_is_edited(store: Store) -> None:
    """The incident is seen again while its page is on its way: the page shows the version
    it was rendered with, so once delivered it is behind, and an edit is due."""
    incident_id, dest, work, version = await page_on_its_way(store)
    for n in (2, 3):  # before delivery: nothing can be edited yet
        flagged, _ = await store.incidents.record_flagged(record(f"k{n}"))
        await store.incidents.add_occurrence(incident_id, flagged, "test", f"g{n}", str(n), T0)
    assert await store.outbox.due_destinations(T0, 10, NO_INTERVAL) == []
    await store.outbox.settle(work, Sent("m1", version, "opened"), T0)
    assert await store.outbox.due_destinations(T0, 10, NO_INTERVAL) == [dest]
    edit = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    assert isinstance(edit, EditWork) and edit.delivery_ref == "m1"
    current = await store.incidents.get(incident_id)
    assert current is not None and current.version > version
    await store.outbox.settle(edit, Sent("m1", current.version, "opened"), T0)
    assert await store.outbox.due_destinations(T0, 10, NO_INTERVAL) == []


async def test_an_edit_given_up_leaves_nothing_due(store: Store) -> None:
    dest = await delivered_then_changed(store)
    edit = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    assert isinstance(edit, EditWork)
    later = T0 + timedelta(minutes=1)
    await store.outbox.settle(edit, Retry(later, "timeout"), T0)
    assert await store.outbox.next_due() == later
    again = await store.outbox.claim(dest, "w", later, LEASE, NO_INTERVAL)
    assert isinstance(again, EditWork)
    await store.outbox.settle(again, Failed("message to edit not found"), later)
    assert await store.outbox.next_due() is None  # not a moment long past


async def test_messages_are_claimed_after_pages(store: Store) -> None:
    incident_id = await opened(store)
    action = {"type": "SendText", "chat_id": "u-thanh", "text": "ok", "buttons": [],
              "reply_to": None}  # fmt: skip
    await store.outbox.enqueue_message(NewMessage("reply:1", "test", "u-thanh", action), T0)
    await store.outbox.enqueue_page(page(incident_id), T0)
    dest = Destination("test", "u-thanh")
    assert isinstance(await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL), PageWork)
    message = await store.outbox.claim(dest, "w", T0, LEASE, NO_INTERVAL)
    assert isinstance(message, MessageWork) and message.action["text"] == "ok"
    assert await store.outbox.settle(message, Sent("m9"), T0)
    assert [m["status"] for m in await store.outbox.messages()] == ["sent"]


# -- intake ------------------------------------------------------------------------------------


def items(*keys: str) -> list[IntakeItem]:
    return [IntakeItem(k, f"payload {k}".encode()) for k in keys]


async def test_intake_ignores_duplicates_even_after_they_are_done(store: Store) -> None:
    assert await store.intake.append(items("a", "b"), T0) == 2
    assert await store.intake.append(items("b", "c"), T0) == 1
    claimed = await store.intake.claim("w", 10, T0, LEASE, 20)
    assert [c.payload for c in claimed] == [b"payload a", b"payload b", b"payload c"]
    await store.intake.done([c.id for c in claimed], T0)
    assert await store.intake.backlog() == 0
    assert await store.intake.append(items("a"), T0) == 0  # a redelivery of a done event


async def test_a_batch_larger_than_any_chunk_is_claimed_and_acknowledged_whole(
    store: Store,
) -> None:
    """Redis claims and acknowledges a batch in a few variadic commands, chunked to stay
    inside Lua's stack: 1,000 entries cross several chunks, half of them acknowledged with a
    transaction's commit and half on their own."""
    keys = [f"k{n}" for n in range(1000)]
    assert await store.intake.append(items(*keys), T0) == 1000
    claimed = await store.intake.claim("w", 1000, T0, LEASE, 20)
    assert [c.payload for c in claimed] == [f"payload {k}".encode() for k in keys]
    assert await store.intake.claim("w2", 10, T0, LEASE, 20) == []  # every one is leased

    async def ack(tx: Transaction) -> None:
        await tx.intake.done([c.id for c in claimed[:500]], T0)

    await store.run_transaction(ack)
    await store.intake.done([c.id for c in claimed[500:]], T0)
    assert await store.intake.backlog() == 0
    assert await store.intake.claim("w2", 10, T0 + LEASE * 2, LEASE, 20) == []  # no lease left
    assert await store.intake.append(items(*keys[::7]), T0) == 0  # all remembered as done


async def test_intake_leases_entries_until_done(store: Store) -> None:
    await store.intake.append(items("a", "b", "c"), T0)
    first = await store.intake.claim("w1", 2, T0, LEASE, 20)
    second = await store.intake.claim("w2", 2, T0, LEASE, 20)
    assert len(first) == 2 and len(second) == 1
    assert await store.intake.claim("w3", 2, T0, LEASE, 20) == []
    assert await store.intake.backlog() == 3
    await store.intake.release([first[0].id])  # a stopping worker gives it back
    again = await store.intake.claim("w3", 5, T0, LEASE, 20)
    assert [e.id for e in again] == [first[0].id] and again[0].deliveries == 1
    later = T0 + LEASE + timedelta(seconds=1)  # the workers died: their leases expire
    assert len(await store.intake.claim("w4", 5, later, LEASE, 20)) == 3


async def test_a_claim_takes_expired_entries_first_and_never_more_than_its_limit(
    store: Store,
) -> None:
    """Entries whose lease ran out come before new ones (a dead worker's entries are not
    starved by a stream that never empties), and a batch never exceeds the limit: what does
    not fit waits for the next claim, its delivery not counted."""
    await store.intake.append(items("a", "b"), T0)
    assert len(await store.intake.claim("w1", 2, T0, LEASE, 20)) == 2
    await store.intake.append(items("c", "d", "e"), T0)
    later = T0 + LEASE + timedelta(seconds=1)  # w1 died holding a and b
    batch = await store.intake.claim("w2", 3, later, LEASE, 20)
    assert [(c.payload, c.deliveries) for c in batch] == [
        (b"payload a", 2),
        (b"payload b", 2),
        (b"payload c", 1),
    ]
    rest = await store.intake.claim("w3", 5, later, LEASE, 20)
    assert [(c.payload, c.deliveries) for c in rest] == [(b"payload d", 1), (b"payload e", 1)]
    assert await store.intake.claim("w4", 5, later, LEASE, 20) == []
    await store.intake.done([c.id for c in batch + rest], later)
    assert await store.intake.backlog() == 0


async def test_a_failing_event_is_retried_then_dead_lettered(store: Store) -> None:
    await store.intake.append(items("poison", "fine"), T0)
    for attempt in range(3):
        now = T0 + timedelta(minutes=attempt)
        claimed = await store.intake.claim("w", 10, now, LEASE, 20)
        poison = next(c for c in claimed if c.payload == b"payload poison")
        assert poison.attempts == attempt
        dead = await store.intake.fail(poison.id, "boom", now, 3)
        assert dead is (attempt == 2)
        await store.intake.done([c.id for c in claimed if c is not poison], now)
    [letter] = await store.intake.dead_letters()
    assert letter.attempts == 3 and letter.error == "boom"
    assert await store.intake.backlog() == 0
    assert await store.intake.requeue_dead() == 1
    assert [c.payload for c in await store.intake.claim("w", 10, T0, LEASE, 20)] == [
        b"payload poison"
    ]


async def test_an_entry_that_keeps_killing_its_worker_is_dead_lettered(store: Store) -> None:
    await store.intake.append(items("crash"), T0)
    now = T0
    for _ in range(3):
        assert len(await store.intake.claim("w", 10, now, LEASE, 3)) == 1
        now += LEASE + timedelta(seconds=1)  # the worker died holding it
    assert await store.intake.claim("w", 10, now, LEASE, 3) == []
    [letter] = await store.intake.dead_letters()
    assert letter.deliveries == 3 and "crash" in (letter.error or "")


async def test_leases_of_dead_owners_are_released(store: Store) -> None:
    await store.intake.append(items("a"), T0)
    await store.intake.claim("host:1:dead", 10, T0, LEASE, 20)
    assert "host:1:dead" in await store.lease_owners()
    assert await store.release_leases(["host:1:dead"]) >= 1
    assert len(await store.intake.claim("w", 10, T0, LEASE, 20)) == 1


# -- retention and status ----------------------------------------------------------------------


async def test_purge_deletes_old_data_everywhere(store: Store) -> None:
    old = T0 - timedelta(days=100)
    incident_id = await opened(store, old, "old")
    await store.outbox.enqueue_page(page(incident_id), old)
    await store.audit.record(old, "thanh", "officer.ack", f"incident:{incident_id}", {})
    await store.intake.append(items("old-event"), old)
    [entry] = await store.intake.claim("w", 1, old, LEASE, 20)
    await store.intake.fail(entry.id, "boom", old, 1)  # a dead letter from back then
    fresh, _ = await store.incidents.record_flagged(record("new", T0))
    counts = await store.purge(
        T0 - timedelta(days=90), T0 - timedelta(days=30), T0 - timedelta(days=2)
    )
    assert counts["flagged_messages"] == 1 and counts["incidents"] == 1
    assert counts["alerts"] == 1 and counts["audit_log"] == 1 and counts["intake"] == 1
    assert await store.incidents.query() == []
    assert await store.intake.dead_letters() == []
    assert (await store.incidents.record_flagged(record("new", T0)))[0] == fresh


async def test_purge_keeps_a_live_incident_whose_first_message_is_old(store: Store) -> None:
    old = T0 - timedelta(days=100)
    incident_id = await opened(store, old, "long-lived")
    recent, _ = await store.incidents.record_flagged(record("recent", T0))
    await store.incidents.add_occurrence(incident_id, recent, "test", "g2", "recent", T0)
    counts = await store.purge(
        T0 - timedelta(days=90), T0 - timedelta(days=30), T0 - timedelta(days=2)
    )
    assert counts["flagged_messages"] == 1 and counts["occurrences"] == 1
    assert counts["incidents"] == 0
    assert [o.chat_id for o in await store.incidents.occurrences(incident_id)] == ["g2"]
    [incident] = await store.incidents.query()
    assert incident.id == incident_id and incident.groups == 1


async def test_status_reports_backlog_without_content(store: Store) -> None:
    incident_id = await opened(store)
    await store.outbox.enqueue_page(page(incident_id), T0)
    await store.intake.append(items("a", "b"), T0)
    status = await store.status(T0)
    assert status.intake_pending == 2 and status.outbox == {"pending": 1}
    assert status.incidents_open == 1 and status.dead_letters == 0
    assert "payload" not in str(status.to_json())
