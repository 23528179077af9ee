"""botkit as `botkit run` builds it, on the zalo_oa adapter alone, against the emulator.

A hoax posted in a GMF group reaches the officer as an OA message with buttons; the officer
acknowledges (a pressed button or a typed command) and gets the alert's new state as a new
message, since OA messages cannot be edited. Then the ways this goes wrong: the same event
posted twice, a store slower than Zalo's deadline, a token that cannot be refreshed, and Zalo
refusing, rate limiting, answering late or dropping the connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from adapters.testing.zalo_oa_api import CS, REFRESH, FakeZaloOA
from tests.adapters.system import HOAX, TEXTS
from tests.adapters.zalo_oa_harness import (
    DUNG,
    GROUP_ID,
    RESIDENT,
    THANH,
    SystemFactory,
    ZaloSystem,
    officers_on_zalo,
    zalo,
    zalo_system,
)

__all__ = ["zalo", "zalo_system"]

RESENT = TEXTS.get("alert.resent")
ACKNOWLEDGED = TEXTS.get("state.acknowledged")
NOT_OFFICER = TEXTS.get("reply.not_officer")


def with_leader(raw: dict[str, Any]) -> None:
    """Cư M'gar's leader, reached on Zalo too, is the chain's next step."""
    raw["officers"].append(
        {"id": "dung", "name": "H'Dung", "unit": "cu-mgar", "contacts": {"zalo_oa": DUNG}}
    )
    raw["units"][0]["leader"] = "dung"


async def post_hoax(s: ZaloSystem) -> None:
    assert await s.zalo.group_says(GROUP_ID, RESIDENT, HOAX) == [200]


@pytest.mark.parametrize("ack_by", ["button", "typed"])
async def test_a_hoax_in_a_gmf_group_is_alerted_acknowledged_and_the_new_state_sent(
    zalo_system: SystemFactory, ack_by: str
) -> None:
    async with zalo_system() as s:
        await post_hoax(s)
        alert, incident = await s.alert(THANH)
        assert f"#{incident}" in alert.text and "Cư M'gar" in alert.text
        assert [b["type"] for b in alert.buttons] == ["oa.query.show"] * len(alert.buttons)

        if ack_by == "button":
            title = next(b["title"] for b in alert.buttons if b["payload"] == f"#ack {incident}")
            assert await s.zalo.press(THANH, alert, title) == [200]
        else:
            assert await s.zalo.user_says(THANH, f"/ack {incident}") == [200]

        new_state, *_ = await s.zalo.wait_until(
            lambda: [m for m in s.alerts(THANH)[1:] if ACKNOWLEDGED in m.text], 20
        )
        assert f"#{incident}" in new_state.text
        assert new_state.message_id != alert.message_id  # a new message, not an edit
        assert f"#ack {incident}" not in [b["payload"] for b in new_state.buttons]
        done = TEXTS.get("reply.done", incident_id=incident, state=ACKNOWLEDGED, officer="Y Thành")
        await s.zalo.wait_until(lambda: [m for m in s.zalo.messages_to(THANH) if m.text == done])

        # Confirmed a hoax (alert+reply): the residents are told in their GMF group.
        confirm = next(b["title"] for b in new_state.buttons if b["payload"].startswith("#conf"))
        assert await s.zalo.press(THANH, new_state, confirm) == [200]
        (correction,) = await s.zalo.wait_until(lambda: s.zalo.group_messages(GROUP_ID), 10)
        before, _, after = TEXTS.get("reply.correction", excerpt="\0").partition("\0")
        assert correction.text.startswith(before) and correction.text.endswith(after)
        assert not correction.buttons


async def test_a_resident_cannot_acknowledge(zalo_system: SystemFactory) -> None:
    async with zalo_system() as s:
        await post_hoax(s)
        _, incident = await s.alert(THANH)
        assert await s.zalo.user_says(RESIDENT, f"#ack {incident}") == [200]
        (answer,) = await s.zalo.wait_until(lambda: s.zalo.messages_to(RESIDENT), 10)
        assert answer.text == NOT_OFFICER
        assert len(s.alerts(THANH)) == 1


async def test_the_same_event_posted_twice_is_processed_once(
    zalo_system: SystemFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with zalo_system() as s:
        intake = s.app.store.intake
        real = intake.append
        added: list[int] = []

        async def append(*args: Any, **kwargs: Any) -> int:
            count = await real(*args, **kwargs)
            added.append(count)
            return count

        monkeypatch.setattr(intake, "append", append)
        event = s.zalo.group_text_event(GROUP_ID, RESIDENT, HOAX)
        assert await s.zalo.post_event(event) == 200
        assert await s.zalo.post_event(event) == 200  # Zalo redelivers
        await s.alert(THANH)
        assert added == [1, 0]  # the second delivery was recognised, not stored
        assert len(s.alerts(THANH)) == 1


async def test_a_store_slower_than_zalos_deadline_gets_the_event_again_and_keeps_it_once(
    zalo_system: SystemFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with zalo_system(webhook_deadline_seconds=0.3) as s:
        intake = s.app.store.intake
        real = intake.append
        release = asyncio.Event()

        async def append(*args: Any, **kwargs: Any) -> int:
            await release.wait()  # a disk stalling longer than Zalo waits
            return await real(*args, **kwargs)

        monkeypatch.setattr(intake, "append", append)
        event = s.zalo.group_text_event(GROUP_ID, RESIDENT, HOAX)
        assert await s.zalo.post_event(event) == 503
        release.set()
        assert await s.zalo.post_event(event) == 200
        await s.alert(THANH)
        assert len(s.alerts(THANH)) == 1


async def test_an_alert_waits_for_a_token_that_cannot_be_refreshed_and_is_sent_once_it_can(
    zalo_system: SystemFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async with zalo_system() as s:
        await s.zalo.wait_until(lambda: s.zalo.refreshes, 10)  # the first token, at start
        s.zalo.expire_access_tokens()
        s.zalo.fail_next(REFRESH, -14014, "Invalid refresh token", times=3)
        with caplog.at_level(logging.WARNING):
            await post_hoax(s)  # received while no message can be sent
            await s.zalo.wait_until(lambda: len(s.zalo.refreshes) >= 4, 20)
            await s.alert(THANH)
        assert len(s.alerts(THANH)) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Zalo refused to refresh the access token" in e for e in errors)
    retries = [r.getMessage() for r in caplog.records if "retrying at" in r.getMessage()]
    assert retries and all("no access token" in r for r in retries)


async def test_an_officer_out_of_zalos_reply_window_is_skipped_for_the_leader_at_once(
    zalo_system: SystemFactory,
) -> None:
    def configure(raw: dict[str, Any]) -> None:
        officers_on_zalo(raw)
        with_leader(raw)

    async with zalo_system(configure) as s:
        s.zalo.close_reply_window(THANH)
        await post_hoax(s)
        escalated, _ = await s.alert(DUNG)  # not 15 minutes later
        assert escalated.text.startswith("⏫")
        rows = [r for r in await s.app.store.outbox.alerts() if r.officer_id == "thanh"]
        assert rows[0].status == "failed" and "-230" in (rows[0].last_error or "")
        assert rows[0].attempts == 1  # not retried: it cannot succeed


@pytest.mark.parametrize("fault", ["rate limit", "slow answer"])
async def test_an_alert_zalo_refuses_for_now_is_retried_and_arrives_once(
    zalo_system: SystemFactory, fault: str
) -> None:
    async with zalo_system(rate_limited_pause_seconds=0.2) as s:
        to_thanh = lambda r: r.params.get("recipient", {}).get("user_id") == THANH  # noqa: E731
        if fault == "rate limit":
            s.zalo.fail_next(CS, -32, "Rate limit", times=2, when=to_thanh)
        else:
            s.zalo.stall_next(CS, 1.5, when=to_thanh)  # past the 1 s send timeout, not sent
        await post_hoax(s)
        message, _ = await s.alert(THANH)
        # A late answer may hide a delivery: the core says so (here the stalled try was
        # never carried out, so the officer holds one alert all the same).
        assert (RESENT in message.text) == (fault == "slow answer")
        assert len(s.alerts(THANH)) == 1
        assert len([r for r in s.zalo.calls_to(CS) if to_thanh(r)]) == 3 - (fault != "rate limit")


async def test_an_alert_sent_without_zalos_answer_is_resent_once_and_says_so(
    zalo_system: SystemFactory,
) -> None:
    async with zalo_system() as s:
        s.zalo.drop_next(CS, when=lambda r: r.params.get("recipient", {}).get("user_id") == THANH)
        await post_hoax(s)
        await s.alert(THANH, skip=1)
        first, second = s.alerts(THANH)
        assert RESENT not in first.text and second.text.startswith(RESENT)


async def test_a_restart_after_a_refresh_uses_the_saved_refresh_token(
    zalo: FakeZaloOA, zalo_system: SystemFactory
) -> None:
    spent = zalo.issue_refresh_token()
    async with zalo_system(refresh_token=spent) as s:
        await s.zalo.wait_until(lambda: s.zalo.refreshes, 10)
    assert spent in zalo.tokens.spent
    zalo.expire_access_tokens()  # the restarted bot must refresh, with the saved token
    async with zalo_system(refresh_token=spent) as s:
        await post_hoax(s)
        await s.alert(THANH)
    assert len(zalo.refreshes) == 2
    assert zalo.refreshes[1].params["refresh_token"] != spent
