"""The sender: one page per (incident, officer, step), whatever the platform does."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from botkit.adapter import DeliveryError, Unsupported
from botkit.config import Config
from botkit.domain import IncidentState
from botkit.outbound import Outbound, SendText
from botkit.storage.records import Destination, PageWork, Sent
from tests.conftest import BASE_CONFIG, make_config
from tests.core.harness import Harness


@pytest.fixture
async def h(config: Config, t0: datetime) -> Harness:
    harness = await Harness.create(config, t0)
    yield harness
    await harness.store.close()


def two_contacts() -> Config:
    officers = [dict(o) for o in BASE_CONFIG["officers"]]
    officers[0] = {**officers[0], "contacts": {"test": "u-thanh", "other": "o-thanh"}}
    return make_config(officers=officers)


async def statuses(h: Harness) -> dict[str, str]:
    return {f"{r.officer_id}/{r.kind}{r.step}": r.status for r in await h.store.outbox.alerts()}


async def test_a_429_waits_as_long_as_the_platform_asks_and_sends_once(h: Harness) -> None:
    h.dispatcher.failures = [DeliveryError("flood control", retry_after=30)]
    await h.flag()
    [row] = await h.store.outbox.alerts()
    assert row.status == "retry" and row.ambiguous == 0
    await h.advance(0.4)  # 24 s: the platform said 30
    assert h.pages_to("u-thanh") == 0
    await h.advance(0.2)
    assert h.pages_to("u-thanh") == 1


async def test_stopping_while_waiting_for_room_is_not_an_ambiguous_send(h: Harness) -> None:
    h.dispatcher.no_room = asyncio.Event()  # the platform's rate limit: no room yet
    flagging = asyncio.create_task(h.flag())
    while not h.dispatcher.waiting_for_room:
        await asyncio.sleep(0.01)
    flagging.cancel()  # botkit stops meanwhile
    with pytest.raises(asyncio.CancelledError):
        await flagging
    [row] = await h.store.outbox.alerts()
    assert row.status == "retry" and row.ambiguous == 0  # nothing went out: no "sent again"
    h.dispatcher.no_room = None
    await h.advance(1)
    assert h.pages_to("u-thanh") == 1
    [row] = await h.store.outbox.alerts()
    assert row.status == "sent" and row.ambiguous == 0


async def test_stopping_as_a_send_finishes_records_it_and_sends_nothing_more(h: Harness) -> None:
    """Stopped just as the platform accepts a page: that page is recorded as sent, and the
    lane takes no further work. (Python 3.11's `asyncio.wait_for` dropped a cancellation
    arriving at that moment, and the lane went on through its chat's whole queue, one
    message a second under Telegram's limit, while the process waited to exit.)"""
    real = h.dispatcher.send
    stopping: list[asyncio.Future[None]] = []

    async def send(adapter: str, action: Outbound) -> str | None:
        if not stopping:  # the stop lands as the first send returns
            loop = asyncio.get_running_loop()
            loop.call_soon(lambda: stopping.append(asyncio.ensure_future(h.sender.cancel_lanes())))
        return await real(adapter, action)

    h.dispatcher.send = send  # type: ignore[method-assign]
    for n in range(3):  # three incidents for one officer: three pages to one chat
        await h.flag(f"tin đồn số {n} về dịch bệnh ở thôn 3", deliver=False)
    await h.sender.pump()
    for _ in range(100):
        if stopping and stopping[0].done():
            break
        await asyncio.sleep(0.01)
    assert stopping and stopping[0].done()
    assert h.pages_to("u-thanh") == 1
    rows = sorted(await h.store.outbox.alerts(), key=lambda r: r.id)
    assert [r.status for r in rows] == ["sent", "pending", "pending"]
    assert rows[0].ambiguous == 0  # recorded as it happened: it will not go out again


async def test_a_permanent_failure_tries_the_next_contact(t0: datetime) -> None:
    h = await Harness.create(two_contacts(), t0)
    h.dispatcher.names.add("other")
    h.dispatcher.failures = [DeliveryError("bot was blocked by the user", permanent=True)]
    h.dispatcher.fail_on = "test"
    await h.flag()
    assert [a.chat_id for _, a in h.dispatcher.sent] == ["o-thanh"]
    [row] = await h.store.outbox.alerts()
    assert (row.status, row.platform, row.contact) == ("sent", "other", "o-thanh")
    await h.store.close()


async def test_when_nobody_of_a_step_can_be_reached_the_chain_moves_on_now(h: Harness) -> None:
    h.dispatcher.failures = [DeliveryError("chat not found", permanent=True)]
    await h.flag()
    await h.advance(0)  # no waiting the 15 minutes of step 0
    assert await statuses(h) == {"thanh/alert0": "failed", "dung/escalated1": "sent"}


async def test_a_send_is_given_up_after_the_attempts_allowed(h: Harness) -> None:
    h.dispatcher.fail_next = 100
    await h.flag()
    await h.advance(60)  # backoff 2, 4, 8, … s: eight attempts within the hour
    rows = {r.officer_id: r for r in await h.store.outbox.alerts()}
    assert rows["thanh"].status == "failed" and rows["thanh"].attempts == 8
    assert "gave up after 8 attempts" in (rows["thanh"].last_error or "")


async def test_an_unsupported_action_fails_at_once(h: Harness) -> None:
    h.dispatcher.failures = [Unsupported("cannot send to a channel")]
    await h.flag()
    [row] = [r for r in await h.store.outbox.alerts() if r.officer_id == "thanh"]
    assert row.status == "failed" and row.attempts == 1


async def test_an_escalation_queued_before_an_acknowledgement_is_not_sent(h: Harness) -> None:
    incident_id = await h.flag()
    h.dispatcher.fail_next = 1  # the leader's page waits for a retry …
    await h.advance(15)
    assert (await statuses(h))["dung/escalated1"] == "retry"
    await h.command("u-thanh", "ack", incident_id)  # … and meanwhile Thanh acknowledges
    await h.advance(1)
    assert (await statuses(h))["dung/escalated1"] == "cancelled"
    assert h.pages_to("u-dung") == 0


async def test_one_sender_stalled_past_its_lease_cannot_overwrite_the_next(h: Harness) -> None:
    await h.flag(deliver=False)
    dest = Destination("test", "u-thanh")
    stalled = await h.store.outbox.claim(dest, "w1", h.clock.now(), h.sender.lease, timedelta())
    assert isinstance(stalled, PageWork)
    await h.advance(1)  # the lease runs out; this process's sender takes over and sends
    assert h.pages_to("u-thanh") == 1
    [row] = await h.store.outbox.alerts()
    assert row.ambiguous == 1  # w1 might have sent it: the resend says so
    await h.sender._settle(stalled, Sent("x"))  # w1 wakes up and reports success
    assert h.sender.stats.lost_leases == 1
    [row] = await h.store.outbox.alerts()
    assert row.delivery_ref != "x"


async def test_held_alerts_survive_a_restart_and_arrive_as_one_digest(
    config: Config, t0: datetime, tmp_path: Path
) -> None:
    path = str(tmp_path / "db.sqlite3")
    h = await Harness.create(config, t0, path)
    for i in range(9):
        await h.flag(text=f"tin giả số {i}", content_key=f"k{i}")
    assert h.pages_to("u-thanh") == 6
    await h.store.close()  # stopped (or killed) with three alerts held
    again = await Harness.create(config, t0 + timedelta(minutes=2), path)
    await again.deliver()
    [digest] = again.dispatcher.to("u-thanh")
    assert isinstance(digest, SendText) and "3 cảnh báo" in digest.text
    await again.store.close()


async def test_stopping_sends_held_alerts_at_once_as_a_digest(h: Harness) -> None:
    for i in range(8):
        await h.flag(text=f"tin giả số {i}", content_key=f"k{i}")
    assert h.pages_to("u-thanh") == 6
    h.sender.flushing = True
    assert await h.sender.drain(5)
    digest = [a for a in h.dispatcher.to("u-thanh") if isinstance(a, SendText) and "📋" in a.text]
    assert len(digest) == 1 and "2 cảnh báo" in digest[0].text


async def test_lanes_send_to_different_chats_at_once(h: Harness) -> None:
    """A chat whose sends hang does not hold back another chat's (one lane per chat)."""
    gate = asyncio.Event()
    real = h.dispatcher.send

    async def send(adapter: str, action: object) -> str | None:
        if getattr(action, "chat_id", None) == "u-thanh":
            await gate.wait()
        return await real(adapter, action)  # type: ignore[arg-type]

    h.dispatcher.send = send  # type: ignore[method-assign]
    await h.flag(deliver=False)
    await h.flag(
        "trộm bò ở thôn 2",
        chat="g-quang-phu",
        category="crime_report",
        jurisdiction=24259,
        deliver=False,
    )
    await h.sender.pump()
    for _ in range(50):
        if h.pages_to("u-hoa"):
            break
        await asyncio.sleep(0.01)
    assert h.pages_to("u-hoa") == 1 and h.pages_to("u-thanh") == 0
    gate.set()
    assert await h.sender.drain(5)
    assert h.pages_to("u-thanh") == 1


async def test_a_resolved_incident_pages_nobody(h: Harness) -> None:
    incident_id = await h.flag(deliver=False)
    async with h.store.transaction() as tx:
        for a, b in ((IncidentState.OPENED, IncidentState.ACKNOWLEDGED),
                     (IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED)):  # fmt: skip
            await tx.incidents.transition(incident_id, a, b, "thanh", "x", h.clock.now())
    await h.deliver()
    assert h.pages_to("u-thanh") == 0
    assert (await statuses(h))["thanh/alert0"] == "cancelled"


async def test_two_processes_on_one_database_send_each_page_once(
    config: Config, t0: datetime, tmp_path: Path
) -> None:
    path = str(tmp_path / "db.sqlite3")
    one = await Harness.create(config, t0, path, owner="host:1:a")
    two = await Harness.create(config, t0, path, owner="host:2:b")
    for i in range(5):
        await one.flag(text=f"tin giả số {i}", content_key=f"k{i}", deliver=False)
    await asyncio.gather(one.sender.pump(), two.sender.pump())
    await asyncio.gather(one.sender.drain(10), two.sender.drain(10))
    assert one.pages_to("u-thanh") + two.pages_to("u-thanh") == 5
    rows = await one.store.outbox.alerts()
    assert {r.status for r in rows} == {"sent"} and {r.ambiguous for r in rows} == {0}
    await one.store.close()
    await two.store.close()


async def test_an_alert_that_waits_is_said_with_why_and_until_when(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="botkit.delivery.sender")
    h.dispatcher.fail_next = 1  # the platform drops the first try
    await h.flag(text="tin giả số 0", content_key="k0")
    said = [r.getMessage() for r in caplog.records]
    assert any("alert 1 not sent yet, retrying at" in m for m in said), said
    for i in range(1, 8):
        await h.flag(text=f"tin giả số {i}", content_key=f"k{i}")
    held = [r.getMessage() for r in caplog.records if "held until" in r.getMessage()]
    assert held and "to thanh held until" in held[0] and "at most 6 alerts a minute" in held[0]
