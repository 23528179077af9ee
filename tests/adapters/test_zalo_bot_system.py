"""botkit as `botkit run` builds it, with residents' groups on Telegram and the officers on
the Zalo Bot Platform: a hoax posted in a Telegram group is paged to the officer's Zalo, the
officer acknowledges by typing `/ack N` to the bot, and gets the updated alert as a new
message (Zalo cannot edit). Driven only through the two emulators; waits are event-driven."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from adapters.testing import zalo_bot_updates as zu
from adapters.testing.zalo_bot_api import SECRET_HEADER
from tests.adapters.system import GROUP, HOAX, TEXTS, post
from tests.adapters.zalo_bot_harness import (
    RESIDENT,
    SECRET,
    THANH,
    IntakeOutage,
    ZaloSystem,
    webhook_options,
    zalo,
    zalo_system,
)

__all__ = ["zalo", "zalo_system"]  # the fixtures

OFFICER = THANH["id"]
ACKNOWLEDGED = TEXTS.get("state.acknowledged")
RESENT = TEXTS.get("alert.resent")


def replies_about(s: ZaloSystem, incident: int) -> list[str]:
    """The core's answers to the officer's commands on the incident."""
    return [t for t in s.zalo.texts(OFFICER) if t.startswith(f"Vụ #{incident}")]


async def settled(s: ZaloSystem) -> None:
    """Everything the officer sent before is handled: a last command's answer came back
    (events are handled in order, and one chat's messages are sent in order)."""
    s.zalo.push(zu.text_update(THANH, "/oncall"))
    await s.zalo.wait_for_message(OFFICER, lambda m: m.text.startswith("Đang trực"), timeout=15)


async def test_hoax_in_a_telegram_group_is_acknowledged_by_typing_to_the_zalo_bot(
    zalo_system: Callable[..., Any],
) -> None:
    async with zalo_system() as s:
        s.telegram.push_update(post(GROUP, HOAX))
        text, incident = await s.alert(OFFICER)
        assert "Tin giả" in text and "Cư M" in text
        assert f"✋ Tiếp nhận → /ack {incident}" in text  # no buttons on Zalo: typed commands
        ack = zu.text_update(THANH, f"/ack {incident}")
        s.zalo.push(ack)
        s.zalo.push(ack)  # the same event delivered again: handled once
        updated = await s.zalo.wait_for_message(
            OFFICER, lambda m: f"Trạng thái: {ACKNOWLEDGED}" in m.text, timeout=15
        )
        assert f"/ack {incident}" not in updated.text  # acknowledged once, not again
        assert f"/resolve {incident}" in updated.text
        await settled(s)
        (reply,) = replies_about(s, incident)
        assert reply == f"Vụ #{incident}: {ACKNOWLEDGED} (bởi Y Thành)."
        assert s.zalo.calls_to("editMessage") == []
        assert await s.app.store.intake.dead_letters() == []


async def test_a_residents_direct_message_reaches_the_core(
    zalo_system: Callable[..., Any],
) -> None:
    async with zalo_system() as s:
        s.zalo.push(zu.text_update(RESIDENT, HOAX))
        text, _ = await s.alert(OFFICER)
        assert "15 ca covid" in text


@pytest.mark.parametrize("fault", ["server errors", "late answer", "dropped connection"])
async def test_an_alert_survives_zalo_failing_or_slow(
    zalo_system: Callable[..., Any], fault: str
) -> None:
    async with zalo_system() as s:
        to_officer = lambda c: c.params.get("chat_id") == OFFICER  # noqa: E731
        if fault == "server errors":
            s.zalo.fail_next("sendMessage", 500, times=2, when=to_officer)
        elif fault == "late answer":  # carried out, but answered after botkit gave up
            s.zalo.stall_next("sendMessage", 4, accept_first=True, when=to_officer)
        else:
            s.zalo.drop_next("sendMessage", when=to_officer)
        s.telegram.push_update(post(GROUP, HOAX))
        if fault == "server errors":
            await s.alert(OFFICER)
            await settled(s)
            assert len(s.zalo.calls_to("sendMessage")) >= 3  # two failed, then delivered
            assert len([t for t in s.zalo.texts(OFFICER) if "/ack " in t]) == 1
            return
        # Zalo cannot be asked whether the first arrived: it is sent again, saying so.
        first, _ = await s.alert(OFFICER)
        second, _ = await s.alert(OFFICER, skip=1)
        assert not first.startswith(RESENT) and second.startswith(RESENT)


async def test_polled_events_botkit_cannot_store_yet_are_kept_and_handled(
    zalo_system: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with zalo_system() as s:
        s.telegram.push_update(post(GROUP, HOAX))
        _, incident = await s.alert(OFFICER)
        outage = IntakeOutage(s.app, monkeypatch, times=3)
        s.zalo.push(zu.text_update(THANH, f"/ack {incident}"))
        await s.zalo.wait_for_message(OFFICER, lambda m: m.text.startswith(f"Vụ #{incident}"))
        assert outage.left == 0
        # fetched from Zalo once (it cannot be fetched again), kept until stored
        assert len([u for u in s.zalo.consumed if "/ack" in u["message"]["text"]]) == 1


async def test_webhook_mode_refuses_forged_posts_and_retries_what_it_cannot_store(
    zalo_system: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    options = webhook_options()
    async with zalo_system(**options) as s:
        await s.zalo.wait_until(lambda: s.zalo.webhook is not None, 15)
        s.telegram.push_update(post(GROUP, HOAX))
        _, incident = await s.alert(OFFICER)
        forged = json.dumps(zu.text_update(THANH, f"/false {incident}")).encode()
        async with aiohttp.ClientSession() as session:
            for headers in ({SECRET_HEADER: SECRET[:-1] + "x"}, {}):
                async with session.post(
                    options["webhook_url"], data=forged, headers=headers
                ) as response:
                    assert response.status == 403
        IntakeOutage(s.app, monkeypatch, times=2)
        event_id = s.zalo.push(zu.text_update(THANH, f"/ack {incident}"))
        await s.zalo.wait_for_message(
            OFFICER, lambda m: f"Trạng thái: {ACKNOWLEDGED}" in m.text, timeout=15
        )
        await settled(s)
        statuses = [p.status for p in s.zalo.webhook_posts if p.event_id == event_id]
        assert statuses == [503, 503, 200]
        # the forged "/false" changed nothing: only the real "/ack" was answered
        assert replies_about(s, incident) == [f"Vụ #{incident}: {ACKNOWLEDGED} (bởi Y Thành)."]
