"""The Messenger adapter against the emulator: Meta's posts in, Send API calls out, Graph
errors mapped, and the webhook's answers to bad input."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

import aiohttp
import pytest

from adapters.kit.webhook import MAX_BODY
from adapters.messenger import MessengerAdapter
from adapters.testing import messenger_events as ev
from adapters.testing.messenger_api import FakeMessenger
from adapters.testing.messenger_state import (
    RecordedRequest,
    rate_limited,
    service_error,
)
from botkit.adapter import DeliveryError, InboundEvent, IntakeFull, Unsupported
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, DeleteMessage, EditText, SendText
from botkit.pacing import Rate
from botkit.registry import adapter_class
from tests.adapters.messenger_harness import (
    ENV,
    PAGE_ID,
    RESIDENT,
    THANH,
    VERIFY_TOKEN,
    BatchInbox,
    callback_url,
    fb,
    make_adapter,
    running,
)

__all__ = ["fb"]  # the fixture

ALERT = SendText(
    THANH,
    "🚨 Vụ #12 · fake_news · Tin giả · điểm 0.91\nLệnh: /ack 12 · /confirm 12 · /false 12",
    (
        Button("✋ Tiếp nhận", "ack:12"),
        Button("✅ Xác nhận", "confirm:12"),
        Button("❌ Báo nhầm", "false:12"),
    ),
)


# --------------------------------------------------------------------------- receiving


async def test_the_handshake_answers_the_challenge_and_refuses_a_wrong_token(
    fb: FakeMessenger, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(fb) as (adapter, _, _):
        url = callback_url(adapter)
        assert await fb.handshake(url, challenge="4242") == (200, "4242")
        with caplog.at_level(logging.WARNING):
            assert (await fb.handshake(url, verify_token="guess"))[0] == 403
            assert (await fb.handshake(url, verify_token="guess again"))[0] == 403
        assert (await fb.handshake(url, mode="unsubscribe"))[0] == 403
        assert VERIFY_TOKEN not in caplog.text
        refusals = [r for r in caplog.records if "wrong token" in r.getMessage()]
        assert len(refusals) == 1  # logged once per source address


async def test_a_batched_post_is_handed_over_in_one_go_before_the_200(fb: FakeMessenger) -> None:
    officer_two = fb.add_person("24000000000000556", "Lê Thị Hoa")
    async with running(fb) as (adapter, inbox, _):
        items = [
            fb.writes(RESIDENT, "Cảnh báo: có kẻ giả công an gọi điện đòi chuyển tiền"),
            fb.writes(THANH, "/ack 12"),
            fb.sends_photo(RESIDENT),
            fb.writes(officer_two, "/incidents"),
            *fb.receipts(THANH),
        ]
        delivery = await fb.deliver(*items, per_entry=2)
        assert delivery.status == 200
        assert len(inbox.batches) == 1  # every entry's events in one hand-over
        (batch,) = inbox.batches
        kinds = [type(e).__name__ for e in batch]
        assert kinds == ["Message", "OfficerCommand", "Message", "OfficerCommand"]
        message, ack, photo, incidents = batch
        assert isinstance(message, Message) and message.chat_id == RESIDENT
        assert message.message_id == items[0]["message"]["mid"]
        assert isinstance(ack, OfficerCommand) and (ack.command, ack.argument) == ("ack", "12")
        assert isinstance(photo, Message) and photo.message_id == items[2]["message"]["mid"]
        assert photo.photo_ref is not None and photo.text == ""
        assert isinstance(incidents, OfficerCommand) and incidents.sender_id == officer_two
        assert adapter.stats.events == 4 and adapter.stats.updates == len(items)


@pytest.mark.parametrize("escape", [True, False], ids=["meta-escaped", "plain-utf8"])
async def test_both_json_spellings_of_a_body_are_verified_and_read(
    fb: FakeMessenger, escape: bool
) -> None:
    fb.escape_unicode = escape
    text = "Xe máy bị trộm ở thôn 5/ buôn Ea Kmar, ai thấy báo công an"
    async with running(fb) as (_, inbox, _):
        delivery = await fb.deliver(fb.writes(RESIDENT, text))
        assert delivery.status == 200
        assert (b"\\u" in delivery.body) is escape
        event = await inbox.wait_for(Message)
        assert event.text == text


async def test_quick_replies_and_postback_buttons_come_back_as_officer_commands(
    fb: FakeMessenger,
) -> None:
    async with running(fb) as (adapter, inbox, _):
        await adapter.send(ALERT)
        press = fb.presses(THANH, "✅ Xác nhận")
        await adapter.send(
            SendText(THANH, "Chọn vụ", tuple(Button(f"#{i}", f"ack:{i}") for i in range(5)))
        )
        tap = fb.taps(THANH, "#3")
        assert (await fb.deliver(press, tap)).status == 200
        await inbox.wait_for(OfficerCommand, lambda e: len(inbox.of(OfficerCommand)) == 2)
        first, second = inbox.of(OfficerCommand)
        assert (first.command, first.argument, first.chat_id) == ("confirm", "12", THANH)
        assert (second.command, second.argument, second.event_id) == (
            "ack",
            "3",
            tap["message"]["mid"],
        )


async def test_wrong_or_missing_signatures_are_refused_and_nothing_is_processed(
    fb: FakeMessenger, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(fb) as (adapter, inbox, _):
        raw = ev.encode(ev.page_body(PAGE_ID, [fb.writes(RESIDENT, "tin giả")], 1))
        forged = ev.sign("not-the-app-secret", raw)
        with caplog.at_level(logging.WARNING):
            assert (await fb.post(raw, headers=forged)).status == 403
            assert (await fb.post(raw, signed=False)).status == 403
            legacy = {
                ev.LEGACY_SIGNATURE_HEADER: ev.sign(fb.app_secret, raw)[ev.LEGACY_SIGNATURE_HEADER]
            }
            assert (await fb.post(raw, signed=False, headers=legacy)).status == 403
        assert inbox.batches == [] and adapter.stats.updates == 0
        refusals = [r for r in caplog.records if "signature" in r.getMessage()]
        assert len(refusals) == 1  # once per source, not once per post
        assert adapter.webhook is not None and adapter.webhook.refused == 3
        assert (await fb.post(raw)).status == 200  # the genuine post still goes through
        await inbox.wait_for(Message)


async def test_malformed_or_oversized_posts_are_refused_and_the_adapter_keeps_serving(
    fb: FakeMessenger,
) -> None:
    async with running(fb) as (adapter, inbox, _):
        assert (await fb.post(b"{not json")).status == 400
        assert (await fb.post(ev.encode({"object": "page"}))).status == 400
        assert (await fb.post(ev.encode([1, 2]))).status == 400
        huge = ev.encode({"object": "page", "entry": [], "pad": "x" * MAX_BODY})
        assert (await fb.post(huge)).status == 400
        # JSON but unusable: acknowledged, so that Meta does not hold the posts behind it.
        broken = {"sender": {"id": RESIDENT}, "message": {"text": "không có giờ"}}
        assert (await fb.deliver(broken)).status == 200
        assert adapter.stats.skipped == 1
        assert inbox.batches == []
        assert (await fb.deliver(fb.writes(RESIDENT, "vẫn nghe"))).status == 200
        assert (await inbox.wait_for(Message)).text == "vẫn nghe"


async def test_a_post_botkit_cannot_store_is_answered_503_and_taken_when_meta_retries(
    fb: FakeMessenger,
) -> None:
    refusals = 2

    class FullInbox(BatchInbox):
        async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
            nonlocal refusals
            assert wait is False  # a webhook never waits for room: Meta retries instead
            if refusals:
                refusals -= 1
                raise IntakeFull("10000 events wait already")
            await super().submit_many(events, wait=wait)

    async with running(fb, inbox=FullInbox()) as (_, inbox, _):
        item = fb.writes(RESIDENT, "có cháy ở chợ Ea Tul")
        delivery = await fb.deliver(item, retries=3)
        assert [d.status for d in fb.deliveries] == [503, 503, 200]
        assert delivery.status == 200
        assert [len(b) for b in inbox.batches] == [1]


# --------------------------------------------------------------------------- sending


async def test_an_alert_is_delivered_as_a_button_template_and_returns_its_mid(
    fb: FakeMessenger,
) -> None:
    fb.require_proof = True  # an app set to "Require App Secret"
    adapter = make_adapter(fb)
    ref = await adapter.send(ALERT)
    (delivered,) = fb.sent_to(THANH)
    assert ref == delivered.mid
    assert delivered.text == ALERT.text
    assert delivered.buttons == [(b.label, b.action) for b in ALERT.buttons]
    (call,) = fb.requests
    assert call.path == f"/v25.0/{PAGE_ID}/messages"
    assert call.body["messaging_type"] == "RESPONSE" and "appsecret_proof" in call.query
    long = SendText(RESIDENT, "\n".join(f"Dòng {i}: " + "z" * 80 for i in range(60)))
    await adapter.send(long)
    pieces = fb.sent_to(RESIDENT)
    assert len(pieces) == 3 and "\n".join(p.text for p in pieces) == long.text
    await adapter.close()


async def test_messenger_can_neither_edit_nor_delete(fb: FakeMessenger) -> None:
    adapter = make_adapter(fb)
    assert adapter.capabilities == frozenset({"send", "photos"})
    with pytest.raises(Unsupported):
        await adapter.send(EditText(THANH, "m_1", "đã sửa"))
    with pytest.raises(Unsupported):
        await adapter.send(DeleteMessage(THANH, "m_1"))
    assert fb.requests == []
    assert adapter.send_limits(ALERT) == (Rate(f"messenger:{PAGE_ID}", 300, 1.0),)


async def test_graph_errors_become_delivery_errors(fb: FakeMessenger) -> None:
    adapter = make_adapter(fb)
    blocked = fb.add_person("24000000000000777", "Đã chặn")
    fb.block(blocked)
    fb.age_window(RESIDENT)
    cases = [
        (RESIDENT, "24 hours"),  # 10/2018278: outside the window
        (blocked, "cannot be reached"),  # 551
        ("24000000000000999", "No matching user"),  # 100/2018001
    ]
    for psid, words in cases:
        with pytest.raises(DeliveryError, match=words) as caught:
            await adapter.send(SendText(psid, "Cảnh báo"))
        assert caught.value.permanent and not caught.value.ambiguous
    fb.fail_next(rate_limited(PAGE_ID, regain_minutes=2))
    with pytest.raises(DeliveryError) as limited:
        await adapter.send(ALERT)
    assert (limited.value.retry_after, limited.value.permanent) == (120.0, False)
    fb.fail_next(service_error())
    with pytest.raises(DeliveryError) as down:
        await adapter.send(ALERT)
    assert not (down.value.permanent or down.value.ambiguous or down.value.retry_after)
    assert fb.sent == []
    await adapter.close()


async def test_a_refused_page_token_names_its_variable_at_start_and_on_every_send(
    fb: FakeMessenger, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = make_adapter(fb, env={**ENV, "FB_PAGE_TOKEN": "EAAexpired"})
    with caplog.at_level(logging.ERROR):
        async with running(fb, adapter):
            await fb.wait_until(lambda: any(c.path.endswith("/me") for c in fb.requests))
            with pytest.raises(DeliveryError) as caught:
                await adapter.send(ALERT)
    assert caught.value.permanent
    assert "FB_PAGE_TOKEN" in str(caught.value) and "code 190" in str(caught.value)
    assert "EAAexpired" not in caplog.text + str(caught.value)
    startup = [r for r in caplog.records if "cannot check the Page token" in r.getMessage()]
    assert len(startup) == 1 and "FB_PAGE_TOKEN" in startup[0].getMessage()


async def test_stopping_during_the_start_up_check_is_clean_and_sending_still_works(
    fb: FakeMessenger,
) -> None:
    fb.stall_next(30, when=lambda call: call.path.endswith("/me"))
    async with running(fb) as (adapter, _, task):
        await fb.wait_until(lambda: any(c.path.endswith("/me") for c in fb.requests))
    assert task.done() and task.exception() is None  # the slow check did not hold it up
    # The core's sender may still deliver what is due after the adapter was closed.
    assert await adapter.send(ALERT) == fb.sent_to(THANH)[-1].mid
    await adapter.close()


@pytest.mark.parametrize("fault", ["stalled", "late answer", "dropped"])
async def test_no_answer_is_an_ambiguous_failure(fb: FakeMessenger, fault: str) -> None:
    adapter = make_adapter(fb, request_timeout_seconds=0.5)
    if fault == "dropped":
        fb.drop_next()
    else:
        fb.stall_next(3, accept_first=fault == "late answer")
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(ALERT)
    assert caught.value.ambiguous and not caught.value.permanent
    # Only a late answer or a drop means the officer holds the alert; the client cannot know.
    assert len(fb.sent_to(THANH)) == (0 if fault == "stalled" else 1)
    assert len(fb.dropped) == (fault == "dropped")
    await adapter.close()


async def test_a_failure_after_the_first_piece_is_ambiguous(fb: FakeMessenger) -> None:
    adapter = make_adapter(fb)
    second: list[RecordedRequest] = []

    def later(call: RecordedRequest) -> bool:
        second.append(call)
        return len(second) == 2

    fb.fail_next(service_error(), when=later)
    text = "\n".join(f"Dòng {i}: " + "z" * 80 for i in range(30))
    with pytest.raises(DeliveryError, match="after 1 of 2 pieces") as caught:
        await adapter.send(SendText(THANH, text))
    assert caught.value.ambiguous and not caught.value.permanent
    assert len(fb.sent_to(THANH)) == 1
    await adapter.close()


async def test_an_unreachable_graph_api_is_a_plain_retry(fb: FakeMessenger) -> None:
    adapter = make_adapter(fb)
    await fb.close()  # nothing listens there any more
    with pytest.raises(DeliveryError, match="cannot connect") as caught:
        await adapter.send(ALERT)
    assert not (caught.value.ambiguous or caught.value.permanent)
    assert "EAAtest" not in str(caught.value)
    await adapter.close()


def test_the_adapter_is_registered_by_name() -> None:
    assert adapter_class("messenger") is MessengerAdapter


async def test_a_hand_over_slower_than_the_deadline_is_answered_503_and_redelivered_alike(
    fb: FakeMessenger,
) -> None:
    release = asyncio.Event()

    class SlowInbox(BatchInbox):
        async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
            if not self.batches:
                self.batches.append([])  # the first hand-over waits for the test
                await release.wait()
            await super().submit_many(events, wait=wait)

    adapter = make_adapter(fb, webhook_deadline_seconds=0.5)
    async with running(fb, adapter, SlowInbox()) as (_, inbox, _):
        item = fb.writes(RESIDENT, "cháy rừng ở buôn Ea Kmar")
        assert (await fb.deliver(item)).status == 503  # Meta will post it again
        release.set()  # the first hand-over still completes
        assert (await fb.deliver(item)).status == 200
        await inbox.wait_for(Message, lambda e: len(inbox.of(Message)) == 2)
        first, second = inbox.of(Message)
        assert first.key == second.key  # the same identity: the core keeps one


async def test_the_emulator_speaks_graph_to_any_client(fb: FakeMessenger) -> None:
    """Both body encodings, the token in a header, and Meta's error shape."""
    url = f"{fb.base_url}/v25.0/me/messages"
    message = {"recipient": {"id": THANH}, "messaging_type": "UPDATE"}
    async with aiohttp.ClientSession() as http:
        form = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in message.items()}
        form["message"] = json.dumps({"text": "form"})
        bearer = {"Authorization": f"Bearer {fb.page_token}"}
        async with http.post(url, data=form, headers=bearer) as answer:
            assert answer.status == 200
            assert (await answer.json())["recipient_id"] == THANH
        body = {**message, "message": {"text": "json"}, "access_token": fb.page_token}
        async with http.post(url, json=body, params={"appsecret_proof": "0" * 64}) as answer:
            error = (await answer.json())["error"]
            assert (answer.status, error["code"], error["type"]) == (400, 100, "OAuthException")
            assert "appsecret_proof" in error["message"] and error["fbtrace_id"]
        async with http.post(url, json={**message, "message": {"text": "x"}}) as answer:
            assert (answer.status, (await answer.json())["error"]["code"]) == (400, 190)
        too_long = {**body, "message": {"text": "x" * 2001}}
        async with http.post(url, json=too_long) as answer:
            assert (await answer.json())["error"]["code"] == 100
    assert [d.text for d in fb.sent_to(THANH)] == ["form"]
