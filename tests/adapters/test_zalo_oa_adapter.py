"""The Zalo OA adapter against the emulator: webhook in, OA messages out, tokens, faults."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from adapters.testing.zalo_oa_api import CS, GROUP, REFRESH, FakeZaloOA
from adapters.zalo_oa import ZaloOAAdapter
from adapters.zalo_oa.tokens import TokenPair
from botkit.adapter import DeliveryError, InboundEvent, IntakeFull, Unsupported
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, DeleteMessage, EditText, SendText
from tests.adapters.telegram_harness import RecordingInbox
from tests.adapters.zalo_oa_harness import (
    GROUP_CHAT,
    GROUP_ID,
    RESIDENT,
    THANH,
    environ,
    make_adapter,
    running,
    zalo,
)

__all__ = ["zalo"]

BUTTONS = (Button("✋ Tiếp nhận", "ack:12"), Button("✅ Xác nhận", "confirm:12"))


@pytest.fixture
def adapter(zalo: FakeZaloOA, tmp_path: Path) -> ZaloOAAdapter:
    return make_adapter(zalo, tmp_path, environ(zalo))


# --------------------------------------------------------------------------- receiving


async def test_users_and_group_members_messages_and_officers_commands_reach_the_core(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter
) -> None:
    inbox = RecordingInbox()
    async with running(zalo, adapter, inbox):
        assert await zalo.group_says(GROUP_ID, RESIDENT, "Tin đồn trong nhóm") == [200]
        assert await zalo.group_says(GROUP_ID, RESIDENT, "Biến thể", "recipient.id") == [200]
        assert await zalo.user_says(RESIDENT, "Nhắn riêng cho OA") == [200]
        assert await zalo.deliver(zalo.image_event(RESIDENT, "Ảnh kèm chú thích")) == [200]
        assert await zalo.deliver(zalo.other_event("follow", RESIDENT)) == [200]
        assert await zalo.user_says(THANH, "/ack 12") == [200]
    messages = inbox.of(Message)
    assert [(m.chat_id, m.text, m.is_caption) for m in messages] == [
        (GROUP_CHAT, "Tin đồn trong nhóm", False),
        (GROUP_CHAT, "Biến thể", False),
        (RESIDENT, "Nhắn riêng cho OA", False),
        (RESIDENT, "Ảnh kèm chú thích", True),
    ]
    assert [m.message_id for m in messages] == [i.msg_id for i in zalo.incoming[:4]]
    (command,) = inbox.of(OfficerCommand)
    assert (command.sender_id, command.command, command.argument) == (THANH, "ack", "12")
    assert command.event_id == zalo.incoming[-1].msg_id
    assert adapter.stats.events == 5


async def test_a_pressed_button_comes_back_as_the_officers_command(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter
) -> None:
    inbox = RecordingInbox()
    async with running(zalo, adapter, inbox):
        await adapter.send(SendText(THANH, "Cảnh báo #12", BUTTONS))
        (alert,) = zalo.messages_to(THANH)
        assert await zalo.press(THANH, alert, "✅ Xác nhận") == [200]
        command = await inbox.wait_for(OfficerCommand)
    assert (command.command, command.argument, command.chat_id) == ("confirm", "12", THANH)


@pytest.mark.parametrize("signature", ["wrong", "none"])
async def test_a_post_without_a_valid_signature_is_refused_and_logged_once_per_source(
    zalo: FakeZaloOA,
    adapter: ZaloOAAdapter,
    signature: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = RecordingInbox()
    async with running(zalo, adapter, inbox):
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                event = zalo.text_event(RESIDENT, "giả mạo")
                assert await zalo.post_event(event, signature=signature) == 401  # type: ignore[arg-type]
        assert await zalo.post_event(zalo.text_event(RESIDENT, "thật"), mac_prefix=True) == 200
    refusals = [r for r in caplog.records if "wrong or missing signature" in r.getMessage()]
    assert len(refusals) == 1 and "127.0.0.1" in refusals[0].getMessage()
    assert [m.text for m in inbox.of(Message)] == ["thật"]
    assert adapter.webhook is not None and adapter.webhook.refused == 3


async def test_malformed_and_oversized_posts_are_refused_and_the_adapter_keeps_serving(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter
) -> None:
    inbox = RecordingInbox()
    async with running(zalo, adapter, inbox):
        broken = zalo.text_event(RESIDENT, "thiếu msg_id")
        del broken["message"]["msg_id"]
        assert await zalo.post_event(broken) == 400
        _, headers = zalo.signed(zalo.text_event(RESIDENT, "x"))
        assert await zalo.post(b"{not json", headers) == 400
        huge = zalo.text_event(RESIDENT, "x" * 300_000)
        assert await zalo.post_event(huge) == 400
        assert await zalo.user_says(RESIDENT, "vẫn nhận") == [200]
    assert [m.text for m in inbox.of(Message)] == ["vẫn nhận"]
    assert adapter.stats.skipped == 1


class SlowInbox(RecordingInbox):
    """Stores nothing until `release` is set, as a stalled disk would; full when told."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.full = False

    async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        if self.full:
            raise IntakeFull("intake full")
        await self.release.wait()
        await super().submit_many(events, wait=wait)


async def test_a_store_slower_than_zalos_deadline_answers_503_and_zalo_posts_again(
    zalo: FakeZaloOA, tmp_path: Path
) -> None:
    adapter = make_adapter(zalo, tmp_path, environ(zalo), webhook_deadline_seconds=0.2)
    inbox = SlowInbox()
    async with running(zalo, adapter, inbox):
        event = zalo.text_event(RESIDENT, "lưu chậm")
        assert await zalo.post_event(event) == 503
        inbox.release.set()
        assert await zalo.post_event(event) == 200  # Zalo's redelivery
        inbox.full = True
        assert await zalo.user_says(RESIDENT, "đầy") == [503] * zalo.max_deliveries
    first, second = inbox.of(Message)
    assert first.key == second.key  # the same event twice: the core keeps one


# --------------------------------------------------------------------------- sending


async def test_texts_go_to_users_with_buttons_and_to_groups_without(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter
) -> None:
    try:
        ref = await adapter.send(SendText(THANH, "Cảnh báo #12", BUTTONS))
        await adapter.send(SendText(GROUP_CHAT, "Thông tin này là sai sự thật.", BUTTONS))
    finally:
        await adapter.close()
    (alert,) = zalo.messages_to(THANH)
    assert ref == alert.message_id
    assert [(b["title"], b["payload"]) for b in alert.buttons] == [
        ("✋ Tiếp nhận", "#ack 12"),
        ("✅ Xác nhận", "#confirm 12"),
    ]
    (reply,) = zalo.group_messages(GROUP_ID)
    assert reply.text.endswith("✋ Tiếp nhận → /ack 12\n✅ Xác nhận → /confirm 12")
    cs = zalo.calls_to(CS)[0]
    assert zalo.tokens.valid(cs.headers["access_token"])
    assert len(zalo.calls_to(GROUP)) == 1


async def test_a_long_text_arrives_in_pieces_of_2000_characters(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter
) -> None:
    text = "\n".join(f"Dòng {i}: " + "ư" * 95 for i in range(50))
    try:
        ref = await adapter.send(SendText(THANH, text, BUTTONS))
    finally:
        await adapter.close()
    pieces = zalo.messages_to(THANH)
    assert len(pieces) == 3 and "".join(p.text for p in pieces) == text
    assert [bool(p.buttons) for p in pieces] == [False, False, True]
    assert ref == pieces[-1].message_id


async def test_zalo_cannot_edit_or_delete(adapter: ZaloOAAdapter) -> None:
    assert adapter.capabilities == frozenset({"send", "photos"})
    with pytest.raises(Unsupported):
        await adapter.send(EditText(THANH, "m1", "mới"))
    with pytest.raises(Unsupported):
        await adapter.send(DeleteMessage(THANH, "m1"))
    with pytest.raises(Unsupported, match="payload"):
        await adapter.send(SendText(THANH, "x", (Button("?", "launch:1"),)))


async def test_zalo_errors_become_delivery_errors(zalo: FakeZaloOA, tmp_path: Path) -> None:
    adapter = make_adapter(
        zalo, tmp_path, environ(zalo), rate_limited_pause_seconds=7, request_timeout_seconds=0.3
    )
    alert = SendText(THANH, "Cảnh báo")

    async def failure() -> DeliveryError:
        with pytest.raises(DeliveryError) as caught:
            await adapter.send(alert)
        return caught.value

    try:
        zalo.fail_next(CS, -32, "Rate limit")
        limited = await failure()
        assert (limited.permanent, limited.retry_after, limited.ambiguous) == (False, 7, False)
        for code in (-211, -305, -311):
            zalo.fail_next(CS, code)
            assert (await failure()).permanent
        zalo.close_reply_window(THANH)
        silent = await failure()
        assert silent.permanent and "-230" in str(silent)
        zalo.users[THANH].window_open = True  # the officer wrote to the OA again
        zalo.fail_next(CS, -1234, "unknown")
        assert not (await failure()).permanent
        zalo.stall_next(CS, 0.5)
        assert (await failure()).ambiguous  # no answer in time: it may have been sent
        zalo.drop_next(CS)
        dropped = await failure()
        assert dropped.ambiguous and not dropped.permanent
        assert len(zalo.dropped) == 1 and len(zalo.messages_to(THANH)) == 1  # it was sent
        assert await adapter.send(alert)  # and all is well again
    finally:
        await adapter.close()


async def test_a_text_failing_halfway_is_retried_as_ambiguous(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter
) -> None:
    text = "\n".join("x" * 1500 for _ in range(2))
    zalo.fail_next(CS, -32, when=lambda r: len(zalo.messages_to(THANH)) == 1)
    try:
        with pytest.raises(DeliveryError) as caught:
            await adapter.send(SendText(THANH, text))
    finally:
        await adapter.close()
    assert caught.value.ambiguous and len(zalo.messages_to(THANH)) == 1


async def test_a_stopped_adapter_still_sends_what_botkit_drains_on_the_way_out(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter
) -> None:
    async with running(zalo, adapter, RecordingInbox()):
        pass
    assert not adapter.listening.is_set()
    try:
        assert await adapter.send(SendText(THANH, "gửi nốt"))
    finally:
        await adapter.close()
    assert [m.text for m in zalo.messages_to(THANH)] == ["gửi nốt"]


# --------------------------------------------------------------------------- tokens


async def test_concurrent_sends_refresh_once_and_save_the_new_pair_first(
    zalo: FakeZaloOA, tmp_path: Path
) -> None:
    env = environ(zalo)
    first_token = env["ZALO_TEST_REFRESH_TOKEN"]
    adapter = make_adapter(zalo, tmp_path, env)
    try:
        await asyncio.gather(*(adapter.send(SendText(THANH, f"#{i}")) for i in range(5)))
        assert len(zalo.refreshes) == 1
        zalo.expire_access_tokens()  # every send now gets -216 once
        await asyncio.gather(*(adapter.send(SendText(THANH, f"#{i}")) for i in range(5)))
    finally:
        await adapter.close()
    assert len(zalo.refreshes) == 2 and len(zalo.messages_to(THANH)) == 10
    refresh = zalo.refreshes[0]
    assert refresh.params == {
        "refresh_token": first_token,
        "app_id": adapter.config.app_id,
        "grant_type": "refresh_token",
    }
    assert refresh.headers["secret_key"] == adapter.config.app_secret
    assert "form-urlencoded" in refresh.headers["content-type"]
    saved = TokenPair.from_json(adapter.config.token_file.read_bytes())
    assert saved.refresh_token in zalo.tokens.refresh_tokens  # the live one, not a spent one
    assert zalo.tokens.valid(saved.access_token or "")
    assert stat.S_IMODE(os.stat(adapter.config.token_file).st_mode) == 0o600


async def test_an_expired_token_is_refreshed_once_and_the_call_retried_once(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter
) -> None:
    try:
        await adapter.send(SendText(THANH, "một"))
        zalo.fail_next(CS, -216, "Access token is invalid")
        await adapter.send(SendText(THANH, "hai"))
        assert len(zalo.refreshes) == 2 and len(zalo.calls_to(CS)) == 3
        zalo.fail_next(CS, -216, times=2)  # a fresh token refused as well: not forever
        with pytest.raises(DeliveryError) as caught:
            await adapter.send(SendText(THANH, "ba"))
    finally:
        await adapter.close()
    assert not caught.value.permanent
    assert "refreshed access token was refused" in str(caught.value)
    assert len(zalo.refreshes) == 3


async def test_tokens_are_refreshed_before_they_expire_even_when_nothing_is_sent(
    tmp_path: Path,
) -> None:
    async with FakeZaloOA(
        app_id="1",
        oa_id="2",
        app_secret="s",
        oa_secret_key="k",
        access_token_lifetime=2,
        expires_in_as_text=False,  # a number, as older guides show it
    ) as zalo:
        zalo.add_user(THANH, "Y Thành")
        env = {
            "ZALO_TEST_OA_SECRET_KEY": "k",
            "ZALO_TEST_APP_SECRET": "s",
            "ZALO_TEST_REFRESH_TOKEN": zalo.issue_refresh_token(),
        }
        adapter = make_adapter(zalo, tmp_path, env, app_id="1", oa_id="2")
        async with running(zalo, adapter, RecordingInbox()):
            # At start, then after half the 2 s lifetime, unasked.
            await zalo.wait_until(lambda: len(zalo.refreshes) >= 2, 10, description="refreshes")
            await adapter.send(SendText(THANH, "vẫn gửi được"))
        assert len(zalo.calls_to(CS)) == 1  # never refused: always refreshed in time


async def test_a_failing_refresh_is_logged_clearly_sends_wait_and_receiving_goes_on(
    zalo: FakeZaloOA, adapter: ZaloOAAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = RecordingInbox()
    zalo.fail_next(REFRESH, -14014, "Invalid refresh token", times=3)
    with caplog.at_level(logging.ERROR, logger="adapters.zalo_oa"):
        async with running(zalo, adapter, inbox):
            await zalo.wait_until(lambda: len(zalo.refreshes) >= 1, 5)
            with pytest.raises(DeliveryError) as caught:
                await adapter.send(SendText(THANH, "Cảnh báo"))
            assert not caught.value.permanent and "-14014" in str(caught.value)
            assert await zalo.user_says(RESIDENT, "vẫn nhận tin") == [200]
            await zalo.wait_until(lambda: len(zalo.refreshes) >= 3, 10)
            await adapter.send(SendText(THANH, "Cảnh báo"))  # the refresh works again
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # the same problem is logged once, not at every try
    assert "Zalo refused to refresh the access token" in errors[0]
    assert "ZALO_TEST_REFRESH_TOKEN" in errors[0]
    assert not any(t in errors[0] for t in zalo.tokens.spent | zalo.tokens.refresh_tokens)
    assert [m.text for m in inbox.of(Message)] == ["vẫn nhận tin"]
    assert len(zalo.messages_to(THANH)) == 1


async def test_a_restart_uses_the_saved_refresh_token_not_the_spent_one(
    zalo: FakeZaloOA, tmp_path: Path
) -> None:
    env = environ(zalo)
    first = make_adapter(zalo, tmp_path, env)
    try:
        await first.send(SendText(THANH, "trước"))
    finally:
        await first.close()
    assert env["ZALO_TEST_REFRESH_TOKEN"] in zalo.tokens.spent
    saved = TokenPair.from_json(first.config.token_file.read_bytes())

    second = make_adapter(zalo, tmp_path, env)  # the variable still holds the spent token
    try:
        await second.send(SendText(THANH, "sau"))
        assert len(zalo.refreshes) == 1  # the saved access token is still good
        zalo.expire_access_tokens()
        await second.send(SendText(THANH, "sau nữa"))
    finally:
        await second.close()
    assert zalo.refreshes[-1].params["refresh_token"] == saved.refresh_token
    assert [m.text for m in zalo.messages_to(THANH)] == ["trước", "sau", "sau nữa"]
