"""botkit as `botkit run` builds it, with a console group and a Messenger Page.

A hoax posted in the group (Facebook groups cannot be read by any API, so the group is the
console's) reaches the officer on Messenger; the officer acts with the alert's buttons or a
typed command, and, Messenger being unable to edit, receives the alert's new state as a new
message. Faults of the Send API are retried or passed to the officer's next contact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.testing.messenger_api import FakeMessenger
from adapters.testing.messenger_state import (
    Delivered,
    RecordedRequest,
    rate_limited,
    service_error,
)
from botkit.domain import IncidentState
from botkit.storage.base import StoreUnavailable
from tests.adapters.messenger_harness import (
    RESIDENT,
    THANH,
    MessengerSystem,
    fb,
    messenger_system,
)
from tests.adapters.system import HOAX, HOAX_EA_TUL, TEXTS

__all__ = ["fb", "messenger_system"]  # fixtures

System = Callable[..., Any]
ACK = TEXTS.get("button.ack")
CONFIRM = TEXTS.get("button.confirm")
ACKNOWLEDGED = TEXTS.get("alert.state", state=TEXTS.get("state.acknowledged"))
RESENT = TEXTS.get("alert.resent")
INCIDENTS = TEXTS.get("reply.incidents")


def to_thanh(call: RecordedRequest) -> bool:
    return call.recipient == THANH


def alerts(fb: FakeMessenger, psid: str = THANH) -> list[Delivered]:
    return [d for d in fb.sent_to(psid) if d.actions]


async def state(s: MessengerSystem, incident: int) -> IncidentState:
    detail = await s.app.store.incidents.get(incident)
    assert detail is not None
    return detail.incident.state


async def test_a_group_hoax_reaches_the_officer_on_messenger_who_acknowledges_with_a_button(
    messenger_system: System,
) -> None:
    async with messenger_system() as s:
        s.group(f"Lan: {HOAX}")
        alert, incident = await s.alert()
        assert alert.template is not None  # postback buttons, under the alert for good
        assert alert.actions == [f"ack:{incident}", f"confirm:{incident}", f"false:{incident}"]
        assert f"Vụ #{incident}" in alert.text
        assert (await s.deliver(s.fb.presses(THANH, ACK))).status == 200
        # No edits on Messenger: the new state comes as a new alert, with the next actions.
        updated = await s.fb.next_message(THANH, lambda d: ACKNOWLEDGED in d.text)
        assert updated.actions == [
            f"confirm:{incident}",
            f"false:{incident}",
            f"resolve:{incident}",
        ]
        assert await state(s, incident) is IncidentState.ACKNOWLEDGED
        assert alert.mid != updated.mid and alert.text != updated.text  # the first is untouched
        # A typed command works as well as a button.
        assert (await s.deliver(s.fb.writes(THANH, f"/confirm {incident}"))).status == 200
        await s.fb.next_message(THANH, lambda d: f"resolve:{incident}" in d.actions, skip=1)
        assert await state(s, incident) is IncidentState.CONFIRMED


async def test_an_event_delivered_twice_is_processed_once(messenger_system: System) -> None:
    async with messenger_system() as s:
        s.group(f"Lan: {HOAX}")
        _, incident = await s.alert()
        press = s.fb.presses(THANH, ACK)
        assert (await s.deliver(press)).status == 200
        assert (await s.deliver(press)).status == 200  # Meta delivered it again
        # A later command's answer proves the duplicate had its turn before it.
        assert (await s.deliver(s.fb.writes(THANH, "/incidents"))).status == 200
        await s.fb.next_message(THANH, lambda d: d.text.startswith(INCIDENTS))
        replies = [d.text for d in s.fb.sent_to(THANH) if f"#{incident}" in d.text]
        assert [r for r in replies if r.startswith(f"Vụ #{incident}")] == [
            TEXTS.get(
                "reply.done",
                incident_id=incident,
                state=TEXTS.get("state.acknowledged"),
                officer="Y Thành",
            )
        ]  # one answer, and no "cannot ack" for a second press
        await s.fb.next_message(THANH, lambda d: ACKNOWLEDGED in d.text)  # the new state
        assert len([d for d in s.fb.sent_to(THANH) if ACKNOWLEDGED in d.text]) == 1


async def test_a_residents_private_message_is_a_report_and_is_answered_in_their_chat(
    messenger_system: System,
) -> None:
    async with messenger_system() as s:
        item = s.fb.writes(RESIDENT, HOAX)
        assert (await s.deliver(item)).status == 200
        alert, incident = await s.alert()
        assert f"Vụ #{incident}" in alert.text
        thanks = await s.fb.next_message(RESIDENT)  # told at once that it reached an officer
        assert f"vụ #{incident}" in thanks.text and not thanks.actions
        # Confirmed as a hoax ("alert+reply"): the resident hears back in their conversation.
        assert (await s.deliver(s.fb.presses(THANH, CONFIRM))).status == 200
        correction = await s.fb.next_message(RESIDENT, skip=1)
        assert correction.text.startswith("ℹ️") and not correction.actions
        assert (await s.deliver(item)).status == 200  # Meta delivered it again
        s.group(f"Lan: {HOAX_EA_TUL}")  # a later event: the duplicate had its turn before it
        await s.fb.next_message(THANH, lambda d: "nước máy Ea Tul" in d.text)
        detail = await s.app.store.incidents.get(incident)
        assert detail is not None and detail.incident.occurrences == 1
        assert len(s.fb.sent_to(RESIDENT)) == 2  # the thanks and the correction, once each


async def test_a_failing_send_api_delays_the_alert_and_loses_nothing(
    messenger_system: System,
) -> None:
    async with messenger_system() as s:
        s.fb.fail_next(service_error(), times=2, when=to_thanh)
        s.group(f"Lan: {HOAX}")
        alert, _ = await s.alert()
        assert len(alerts(s.fb)) == 1 and RESENT not in alert.text
        attempts = [c for c in s.fb.requests if c.recipient == THANH]
        assert len(attempts) == 3  # two answered 500, then delivered


async def test_a_rate_limit_is_waited_out(messenger_system: System) -> None:
    async with messenger_system() as s:
        s.fb.fail_next(rate_limited(s.fb.page_id, regain_minutes=0), when=to_thanh)
        s.group(f"Lan: {HOAX}")
        await s.alert()
        first, second = [c for c in s.fb.requests if c.recipient == THANH][:2]
        assert second.at - first.at >= 0.9  # the pause Meta asked for, at least a second


@pytest.mark.parametrize("fault", ["late answer", "dropped connection"])
async def test_a_send_that_may_have_arrived_is_resent_once_and_says_so(
    messenger_system: System, fault: str
) -> None:
    async with messenger_system() as s:
        if fault == "late answer":
            s.fb.stall_next(3, accept_first=True, when=to_thanh)
        else:
            s.fb.drop_next(when=to_thanh)
        s.group(f"Lan: {HOAX}")
        await s.alert(skip=1)
        first, second = alerts(s.fb)
        assert RESENT not in first.text and second.text.startswith(RESENT)


async def test_an_officer_out_of_the_24_hour_window_gets_the_alert_on_the_next_contact(
    messenger_system: System,
) -> None:
    async with messenger_system() as s:
        s.fb.age_window(THANH)  # has not written to the Page for a day
        s.group(f"Lan: {HOAX}")
        printed = await s.printed.wait_for("── tới thanh")
        assert "Vụ #" in printed.split("── tới thanh", 1)[1]
        assert alerts(s.fb) == []
        assert len([c for c in s.fb.requests if c.recipient == THANH]) == 1  # not retried


async def test_a_post_botkit_cannot_store_is_answered_503_until_meta_retries_it_in(
    messenger_system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with messenger_system() as s:
        intake = s.app.store.intake
        real = intake.append
        refusals = 2

        async def append(*args: Any, **kwargs: Any) -> int:
            nonlocal refusals
            if refusals:
                refusals -= 1
                raise StoreUnavailable("botkit.sqlite3: database or disk is full")
            return await real(*args, **kwargs)

        monkeypatch.setattr(intake, "append", append)
        delivery = await s.deliver(s.fb.writes(RESIDENT, HOAX), retries=3)
        assert delivery.status == 200
        assert [d.status for d in s.fb.deliveries] == [503, 503, 200]
        await s.alert()
        assert len(alerts(s.fb)) == 1
