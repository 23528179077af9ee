"""Both Telegram adapters against the Bot API emulator, without the core.

Sending, editing, deleting, flood control, migration, the update loop, webhooks, button
answers and embedding into a host's python-telegram-bot Application or aiogram Dispatcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import telegram
from aiogram import Bot as AioBot
from aiogram import Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery
from aiogram.types import Message as AioMessage
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

from adapters.kit.text import utf16_len
from adapters.telegram import embed as ptb_embed
from adapters.telegram_aiogram import embed as aio_embed
from adapters.telegram_common.common import SETUP_ADMIN_ONLY, TelegramConfigError
from adapters.testing import SECRET_TOKEN_HEADER, FakeBotAPI
from adapters.testing import telegram_updates as tu
from botkit.adapter import DeliveryError, GroupMigrated, Unsupported
from botkit.config import AdapterSettings
from botkit.dispatch import AdapterDispatcher
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, DeleteMessage, EditText, SendText
from tests.adapters.telegram_harness import (
    ADAPTERS,
    BOT,
    REFUSED_STATUS,
    SECRET,
    TOKEN,
    AdapterClass,
    RecordingInbox,
    adapter_settings,
    make_adapter,
    running,
    wait_polling,
    webhook_options,
)

GROUP = tu.supergroup_chat(-1001000000001, "Thôn 3 Cư M'gar")
BASIC = tu.group_chat(-4000000001, "Tổ 5")
ADMIN = tu.user(7, "Trần Thị Bình")
RESIDENT = tu.user(42, "Nguyễn Văn An")
OFFICER = tu.user(555, "Y Thành")
BUTTONS = (
    Button("✋ Tiếp nhận", "ack:12"),
    Button("✅ Xác nhận", "confirm:12"),
    Button("❌ Báo nhầm", "false:12"),
    Button("🏁 Xong", "resolve:12"),
)
# No per-chat pacing where the test is not about it.
FAST: dict[str, Any] = {"rate_chat_per_second": 0}


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(bot_token=TOKEN, bot_username="botkit_test_bot") as fake:
        fake.add_chat(GROUP, bot_member="administrator", members=[tu.member_owner(ADMIN)])
        fake.add_chat(tu.private_chat(OFFICER))
        yield fake


# --------------------------------------------------------------------------- sending


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_send_works_before_run(cls: AdapterClass, api: FakeBotAPI) -> None:
    adapter = make_adapter(cls, api, **FAST)
    try:
        ref = await adapter.send(SendText("555", "🚨 Vụ #12 https://scam.example", BUTTONS))
    finally:
        await adapter.close()
    (sent,) = api.sent_messages(555)
    assert ref == str(sent["message_id"])
    assert sent["text"] == "🚨 Vụ #12 https://scam.example"
    rows = sent["reply_markup"]["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in rows] == [
        ["ack:12", "confirm:12"],
        ["false:12", "resolve:12"],
    ]
    call = api.calls_to("sendMessage")[0]
    assert call.params["link_preview_options"] == {"is_disabled": True}


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_worker_prepares_sending_at_start(
    cls: AdapterClass, api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """The token is checked and the session opened before the first alert, not during it;
    a platform that refuses then is a warning, and the first send tries again."""
    adapter = make_adapter(cls, api, **FAST)
    try:
        api.fail_next("getMe", 502, "Bad Gateway")
        await AdapterDispatcher({"tg": adapter}).prepare()  # does not raise
        assert "adapters.tg: not ready to send yet" in caplog.text
        await AdapterDispatcher({"tg": adapter}).prepare()
        calls = [c.method for c in api.calls]
        assert calls == ["getMe", "getMe"]
        await adapter.send(SendText("555", "Vụ #12"))
        assert [c.method for c in api.calls] == ["getMe", "getMe", "sendMessage"]
    finally:
        await adapter.close()


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_long_text_is_split_and_the_last_piece_carries_the_buttons(
    cls: AdapterClass, api: FakeBotAPI
) -> None:
    adapter = make_adapter(cls, api, **FAST)
    text = "\n".join(f"#{i} tin nhắn dài dòng dòng dòng" for i in range(300))  # ~9 600 chars
    try:
        ref = await adapter.send(SendText("555", text, BUTTONS[:1]))
    finally:
        await adapter.close()
    sent = api.sent_messages(555)
    assert len(sent) == 3
    assert all(utf16_len(m["text"]) <= 4096 for m in sent)
    # cut at line ends (Telegram trims the newline that ends a piece)
    assert "\n".join(m["text"] for m in sent) == text
    assert ref == str(sent[-1]["message_id"])
    assert [("reply_markup" in m) for m in sent] == [False, False, True]


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_edit_in_place(cls: AdapterClass, api: FakeBotAPI) -> None:
    adapter = make_adapter(cls, api, **FAST)
    try:
        ref = await adapter.send(SendText("555", "Vụ #12: Mới", BUTTONS))
        assert ref is not None
        assert await adapter.send(EditText("555", ref, "Vụ #12: Đã tiếp nhận", BUTTONS[1:])) == ref
        # the same content again is "message is not modified": success, not an error
        assert await adapter.send(EditText("555", ref, "Vụ #12: Đã tiếp nhận", BUTTONS[1:])) == ref
        await adapter.send(EditText("555", ref, "Vụ #12: Đã xử lý xong", ()))
    finally:
        await adapter.close()
    (message,) = api.sent_messages(555)
    assert message["text"] == "Vụ #12: Đã xử lý xong"
    assert "reply_markup" not in message  # a closed alert has no buttons


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_delete(cls: AdapterClass, api: FakeBotAPI) -> None:
    hoax = tu.text_message(GROUP, RESIDENT, "tin giả", message_id=77)
    api.push_update(tu.message_update(hoax))
    adapter = make_adapter(cls, api, **FAST)
    try:
        await adapter.send(DeleteMessage(str(GROUP["id"]), "77"))
        await adapter.send(DeleteMessage(str(GROUP["id"]), "77"))  # already gone: fine
    finally:
        await adapter.close()
    assert [m["message_id"] for m in api.deleted_messages(GROUP["id"])] == [77]


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_delete_without_rights_is_a_delivery_error(
    cls: AdapterClass, api: FakeBotAPI
) -> None:
    api.add_chat(BASIC, bot_member="member")
    api.push_update(tu.message_update(tu.text_message(BASIC, RESIDENT, "x", message_id=5)))
    adapter = make_adapter(cls, api, **FAST)
    try:
        with pytest.raises(DeliveryError, match="can't be deleted"):
            await adapter.send(DeleteMessage(str(BASIC["id"]), "5"))
    finally:
        await adapter.close()


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_send_follows_a_migrated_group(cls: AdapterClass, api: FakeBotAPI) -> None:
    api.add_chat(BASIC, bot_member="member")
    api.migrate_chat(BASIC["id"], -1009000000001)
    adapter = make_adapter(cls, api, **FAST)
    inbox = RecordingInbox()
    async with running(adapter, inbox):
        await wait_polling(api)
        ref = await adapter.send(SendText(str(BASIC["id"]), "Cảnh báo"))
        again = await adapter.send(SendText(str(BASIC["id"]), "Lần hai"))
        moved = await inbox.wait_for(GroupMigrated)
    assert moved == GroupMigrated("tg", str(BASIC["id"]), "-1009000000001")
    assert [m["text"] for m in api.sent_messages(-1009000000001)] == ["Cảnh báo", "Lần hai"]
    assert ref is not None and again is not None
    # the second send went straight to the supergroup
    assert [c.params["chat_id"] for c in api.calls_to("sendMessage")] == [
        BASIC["id"],
        -1009000000001,
        -1009000000001,
    ]


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_migration_seen_in_updates_is_reported_once(
    cls: AdapterClass, api: FakeBotAPI
) -> None:
    api.add_chat(BASIC, bot_member="member")
    adapter = make_adapter(cls, api, **FAST)
    inbox = RecordingInbox()
    async with running(adapter, inbox):
        await wait_polling(api)
        api.push_update(tu.message_update(tu.migrate_to_chat_message(BASIC, -1009000000002, ADMIN)))
        await inbox.wait_for(GroupMigrated)
        await adapter.send(SendText(str(BASIC["id"]), "Cảnh báo"))
    [migrated] = inbox.of(GroupMigrated)  # once: the send followed it without a report
    assert (migrated.old_chat_id, migrated.new_chat_id) == (str(BASIC["id"]), "-1009000000002")
    assert migrated.event_id is not None  # its update identifies it: redelivery dedupes
    assert [c.params["chat_id"] for c in api.calls_to("sendMessage")] == [-1009000000002]


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_429_waits_retry_after_and_retries(cls: AdapterClass, api: FakeBotAPI) -> None:
    api.fail_next("sendMessage", 429, retry_after=1)
    adapter = make_adapter(cls, api, **FAST)
    try:
        ref = await adapter.send(SendText("555", "🚨 Vụ #12", BUTTONS))
    finally:
        await adapter.close()
    first, second = api.calls_to("sendMessage")
    assert second.at - first.at >= 1.0  # waited retry_after before retrying
    assert ref == str(api.sent_messages(555)[0]["message_id"])


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_long_retry_after_fails_the_send_at_once(cls: AdapterClass, api: FakeBotAPI) -> None:
    api.fail_next("sendMessage", 429, retry_after=600)
    adapter = make_adapter(cls, api, max_retry_after=60, **FAST)
    try:
        with pytest.raises(DeliveryError, match="600"):
            await asyncio.wait_for(adapter.send(SendText("555", "x")), 5)
    finally:
        await adapter.close()
    assert len(api.calls_to("sendMessage")) == 1


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_persistent_429_becomes_a_delivery_error(cls: AdapterClass, api: FakeBotAPI) -> None:
    api.fail_next("sendMessage", 429, retry_after=1, times=5)
    adapter = make_adapter(cls, api, max_retries=1, **FAST)
    try:
        with pytest.raises(DeliveryError, match="flood"):
            await adapter.send(SendText("555", "x"))
    finally:
        await adapter.close()
    assert len(api.calls_to("sendMessage")) == 2


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_per_chat_pace_avoids_flood_control(cls: AdapterClass) -> None:
    async with FakeBotAPI(bot_token=TOKEN, flood_control=True) as api:
        api.add_chat(tu.private_chat(OFFICER))
        adapter = make_adapter(cls, api)  # default limits: 1 message/s per chat
        try:
            for i in range(3):
                await adapter.send(SendText("555", f"cảnh báo {i}"))
        finally:
            await adapter.close()
        calls = api.calls_to("sendMessage")
    assert len(calls) == 3  # no 429 was needed
    assert calls[2].at - calls[0].at >= 1.5


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_officer_who_never_started_the_bot(cls: AdapterClass, api: FakeBotAPI) -> None:
    api.block_bot(555)
    adapter = make_adapter(cls, api, **FAST)
    try:
        with pytest.raises(DeliveryError, match="press Start"):
            await adapter.send(SendText("555", "x"))
    finally:
        await adapter.close()


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_button_data_over_64_bytes_is_unsupported(cls: AdapterClass, api: FakeBotAPI) -> None:
    adapter = make_adapter(cls, api, **FAST)
    try:
        with pytest.raises(Unsupported, match="64-byte"):
            await adapter.send(SendText("555", "x", (Button("x", "ack:" + "1" * 80),)))
    finally:
        await adapter.close()
    assert api.calls_to("sendMessage") == []


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("cls", ADAPTERS)
def test_missing_token_variable_is_named(cls: AdapterClass) -> None:
    with pytest.raises(TelegramConfigError, match="BOTKIT_TG_TOKEN is not set"):
        cls("tg", AdapterSettings(token_env="BOTKIT_TG_TOKEN"), environ={})  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_rejected_token_stops_run_with_a_clear_error(
    cls: AdapterClass, api: FakeBotAPI
) -> None:
    adapter = cls(
        "tg",
        adapter_settings(api),
        environ={"TG_TOKEN": "999:wrong-token"},  # type: ignore[call-arg]
    )
    with pytest.raises(Exception, match="rejected the bot token"):
        await asyncio.wait_for(adapter.run(RecordingInbox()), 10)
    await adapter.close()


# --------------------------------------------------------------------------- receiving


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_malformed_update_is_skipped_and_the_next_processed(
    cls: AdapterClass, api: FakeBotAPI
) -> None:
    adapter = make_adapter(cls, api, **FAST)
    inbox = RecordingInbox()
    async with running(adapter, inbox):
        await wait_polling(api)
        # no "date": python-telegram-bot raises, aiogram's pydantic rejects it
        bad = api.push_update({"update_id": 0, "message": {"message_id": 5, "chat": GROUP}})
        # a kind newer than both libraries: parsed as an unknown field, then ignored
        api.push_update({"update_id": 0, "stopped_message_generation": {"x": 1}})
        api.push_update(tu.message_update(tu.text_message(GROUP, RESIDENT, "tin sau đó")))
        msg = await inbox.wait_for(Message)
        await api.wait_for_confirmation(bad)
    assert msg.text == "tin sau đó"
    assert adapter.stats.skipped == 1
    assert inbox.of(Message) == [msg]


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_webhook_right_and_wrong_secret(cls: AdapterClass, api: FakeBotAPI) -> None:
    options = webhook_options()
    adapter = make_adapter(cls, api, **options, **FAST)
    inbox = RecordingInbox()
    async with running(adapter, inbox):
        await api.wait_until(lambda: api.webhook is not None, 10)
        assert api.webhook is not None and api.webhook.secret_token == SECRET
        api.push_update(tu.message_update(tu.text_message(GROUP, RESIDENT, "qua webhook")))
        assert (await inbox.wait_for(Message)).text == "qua webhook"
        forged = tu.message_update(tu.text_message(GROUP, RESIDENT, "giả mạo"))
        forged["update_id"] = 999
        async with aiohttp.ClientSession() as http:
            for headers in ({SECRET_TOKEN_HEADER: "wrong"}, {}):
                async with http.post(options["webhook_url"], json=forged, headers=headers) as r:
                    assert r.status == REFUSED_STATUS[cls]
            # a malformed update with the right secret is acknowledged and skipped
            bad = {"update_id": 1000, "message": {"message_id": 1, "chat": GROUP}}
            async with http.post(
                options["webhook_url"], json=bad, headers={SECRET_TOKEN_HEADER: SECRET}
            ) as r:
                assert r.status == 200
        api.push_update(tu.message_update(tu.text_message(GROUP, RESIDENT, "tin tiếp")))
        await inbox.wait_for(Message, lambda m: m.text == "tin tiếp")
    assert [m.text for m in inbox.of(Message)] == ["qua webhook", "tin tiếp"]
    assert adapter.stats.skipped == 1
    assert all(d.ok for d in api.webhook_deliveries)


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_setup_by_a_member_is_refused_in_the_group(
    cls: AdapterClass, api: FakeBotAPI
) -> None:
    adapter = make_adapter(cls, api, **FAST)
    inbox = RecordingInbox()
    async with running(adapter, inbox):
        await wait_polling(api)
        api.push_update(
            tu.message_update(tu.text_message(GROUP, RESIDENT, "/setup Cư M'gar", message_id=90))
        )
        call = await api.wait_for_call("sendMessage")
    assert call.params["text"] == SETUP_ADMIN_ONLY
    assert call.params["reply_parameters"]["message_id"] == 90
    assert inbox.events == []


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_button_press_is_answered_with_the_cores_reply(
    cls: AdapterClass, api: FakeBotAPI
) -> None:
    adapter = make_adapter(cls, api, **FAST)
    inbox = RecordingInbox()
    async with running(adapter, inbox):
        await wait_polling(api)
        ref = await adapter.send(SendText("555", "🚨 Vụ #12", BUTTONS))
        alert = api.sent_messages(555)[0]
        api.push_update(tu.callback_query_update(OFFICER, alert, "ack:12", query_id="q-1"))
        cmd = await inbox.wait_for(OfficerCommand)
        # the core replies to chat_id with reply_to=reply_ref
        assert cmd.chat_id is not None
        await adapter.send(SendText(cmd.chat_id, "Vụ #12: Đã tiếp nhận", reply_to=cmd.reply_ref))
    (answer,) = api.calls_to("answerCallbackQuery")
    assert answer.params == {"callback_query_id": "q-1", "text": "Vụ #12: Đã tiếp nhận"}
    reply = api.calls_to("sendMessage")[-1]
    assert reply.params["reply_parameters"]["message_id"] == int(ref or 0)


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_press_without_reply_still_stops_the_spinner(
    cls: AdapterClass, api: FakeBotAPI
) -> None:
    adapter = make_adapter(cls, api, callback_answer_seconds=0.2, **FAST)
    inbox = RecordingInbox()
    async with running(adapter, inbox):
        await wait_polling(api)
        await adapter.send(SendText("555", "🚨 Vụ #12", BUTTONS))
        alert = api.sent_messages(555)[0]
        api.push_update(tu.callback_query_update(OFFICER, alert, "ack:12", query_id="q-2"))
        call = await api.wait_for_call("answerCallbackQuery")
    assert call.params == {"callback_query_id": "q-2"}


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_foreign_button_is_answered_at_once(cls: AdapterClass, api: FakeBotAPI) -> None:
    adapter = make_adapter(cls, api, **FAST)
    inbox = RecordingInbox()
    old = tu.text_message(GROUP, BOT, "Bình chọn", message_id=3)
    async with running(adapter, inbox):
        await wait_polling(api)
        api.push_update(tu.callback_query_update(RESIDENT, old, "vote:1", query_id="q-3"))
        call = await api.wait_for_call("answerCallbackQuery")
    assert call.params == {"callback_query_id": "q-3"}
    assert inbox.events == []


# --------------------------------------------------------------------------- embedding


async def test_embedded_in_a_ptb_application(api: FakeBotAPI) -> None:
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api.api_url)
        .base_file_url(api.file_url)
        .updater(None)
        .build()
    )
    seen: list[str] = []

    async def host_message(update: telegram.Update, context: Any) -> None:
        seen.append(f"message:{update.effective_message.text}")  # type: ignore[union-attr]

    async def host_button(update: telegram.Update, context: Any) -> None:
        seen.append(f"button:{update.callback_query.data}")  # type: ignore[union-attr]

    application.add_handler(MessageHandler(filters.ALL, host_message))
    application.add_handler(CallbackQueryHandler(host_button))
    adapter = ptb_embed.embed(application, "tg", AdapterSettings())
    inbox = RecordingInbox()
    async with application, running(adapter, inbox):
        alert = tu.text_message(tu.private_chat(OFFICER), BOT, "Vụ #1", message_id=8)
        for data in (
            tu.message_update(tu.text_message(GROUP, RESIDENT, "tin đồn", message_id=9)),
            tu.callback_query_update(OFFICER, alert, "ack:1", query_id="q"),
            tu.callback_query_update(RESIDENT, alert, "vote:2", query_id="v"),
        ):
            data["update_id"] = 1
            await application.process_update(telegram.Update.de_json(data, application.bot))
        ref = await adapter.send(SendText("555", "qua bot của ứng dụng chủ"))
    assert seen == ["message:tin đồn", "button:vote:2"]  # botkit's button stayed botkit's
    assert [type(e) for e in inbox.events] == [Message, OfficerCommand]
    assert ref == str(api.sent_messages(555)[0]["message_id"])
    assert api.calls_to("answerCallbackQuery") == []  # the host answers its own buttons


async def test_embedded_in_an_aiogram_dispatcher(api: FakeBotAPI) -> None:
    bot = AioBot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    dp = Dispatcher()
    adapter = aio_embed.embed(dp, bot, "tg", AdapterSettings())
    host = Router(name="host")
    seen: list[str] = []

    @host.message()
    async def host_message(message: AioMessage) -> None:
        seen.append(f"message:{message.text}")

    @host.callback_query(F.data)
    async def host_button(query: CallbackQuery) -> None:
        seen.append(f"button:{query.data}")

    dp.include_router(host)
    inbox = RecordingInbox()
    try:
        async with running(adapter, inbox):
            alert = tu.text_message(tu.private_chat(OFFICER), BOT, "Vụ #1", message_id=8)
            for i, data in enumerate(
                (
                    tu.message_update(tu.text_message(GROUP, RESIDENT, "tin đồn", message_id=9)),
                    tu.callback_query_update(OFFICER, alert, "ack:1", query_id="q"),
                    tu.callback_query_update(RESIDENT, alert, "vote:2", query_id="v"),
                )
            ):
                data["update_id"] = i + 1
                await dp.feed_raw_update(bot, data)
            ref = await adapter.send(SendText("555", "qua bot của ứng dụng chủ"))
    finally:
        await bot.session.close()
    assert seen == ["message:tin đồn", "button:vote:2"]
    assert [type(e) for e in inbox.events] == [Message, OfficerCommand]
    assert ref == str(api.sent_messages(555)[0]["message_id"])
    wanted = aio_embed.allowed_updates(dp)
    assert {"message", "edited_message", "callback_query", "my_chat_member"} <= set(wanted)
