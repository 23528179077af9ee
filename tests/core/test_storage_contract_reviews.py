"""The storage contract for the review queue: flagged messages as reviewers see them, their
labels, and how labels feed the training export. The same suite against every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from botkit.domain import IncidentState
from botkit.sandbox import SANDBOX
from botkit.storage.base import Store
from botkit.storage.records import FlaggedRecord, NewIncident
from tests.storage_backends import BACKENDS, open_backend

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_backend(request.param, tmp_path) as s:
        yield s


def record(key: str, at: datetime = T0, platform: str = "test") -> FlaggedRecord:
    return FlaggedRecord(
        key, platform, "g1", key, "s-hash", "t-hash", f"excerpt {key}", "scam", 0.9, "m1",
        (("cue", "trúng thưởng"),), at,
    )  # fmt: skip


async def flagged_in_incident(
    store: Store, keys: list[str], at: datetime = T0, platform: str = "test"
) -> tuple[int, list[int]]:
    """An incident holding one flagged message per key; (incident id, flagged ids)."""
    ids: list[int] = []
    chain = {"unit": "u1", "steps": [], "repeat": 1, "reminder_hours": 1}
    key = f"content-{keys[0]}"
    new = NewIncident(key, "scam", 24280, "u1", (), at, "excerpt", 0.9, None, chain)
    async with store.transaction() as tx:
        incident = await tx.incidents.open(new)
        for key in keys:
            flagged_id, _ = await tx.incidents.record_flagged(record(key, at, platform))
            await tx.incidents.add_occurrence(incident.id, flagged_id, platform, "g1", key, at)
            ids.append(flagged_id)
    return incident.id, ids


async def test_the_queue_lists_unlabelled_messages_newest_first_without_sandbox_posts(
    store: Store,
) -> None:
    incident_id, (first, second) = await flagged_in_incident(store, ["a", "b"])
    await flagged_in_incident(store, ["demo"], platform=SANDBOX)
    alone, _ = await store.incidents.record_flagged(record("alone", T0 + timedelta(minutes=1)))
    pending = await store.reviews.pending()
    assert [i.id for i in pending] == [alone, second, first]
    item = pending[1]
    assert (item.excerpt, item.category, item.score, item.incident_id) == (
        "excerpt b",
        "scam",
        0.9,
        incident_id,
    )
    assert item.evidence == (("cue", "trúng thưởng"),) and item.received_at == T0
    assert item.label is None and item.platform == "test"
    assert [i.id for i in await store.reviews.pending([incident_id])] == [second, first]
    assert await store.reviews.pending([999]) == []
    assert [i.id for i in await store.reviews.pending(limit=1)] == [alone]


async def test_a_label_takes_a_message_out_of_the_queue_and_can_be_changed(store: Store) -> None:
    incident_id, (first, second) = await flagged_in_incident(store, ["a", "b"])
    assert await store.reviews.label(first, "scam", "web:admin", T0 + timedelta(minutes=1))
    assert await store.reviews.label(second, "normal", "web:thanh", T0 + timedelta(minutes=2))
    assert await store.reviews.pending() == []
    done = await store.reviews.labelled()
    assert [(i.id, i.label, i.reviewer) for i in done] == [
        (second, "normal", "web:thanh"),
        (first, "scam", "web:admin"),
    ]
    assert done[0].labelled_at == T0 + timedelta(minutes=2)
    async with store.transaction() as tx:  # inside a transaction too; the latest label wins
        assert await tx.reviews.label(first, "fake_news", "web:hoa", T0 + timedelta(minutes=3))
    item = await store.reviews.get(first)
    assert item is not None and (item.label, item.reviewer) == ("fake_news", "web:hoa")
    assert [i.id for i in await store.reviews.labelled([incident_id], limit=1)] == [first]
    assert not await store.reviews.label(999, "scam", "web:admin", T0)
    assert await store.reviews.get(999) is None


async def test_a_message_is_found_by_its_key_sandbox_posts_too(store: Store) -> None:
    _, [demo] = await flagged_in_incident(store, ["demo"], platform=SANDBOX)
    found = await store.reviews.find("demo")
    assert found is not None and found.id == demo and found.platform == SANDBOX
    assert await store.reviews.find("missing") is None


async def test_a_reviewers_label_wins_over_the_verdict_in_the_training_export(
    store: Store,
) -> None:
    confirmed, (_, relabelled) = await flagged_in_incident(store, ["a", "b"])
    await store.incidents.transition(
        confirmed, IncidentState.OPENED, IncidentState.CONFIRMED, "thanh", "confirm", T0
    )
    _, [unjudged] = await flagged_in_incident(store, ["c"])
    _, [never] = await flagged_in_incident(store, ["d"])
    demo_incident, [demo] = await flagged_in_incident(store, ["demo"], platform=SANDBOX)
    await store.incidents.transition(
        demo_incident, IncidentState.OPENED, IncidentState.CONFIRMED, "thanh", "confirm", T0
    )
    assert await store.reviews.label(relabelled, "normal", "web:admin", T0)
    assert await store.reviews.label(unjudged, "fake_news", "web:admin", T0)
    assert await store.reviews.label(demo, "scam", "web:admin", T0)
    assert await store.incidents.labelled_verdicts() == [
        ("a", "excerpt a", "scam"),
        ("b", "excerpt b", "normal"),
        ("c", "excerpt c", "fake_news"),
    ]
    assert never not in {i.id for i in await store.reviews.labelled()}


async def test_purge_removes_labels_with_their_messages(store: Store) -> None:
    old = T0 - timedelta(days=100)
    _, [gone] = await flagged_in_incident(store, ["old"], at=old)
    _, [kept] = await flagged_in_incident(store, ["new"])
    assert await store.reviews.label(gone, "scam", "web:admin", old)
    assert await store.reviews.label(kept, "normal", "web:admin", T0)
    counts = await store.purge(
        T0 - timedelta(days=90), T0 - timedelta(days=30), T0 - timedelta(days=2)
    )
    assert counts["review_labels"] == 1 and counts["flagged_messages"] == 1
    assert [i.id for i in await store.reviews.labelled()] == [kept]
    assert await store.reviews.get(gone) is None
    assert await store.incidents.labelled_verdicts() == [("new", "excerpt new", "normal")]
