"""The Zalo Bot adapter against the loopback emulator, without the core: long polling (one
update per call, 408 either way, at-most-once hand-over), webhooks (secret header, bad
posts), sending (split texts, command lines) and Zalo's errors as delivery errors."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import pytest

from adapters.testing import zalo_bot_updates as zu
from adapters.testing.zalo_bot_api import SECRET_HEADER, FakeZaloBotAPI
from adapters.zalo_bot.api import ZaloBotError
from botkit.adapter import DeliveryError, InboundEvent
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, SendText
from tests.adapters.telegram_harness import RecordingInbox
from tests.adapters.zalo_bot_harness import (
    RESIDENT,
    SECRET,
    THANH,
    TOKEN,
    RefusingInbox,
    make_adapter,
    serving,
    webhook_options,
    zalo,
)

__all__ = ["zalo"]  # the fixture

OFFICER = THANH["id"]
ALERT = (Button("✋ Tiếp nhận", "ack:12"), Button("🏁 Xong", "resolve:12"))


async def raw_call(api: FakeZaloBotAPI, method: str, **request: Any) -> tuple[int, Any]:
    url = f"{api.base_url}/bot{api.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, **request) as response:
        return response.status, await response.json()


def arguments(events: Sequence[InboundEvent]) -> list[str | None]:
    """The commands' arguments, in order; anything that is not a command fails the test."""
    assert all(isinstance(e, OfficerCommand) for e in events)
    return [e.argument for e in events if isinstance(e, OfficerCommand)]


# --------------------------------------------------------------------------- the emulator


@pytest.mark.parametrize("empty_poll", ["http", "body"])
async def test_emulator_one_update_per_call_and_408_when_empty(empty_poll: str) -> None:
    async with FakeZaloBotAPI(TOKEN, empty_poll=empty_poll) as api:  # type: ignore[arg-type]
        first, second = zu.text_update(RESIDENT, "một"), zu.text_update(RESIDENT, "hai")
        api.push(first)
        api.push(second)
        assert await raw_call(api, "getUpdates", json={"timeout": "1"}) == (
            200,
            {"ok": True, "result": first},
        )
        assert (await raw_call(api, "getUpdates", json={"timeout": 1}))[1]["result"] == second
        status, body = await raw_call(api, "getUpdates", json={"timeout": "0"})
        assert body == {"ok": False, "error_code": 408, "description": "Request timeout"}
        assert status == (408 if empty_poll == "http" else 200)
        assert api.consumed == [first, second] and not api.pending  # forgotten once returned


async def test_emulator_json_only_webhook_excludes_polling_and_tokens() -> None:
    async with FakeZaloBotAPI(TOKEN) as api, FakeZaloBotAPI(TOKEN, accept_form=True) as lax:
        api.add_user(OFFICER, "Y Thành")
        lax.add_user(OFFICER, "Y Thành")
        form = {"data": {"chat_id": OFFICER, "text": "x"}}
        assert (await raw_call(api, "sendMessage", **form))[1]["error_code"] == 400
        assert (await raw_call(lax, "sendMessage", **form))[1]["ok"] is True
        hook = {"url": "http://127.0.0.1:9/z", "secret_token": SECRET}
        assert (await raw_call(api, "setWebhook", json=hook))[1]["result"]["url"] == hook["url"]
        status, body = await raw_call(api, "getUpdates", json={"timeout": "0"})
        assert (status, body["ok"]) == (409, False)
        await raw_call(api, "deleteWebhook", json={})
        assert (await raw_call(api, "getWebhookInfo"))[1]["result"]["url"] == ""
        short = {"url": "http://127.0.0.1:9/z", "secret_token": "short"}
        assert (await raw_call(api, "setWebhook", json=short))[0] == 400
        async with aiohttp.ClientSession() as session:
            wrong = f"{api.base_url}/bot1:wrong/getMe"
            async with session.post(wrong, json={}) as response:
                assert response.status == 401
            async with session.get(f"{api.base_url}/bot{TOKEN}/getMe") as response:
                assert response.status == 405


# --------------------------------------------------------------------------- polling


@pytest.mark.parametrize("empty_poll", ["http", "body"])
async def test_polling_turns_updates_into_events_and_empty_polls_are_quiet(
    empty_poll: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with FakeZaloBotAPI(TOKEN, empty_poll=empty_poll) as api:  # type: ignore[arg-type]
        inbox = RecordingInbox()
        async with serving(api, inbox):
            await api.wait_for_call("getUpdates")
            await api.wait_until(lambda: len(api.calls_to("getUpdates")) >= 2, 5)  # one empty
            api.push(zu.sticker_update(RESIDENT))
            api.push(zu.text_update(THANH, "/ack 12"))
            api.push(zu.text_update(RESIDENT, "có người lạ hỏi mua chó", with_event_name=False))
            resident = await inbox.wait_for(Message)
            command = await inbox.wait_for(OfficerCommand)
        assert (command.command, command.argument, command.chat_id) == ("ack", "12", OFFICER)
        assert resident.chat_id == RESIDENT["id"]
        assert [c.method for c in api.calls[:2]] == ["getMe", "deleteWebhook"]
        assert all(c.content_type == "application/json" for c in api.calls)
        assert api.calls_to("getUpdates")[0].params == {"timeout": "1"}
    assert caplog.records == []  # empty polls (408 either way) are not failures


async def test_a_webhook_left_set_is_deleted_before_polling(zalo: FakeZaloBotAPI) -> None:
    await raw_call(
        zalo, "setWebhook", json={"url": "http://127.0.0.1:9/old", "secret_token": SECRET}
    )
    inbox = RecordingInbox()
    async with serving(zalo, inbox):
        zalo.push(zu.text_update(THANH, "/oncall"))
        await inbox.wait_for(OfficerCommand)
    assert zalo.webhook is None


async def test_events_zalo_already_delivered_wait_in_memory_while_botkit_refuses(
    zalo: FakeZaloBotAPI,
) -> None:
    inbox = RefusingInbox(refusals=3)
    async with serving(zalo, inbox) as adapter:
        zalo.push(zu.text_update(THANH, "/ack 1"))
        zalo.push(zu.text_update(THANH, "/ack 2"))
        await inbox.wait_refused(2)
        # The first is gone from Zalo and kept by the adapter; the second stays with Zalo.
        assert len(zalo.consumed) == 1 and len(zalo.pending) == 1
        assert arguments(adapter.poller.held) == ["1"]
        await inbox.wait_for(OfficerCommand, lambda e: e.argument == "2")
    assert arguments(inbox.events) == ["1", "2"]
    assert [len(r) for r in inbox.refused] == [1, 1, 1]


async def test_events_held_when_stopping_are_handed_over_by_the_next_run(
    zalo: FakeZaloBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    refusing = RefusingInbox(refusals=1000)
    async with serving(zalo, refusing) as adapter:
        zalo.push(zu.text_update(THANH, "/ack 7"))
        await refusing.wait_refused(2)
    assert "not stored yet" in caplog.text  # said at the stop, as an error
    assert arguments(adapter.poller.held) == ["7"]
    # botkit restarts a failed adapter in the same process: what it holds goes first.
    inbox = RecordingInbox()
    again = make_adapter(zalo)
    again.poller.held = adapter.poller.held
    task = asyncio.create_task(again.run(inbox))
    try:
        command = await inbox.wait_for(OfficerCommand)
    finally:
        await again.close()
        await task
    assert command.argument == "7" and again.poller.held == []


async def test_malformed_polled_updates_are_skipped_with_one_line(
    zalo: FakeZaloBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    inbox = RecordingInbox()
    async with serving(zalo, inbox) as adapter:
        zalo.push({"event_name": "message.text.received", "message": {"text": "no ids"}})
        zalo.push(zu.text_update(THANH, "/ack 4"))
        await inbox.wait_for(OfficerCommand)
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == 1 and adapter.stats.skipped == 1


async def test_a_rejected_token_stops_the_adapter_for_botkit_to_restart(
    zalo: FakeZaloBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = make_adapter(zalo, environ={"ZALO_TOKEN": "1:revoked"})
    with pytest.raises(ZaloBotError) as caught:
        await adapter.run(RecordingInbox())
    await adapter.close()
    assert caught.value.error_code == 401
    assert "1:revoked" not in str(caught.value) and "revoked" not in caplog.text


# --------------------------------------------------------------------------- webhook


async def post_to(adapter_url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    headers = {"Content-Type": "application/json", **(headers or {})}
    async with (
        aiohttp.ClientSession() as session,
        session.post(adapter_url, data=body, headers=headers) as response,
    ):
        return response.status


async def test_webhook_receives_signed_posts_and_refuses_everything_else(
    zalo: FakeZaloBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    options = webhook_options()
    url = options["webhook_url"]
    inbox = RecordingInbox()
    async with serving(zalo, inbox, **options) as adapter:
        (call,) = zalo.calls_to("setWebhook")
        assert call.params == {"url": url, "secret_token": SECRET}
        ack = zu.text_update(THANH, "/ack 12")
        signed = {SECRET_HEADER: SECRET}
        body = json_bytes(ack)
        # forged, unsigned: refused, nothing processed, one log line for the source
        assert await post_to(url, body, {SECRET_HEADER: "wrong-secret"}) == 403
        assert await post_to(url, body) == 403
        # not an update: 400 (not JSON, no message, a list); too large: 400 too
        assert await post_to(url, b"{not json", signed) == 400
        assert await post_to(url, json_bytes({"event_name": "x"}), signed) == 400
        assert await post_to(url, b"[1, 2]", signed) == 400
        assert await post_to(url, b"{" + b" " * 300_000 + b"}", signed) == 400
        # usable JSON carrying nothing for botkit (a sticker): acknowledged
        assert await post_to(url, json_bytes(zu.sticker_update(RESIDENT)), signed) == 200
        assert inbox.events == []
        # still serving: the emulator's own post and a redelivery of it
        event_id = zalo.push(ack)
        await inbox.wait_for(OfficerCommand)
        assert await post_to(url, body, signed) == 200
        await inbox.wait_for(OfficerCommand, lambda e: len(inbox.events) == 2)
    first, again = inbox.of(OfficerCommand)
    assert first == again and first.event_id == event_id  # the core stores it once
    assert [p.status for p in zalo.webhook_posts] == [200]
    refusals = [r for r in caplog.records if "refused a post" in r.getMessage()]
    assert len(refusals) == 1  # once per source address
    assert adapter.webhook is None and adapter.stats.events == 2


async def test_a_webhook_post_botkit_cannot_store_is_answered_503_and_posted_again(
    zalo: FakeZaloBotAPI,
) -> None:
    inbox = RefusingInbox(refusals=2)
    async with serving(zalo, inbox, **webhook_options()):
        zalo.push(zu.text_update(THANH, "/ack 3"))
        await inbox.wait_for(OfficerCommand)
    assert [p.status for p in zalo.webhook_posts] == [503, 503, 200]


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- sending


async def test_send_renders_buttons_as_commands_and_splits_long_texts(
    zalo: FakeZaloBotAPI,
) -> None:
    adapter = make_adapter(zalo)
    text = "\n".join(f"#{i} tin nhắn dài dòng dòng dòng" for i in range(120))  # ~3 900 chars
    try:
        short = await adapter.send(SendText(OFFICER, "🚨 Vụ #12", ALERT, reply_to="m1"))
        long = await adapter.send(SendText(OFFICER, text, ALERT))
    finally:
        await adapter.close()
    first, *pieces = zalo.messages(OFFICER)
    assert first.text == "🚨 Vụ #12\n\n✋ Tiếp nhận → /ack 12\n🏁 Xong → /resolve 12"
    assert short == first.message_id
    assert len(pieces) == 2 and all(len(p.text) <= 2000 for p in pieces)
    assert long == pieces[-1].message_id
    assert pieces[-1].text.endswith("🏁 Xong → /resolve 12")
    assert "\n".join(p.text for p in pieces).startswith(text)


async def test_pieces_of_a_long_text_are_paced_per_chat(zalo: FakeZaloBotAPI) -> None:
    adapter = make_adapter(zalo, rate_chat_per_second=20)
    try:
        await adapter.send(SendText(OFFICER, "x" * 4500))
    finally:
        await adapter.close()
    sends = zalo.calls_to("sendMessage")
    assert len(sends) == 3
    assert all(b.at - a.at >= 0.05 for a, b in itertools.pairwise(sends))


@pytest.mark.parametrize(
    ("fault", "permanent", "ambiguous", "retry_after"),
    [
        ("blocked", True, False, None),
        ("unknown chat", True, False, None),
        ("429", False, False, 7),
        ("500 in the body", False, False, None),
        ("late answer", False, True, None),
        ("dropped", False, True, None),
        ("second piece", False, True, None),
    ],
)
async def test_send_errors_become_delivery_errors(
    zalo: FakeZaloBotAPI,
    fault: str,
    permanent: bool,
    ambiguous: bool,
    retry_after: float | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat, text = OFFICER, "🚨 Vụ #12"
    if fault == "blocked":
        zalo.block(OFFICER)
    elif fault == "unknown chat":
        chat = "ffffffffffffffffffff"
    elif fault == "429":
        zalo.fail_next("sendMessage", 429, retry_after=7)
    elif fault == "500 in the body":
        zalo.fail_next("sendMessage", 500, in_body=True)
    elif fault == "late answer":
        zalo.stall_next("sendMessage", 3, accept_first=True)
    elif fault == "dropped":
        zalo.drop_next("sendMessage")
    else:  # the first of two pieces arrived: a retry repeats it
        text = "y" * 2500
        zalo.fail_next("sendMessage", 500, when=lambda c: len(zalo.delivered) == 1)
    adapter = make_adapter(zalo, request_timeout=1)
    try:
        with pytest.raises(DeliveryError) as caught:
            await adapter.send(SendText(chat, text))
    finally:
        await adapter.close()
    error = caught.value
    assert (error.permanent, error.ambiguous, error.retry_after) == (
        permanent,
        ambiguous,
        retry_after,
    )
    assert TOKEN not in str(error) and TOKEN not in caplog.text
