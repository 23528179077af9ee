"""The fake Telegram Bot API against the real python-telegram-bot and aiogram clients.

Everything runs on 127.0.0.1; waits are event-driven (``wait_for_call``/``wait_until``) and
bounded by ``asyncio.wait_for`` so a missed wake-up fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import html
import json
import warnings
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import telegram
from aiogram import Bot as AioBot
from aiogram import Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, ReplyParameters
from aiogram.types import Message as AioMessage
from aiogram.types import Update as AioUpdate
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import ApplicationBuilder, MessageHandler, filters

from adapters.testing import SECRET_TOKEN_HEADER, FakeBotAPI, UploadedFile
from adapters.testing import telegram_updates as tu
from adapters.testing.telegram_formatting import EntityParseError, parse_text, utf16_len

TOKEN = "123456:TEST-token"
GROUP = tu.supergroup_chat()
BASIC_GROUP = tu.group_chat()
ADMIN = tu.user(7, "Trần Thị Bình", username="binh_tt")
CITIZEN = tu.user(42, "Nguyễn Văn An")
BOT = tu.bot_user(123456, "botkit_test_bot")
KEYBOARD = {"inline_keyboard": [[{"text": "Ban", "callback_data": "ban:42"}]]}
PTB_KEYBOARD = telegram.InlineKeyboardMarkup.de_json(KEYBOARD, None)
AIO_KEYBOARD = InlineKeyboardMarkup.model_validate(KEYBOARD)


class FakeClock:
    """Manually advanced wall clock for flood-control and date checks."""

    def __init__(self, now: float = 1_760_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(bot_token=TOKEN, bot_username="botkit_test_bot") as server:
        yield server


@pytest.fixture
async def ptb(api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=api.api_url, base_file_url=api.file_url) as bot:
        yield bot


def aiogram_bot(api: FakeBotAPI, token: str = TOKEN) -> AioBot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    return AioBot(token, session=session)


async def close_aiogram(bot: AioBot) -> None:
    # AiohttpSession.close() sleeps 250 ms to let TLS shut down; plain loopback HTTP has none
    assert isinstance(bot.session, AiohttpSession)
    if bot.session._session is not None:
        await bot.session._session.close()


@pytest.fixture
async def aio(api: FakeBotAPI) -> AsyncIterator[AioBot]:
    bot = aiogram_bot(api)
    yield bot
    await close_aiogram(bot)


@pytest.fixture
def group(api: FakeBotAPI) -> dict[str, Any]:
    """The supergroup with the bot as a moderating administrator."""
    api.push_update(tu.bot_added_update(GROUP, BOT, ADMIN))
    api.pending_updates.clear()
    return GROUP


def citizen_says(api: FakeBotAPI, text: str, chat: dict[str, Any] = GROUP) -> dict[str, Any]:
    message = tu.text_message(chat, CITIZEN, text)
    api.push_update(tu.message_update(message))
    return message


async def raw_post(url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(url, **kwargs) as response:
        return response.status, await response.json()


def seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# --------------------------------------------------------------------------- routing, auth


async def test_get_me_from_both_libraries(api: FakeBotAPI, ptb: telegram.Bot, aio: AioBot) -> None:
    me = await aio.get_me()
    assert (ptb.id, ptb.username) == (123456, "botkit_test_bot")
    assert (me.id, me.username, me.is_bot) == (123456, "botkit_test_bot", True)
    assert [c.method for c in api.calls] == ["getMe", "getMe"]
    assert api.calls[0].content_type == ""  # PTB: empty POST without Content-Type


async def test_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:WRONG-token", base_url=api.api_url):
            pass
    bot = aiogram_bot(api, "999:WRONG-token")
    with pytest.raises(TelegramUnauthorizedError):
        await bot.get_me()
    await close_aiogram(bot)
    status, body = await raw_post(f"{api.api_url}999:WRONG/getMe")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert api.calls == []


@pytest.mark.parametrize(
    ("path", "status"),
    [("/botnot-a-token/getMe", 404), (f"/bot{TOKEN}/noSuchMethod", 404), ("/elsewhere", 404)],
)
async def test_malformed_paths_get_json_envelopes(api: FakeBotAPI, path: str, status: int) -> None:
    got_status, body = await raw_post(f"{api.base_url}{path}")
    assert got_status == status
    assert body == {"ok": False, "error_code": status, "description": "Not Found"}


@pytest.mark.parametrize("spelling", ["getMe", "GETME", "getme", "GetMe"])
async def test_method_names_are_case_insensitive(api: FakeBotAPI, spelling: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(api.method_url(spelling)) as r:
        assert r.status == 200
        assert (await r.json())["result"]["username"] == "botkit_test_bot"
    assert api.calls_to("getMe")[0].http_method == "GET"


# --------------------------------------------------------------------------- parameters


ENCODINGS = ["query", "form", "json", "multipart"]


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_every_encoding_yields_the_same_typed_params(
    api: FakeBotAPI, group: dict[str, Any], encoding: str
) -> None:
    fields = {
        "chat_id": str(GROUP["id"]),
        "text": "[1, 2] trông như JSON nhưng là văn bản",
        "reply_markup": json.dumps(KEYBOARD),
        "disable_notification": "true",
    }
    url = api.method_url("sendMessage")
    if encoding == "query":
        status, body = await raw_post(url, params=fields)
    elif encoding == "form":
        status, body = await raw_post(url, data=fields)
    elif encoding == "json":
        typed = {
            **fields,
            "chat_id": GROUP["id"],
            "reply_markup": KEYBOARD,
            "disable_notification": True,
        }
        status, body = await raw_post(url, json=typed)
    else:
        form = aiohttp.FormData(default_to_multipart=True)
        for name, value in fields.items():
            form.add_field(name, value)
        status, body = await raw_post(url, data=form)
    assert status == 200, body
    call = api.calls_to("sendMessage")[-1]
    assert call.params == {
        "chat_id": GROUP["id"],
        "text": "[1, 2] trông như JSON nhưng là văn bản",
        "reply_markup": KEYBOARD,
        "disable_notification": True,
    }
    assert body["result"]["reply_markup"] == KEYBOARD
    assert body["result"]["text"] == fields["text"]


async def test_multipart_upload_and_file_download(
    api: FakeBotAPI, group: dict[str, Any], ptb: telegram.Bot, aio: AioBot
) -> None:
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")
    )
    sent = await ptb.send_photo(GROUP["id"], photo=png, caption="Ảnh hiện trường")
    assert (sent.photo[-1].width, sent.photo[-1].height) == (640, 480)
    call = api.calls_to("sendPhoto")[-1]
    assert call.content_type == "multipart/form-data"
    assert isinstance(call.params["photo"], UploadedFile)
    assert call.params["photo"].data == png
    downloaded = await (await ptb.get_file(sent.photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == png

    # aiogram references the upload as attach://<random part name>
    doc = await aio.send_document(GROUP["id"], BufferedInputFile(b"%PDF-1.4", "bien_ban.pdf"))
    assert doc.document is not None and doc.document.file_name == "bien_ban.pdf"
    assert api.calls_to("sendDocument")[-1].params["document"].data == b"%PDF-1.4"


async def test_invalid_json_body_is_a_bad_request(api: FakeBotAPI) -> None:
    status, body = await raw_post(
        api.method_url("sendMessage"),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse JSON")


# --------------------------------------------------------------------------- messages


async def test_send_and_edit_with_ptb(
    api: FakeBotAPI, group: dict[str, Any], ptb: telegram.Bot
) -> None:
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Ban", callback_data="ban:42")]]
    )
    sent = await ptb.send_message(
        GROUP["id"], "⚠️ <b>Cảnh báo</b> tin giả", parse_mode="HTML", reply_markup=markup
    )
    assert sent.from_user is not None and sent.from_user.id == BOT["id"]
    assert sent.text == "⚠️ Cảnh báo tin giả"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 3, 8)]
    assert sent.reply_markup == markup
    second = await ptb.send_message(GROUP["id"], "thứ hai")
    assert second.message_id == sent.message_id + 1

    edited = await ptb.edit_message_text(
        "Đã xử lý", chat_id=GROUP["id"], message_id=sent.message_id, reply_markup=markup
    )
    assert isinstance(edited, telegram.Message)
    assert edited.text == "Đã xử lý" and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await ptb.edit_message_text(
            "Đã xử lý", chat_id=GROUP["id"], message_id=sent.message_id, reply_markup=markup
        )
    # editing text without reply_markup drops the keyboard, as Telegram does
    await ptb.edit_message_text("Đã xử lý xong", chat_id=GROUP["id"], message_id=sent.message_id)
    stored = api.sent_messages(GROUP["id"])
    assert [m["text"] for m in stored] == ["Đã xử lý xong", "thứ hai"]
    assert "reply_markup" not in stored[0]


async def test_send_and_edit_markup_with_aiogram(
    api: FakeBotAPI, group: dict[str, Any], aio: AioBot
) -> None:
    sent = await aio.send_message(
        GROUP["id"], "Báo cáo *mới*", parse_mode="MarkdownV2", reply_markup=AIO_KEYBOARD
    )
    assert isinstance(sent, AioMessage)
    assert sent.text == "Báo cáo mới"
    assert sent.entities is not None and sent.entities[0].type == "bold"
    edited = await aio.edit_message_reply_markup(chat_id=GROUP["id"], message_id=sent.message_id)
    assert isinstance(edited, AioMessage) and edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match=r"(?i)message is not modified"):
        await aio.edit_message_reply_markup(chat_id=GROUP["id"], message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await aio.edit_message_text("x", chat_id=GROUP["id"], message_id=9999)


@pytest.mark.parametrize(("length", "accepted"), [(4096, True), (4097, False)])
async def test_text_length_limit(
    group: dict[str, Any], ptb: telegram.Bot, length: int, accepted: bool
) -> None:
    text = "ệ" * length
    if accepted:
        assert (await ptb.send_message(GROUP["id"], text)).text == text
    else:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await ptb.send_message(GROUP["id"], text)


async def test_replies(api: FakeBotAPI, group: dict[str, Any], aio: AioBot) -> None:
    original = citizen_says(api, "Có cháy ở chợ!")
    reply = await aio.send_message(
        GROUP["id"],
        "Đã chuyển công an",
        reply_parameters=ReplyParameters(message_id=original["message_id"]),
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "Có cháy ở chợ!"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await aio.send_message(GROUP["id"], "x", reply_to_message_id=999_999)
    lenient = await aio.send_message(
        GROUP["id"],
        "x",
        reply_parameters=ReplyParameters(message_id=999_999, allow_sending_without_reply=True),
    )
    assert lenient.reply_to_message is None


async def test_user_blocking_the_bot(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    dm = tu.private_chat(CITIZEN)
    api.push_update(tu.message_update(tu.text_message(dm, CITIZEN, "/start")))
    assert (await ptb.send_message(CITIZEN["id"], "Chào bạn")).chat.type == "private"
    api.push_update(
        tu.my_chat_member_update(dm, CITIZEN, tu.member_member(BOT), tu.member_kicked(BOT))
    )
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await ptb.send_message(CITIZEN["id"], "x")


async def test_unknown_chat_and_kicked_bot(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await ptb.send_message(-100555, "x")
    api.push_update(tu.bot_removed_update(GROUP, BOT, ADMIN))
    with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the supergroup chat"):
        await ptb.send_message(GROUP["id"], "x")


# --------------------------------------------------------------------------- deleting


async def test_delete_needs_admin_rights(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    api.add_chat(GROUP, bot_member="member")
    spam = citizen_says(api, "Vay tiền nhanh, lãi 0%")
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await ptb.delete_message(GROUP["id"], spam["message_id"])

    own = await ptb.send_message(GROUP["id"], "tin của bot")
    assert await ptb.delete_message(GROUP["id"], own.message_id)  # own messages always

    api.push_update(tu.bot_added_update(GROUP, BOT, ADMIN, can_delete_messages=False))
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await ptb.delete_message(GROUP["id"], spam["message_id"])

    api.set_bot_admin(GROUP["id"], can_delete_messages=True)
    assert await ptb.delete_message(GROUP["id"], spam["message_id"])
    assert [m["text"] for m in api.deleted_messages(GROUP["id"])] == [
        "tin của bot",
        "Vay tiền nhanh, lãi 0%",
    ]
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await ptb.delete_message(GROUP["id"], spam["message_id"])


async def test_old_messages_cannot_be_deleted_without_the_right() -> None:
    clock = FakeClock()
    async with FakeBotAPI(TOKEN, clock=clock) as api:
        api.add_chat(BASIC_GROUP, bot_member="member")
        bot = aiogram_bot(api)
        sent = await bot.send_message(BASIC_GROUP["id"], "nhắc nhở")
        clock.advance(49 * 3600)
        with pytest.raises(TelegramBadRequest, match="message can't be deleted"):
            await bot.delete_message(BASIC_GROUP["id"], sent.message_id)
        await close_aiogram(bot)


# --------------------------------------------------------------------------- getUpdates


async def test_get_updates_offset_and_limit(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    ids = [
        api.push_update(tu.message_update(tu.text_message(GROUP, CITIZEN, f"tin {i}")))
        for i in range(3)
    ]
    assert ids == [1, 2, 3]
    assert [u.update_id for u in await ptb.get_updates()] == ids
    assert [u.update_id for u in await ptb.get_updates(limit=1)] == ids[:1]
    assert [u.update_id for u in await ptb.get_updates(offset=ids[1])] == ids[1:]
    assert api.pending_update_count == 2  # the offset confirmed update 1
    await api.wait_for_confirmation(ids[0], timeout=0.1)
    assert [u.update_id for u in await ptb.get_updates(offset=-1)] == ids[2:]
    assert [u.message.text for u in await ptb.get_updates()] == ["tin 2"]  # type: ignore[union-attr]


async def test_long_poll_returns_as_soon_as_an_update_arrives(api: FakeBotAPI, aio: AioBot) -> None:
    poll = asyncio.create_task(aio.get_updates(timeout=30))
    await api.wait_for_call("getUpdates")
    assert not poll.done()
    citizen_says(api, "Có trộm!")
    updates = await asyncio.wait_for(poll, timeout=3)  # far below the 30 s long poll
    assert [u.message.text for u in updates if u.message] == ["Có trộm!"]


async def test_empty_long_poll_times_out_with_no_updates(
    api: FakeBotAPI, ptb: telegram.Bot
) -> None:
    assert await asyncio.wait_for(ptb.get_updates(timeout=1), timeout=5) == ()


async def test_a_second_poller_terminates_the_first(api: FakeBotAPI, aio: AioBot) -> None:
    first = asyncio.create_task(aio.get_updates(timeout=30))
    await api.wait_for_call("getUpdates")
    assert await aio.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, timeout=3)


async def test_allowed_updates_withhold_chat_member_by_default(
    api: FakeBotAPI, aio: AioBot
) -> None:
    api.push_update(
        tu.chat_member_update(GROUP, ADMIN, tu.member_left(CITIZEN), tu.member_member(CITIZEN))
    )
    citizen_says(api, "chào")
    assert [u.event_type for u in await aio.get_updates()] == ["message"]
    assert api.withheld_update_ids == [1]

    api.push_update(
        tu.chat_member_update(GROUP, ADMIN, tu.member_member(CITIZEN), tu.member_left(CITIZEN))
    )
    got = await aio.get_updates(offset=3, allowed_updates=["chat_member", "message"])
    assert [u.event_type for u in got] == ["chat_member"]
    assert api.allowed_updates == ["chat_member", "message"]


async def test_privacy_mode_hides_plain_group_chatter() -> None:
    async with FakeBotAPI(TOKEN, privacy_mode=True, can_read_all_group_messages=False) as api:
        api.add_chat(GROUP, bot_member="member")
        citizen_says(api, "chuyện phiếm")
        citizen_says(api, "/report@botkit_test_bot lừa đảo")
        bot = aiogram_bot(api)
        texts = [u.message.text for u in await bot.get_updates() if u.message]
        assert texts == ["/report@botkit_test_bot lừa đảo"]
        assert (await bot.get_me()).can_read_all_group_messages is False
        await close_aiogram(bot)


# --------------------------------------------------------------------------- faults


async def test_429_raises_retry_after_in_both_libraries(
    api: FakeBotAPI, group: dict[str, Any], ptb: telegram.Bot, aio: AioBot
) -> None:
    api.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as ptb_error, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 deprecates the int form of retry_after
        await ptb.send_message(GROUP["id"], "x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert seconds(ptb_error.value.retry_after) == 3

    api.fail_next("SENDMESSAGE", 429, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as aio_error:
            await aio.send_message(GROUP["id"], "x")
        assert aio_error.value.retry_after == 7
        assert "retry after 7" in aio_error.value.message
    assert (await aio.send_message(GROUP["id"], "lần này được")).text == "lần này được"
    assert len(api.calls_to("sendMessage")) == 4


async def test_fault_filter_and_wildcard(
    api: FakeBotAPI, group: dict[str, Any], aio: AioBot
) -> None:
    api.fail_next("*", 502, when=lambda call: call.params.get("text") == "rơi")
    assert (await aio.send_message(GROUP["id"], "qua")).text == "qua"
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await aio.send_message(GROUP["id"], "rơi")


async def test_migrated_group(api: FakeBotAPI, ptb: telegram.Bot, aio: AioBot) -> None:
    new_id = -1009990001
    api.add_chat(BASIC_GROUP, bot_member="administrator")
    api.push_update(tu.message_update(tu.migrate_to_chat_message(BASIC_GROUP, new_id, ADMIN)))
    with pytest.raises(ChatMigrated) as ptb_error:
        await ptb.send_message(BASIC_GROUP["id"], "x")
    assert ptb_error.value.new_chat_id == new_id
    with pytest.raises(TelegramMigrateToChat) as aio_error:
        await aio.send_message(BASIC_GROUP["id"], "x")
    assert aio_error.value.migrate_to_chat_id == new_id
    moved = await aio.send_message(new_id, "sang siêu nhóm")
    assert moved.chat.type == "supergroup"
    assert (await ptb.get_chat(BASIC_GROUP["id"])).type == "group"  # getChat still answers


async def test_flood_control_emulation() -> None:
    clock = FakeClock()
    async with FakeBotAPI(TOKEN, flood_control=True, clock=clock) as api:
        api.add_chat(GROUP)
        api.add_chat(tu.private_chat(CITIZEN))
        bot = aiogram_bot(api)
        await bot.send_message(GROUP["id"], "1")
        with pytest.raises(TelegramRetryAfter) as error:
            await bot.send_message(GROUP["id"], "2")
        assert error.value.retry_after == 1
        await bot.send_message(CITIZEN["id"], "other chats are independent")
        for _ in range(19):
            clock.advance(1.5)
            await bot.send_message(GROUP["id"], "ok")
        clock.advance(1.5)
        with pytest.raises(TelegramRetryAfter) as error:  # 21st message within a minute
            await bot.send_message(GROUP["id"], "too many")
        assert 1 <= error.value.retry_after <= 60
        clock.advance(error.value.retry_after)
        await bot.send_message(GROUP["id"], "after waiting")
        await close_aiogram(bot)


# --------------------------------------------------------------------------- webhooks


class WebhookReceiver:
    """A loopback webhook endpoint that fails the first ``failures`` deliveries."""

    def __init__(self, failures: int = 0, reply: dict[str, Any] | None = None) -> None:
        self.failures = failures
        self.reply = reply
        self.requests: list[tuple[dict[str, Any], str | None]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((await request.json(), request.headers.get(SECRET_TOKEN_HEADER)))
        if len(self.requests) <= self.failures:
            return web.Response(status=500)
        return web.json_response(self.reply or {})

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def test_getupdates_conflicts_while_webhook_is_set(
    api: FakeBotAPI, ptb: telegram.Bot, aio: AioBot
) -> None:
    async with WebhookReceiver(failures=10**6) as receiver:
        assert await ptb.set_webhook(receiver.url, secret_token="s3cr3t-TOKEN_1")
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await ptb.get_updates()
        with pytest.raises(TelegramConflictError):
            await aio.get_updates()
        info = await aio.get_webhook_info()
        assert (info.url, info.max_connections) == (receiver.url, 40)
        assert await aio.delete_webhook()
        assert await ptb.get_updates() == ()


async def test_webhook_delivery_with_secret_and_retry(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    async with WebhookReceiver(failures=2) as receiver:
        await ptb.set_webhook(receiver.url, secret_token="s3cr3t-TOKEN_1")
        update_id = api.push_update(tu.message_update(tu.text_message(GROUP, CITIZEN, "cứu")))
        await api.wait_for_confirmation(update_id)
        assert [r[1] for r in receiver.requests] == ["s3cr3t-TOKEN_1"] * 3
        assert receiver.requests[-1][0]["message"]["text"] == "cứu"
        assert [d.status for d in api.webhook_deliveries] == [500, 500, 200]
        info = await ptb.get_webhook_info()
        assert info.pending_update_count == 0
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        await ptb.delete_webhook()


async def test_aiogram_webhook_handler_receives_deliveries(api: FakeBotAPI) -> None:
    router = Router()

    @router.message()
    async def on_message(message: AioMessage) -> None:
        await message.answer("Đã tiếp nhận")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = aiogram_bot(api)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token="s3cr3t-TOKEN_2").register(
        app, path="/aio-hook"
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/aio-hook"
    try:
        await bot.set_webhook(url, secret_token="wrong-secret")
        update_id = api.push_update(tu.message_update(tu.text_message(GROUP, CITIZEN, "alo")))
        await api.wait_until(lambda: api.webhook_deliveries, timeout=5)
        assert api.webhook_deliveries[0].status == 401  # aiogram rejects the wrong secret
        await bot.set_webhook(url, secret_token="s3cr3t-TOKEN_2")
        await api.wait_for_confirmation(update_id)
        call = await api.wait_for_call("sendMessage")
        assert call.params == {"chat_id": GROUP["id"], "text": "Đã tiếp nhận"}
    finally:
        await bot.delete_webhook()
        await close_aiogram(bot)
        await runner.cleanup()


async def test_webhook_reply_executes_the_returned_method(api: FakeBotAPI) -> None:
    api.add_chat(GROUP)
    reply = {"method": "sendMessage", "chat_id": GROUP["id"], "text": "đã nhận"}
    async with WebhookReceiver(reply=reply) as receiver:
        bot = aiogram_bot(api)
        await bot.set_webhook(receiver.url)
        citizen_says(api, "alo")
        call = await api.wait_for_call("sendMessage")
        assert call.http_method == "WEBHOOK-REPLY"
        await api.wait_until(lambda: api.sent_messages(GROUP["id"]), timeout=5)
        assert [m["text"] for m in api.sent_messages(GROUP["id"])] == ["đã nhận"]
        assert receiver.requests[0][1] is None  # no secret configured, no header
        await bot.delete_webhook()
        await close_aiogram(bot)


@pytest.mark.parametrize("secret", ["a", "A-Za-z_0-9", "x" * 256])
async def test_valid_webhook_secrets(api: FakeBotAPI, aio: AioBot, secret: str) -> None:
    assert await aio.set_webhook("http://127.0.0.1:9/hook", secret_token=secret)
    await aio.delete_webhook()


@pytest.mark.parametrize("secret", ["x" * 257, "has space", "colon:inside", "dấu", "a/b"])
async def test_invalid_webhook_secrets(api: FakeBotAPI, aio: AioBot, secret: str) -> None:
    with pytest.raises(TelegramBadRequest, match="secret token"):
        await aio.set_webhook("http://127.0.0.1:9/hook", secret_token=secret)
    assert api.webhook is None


async def test_webhooks_never_leave_loopback(aio: AioBot) -> None:
    with pytest.raises(TelegramBadRequest, match="loopback"):
        await aio.set_webhook("https://example.com/hook")


# --------------------------------------------------------------------------- chats, callbacks


async def test_chat_queries_parse_in_ptb(
    api: FakeBotAPI, group: dict[str, Any], ptb: telegram.Bot
) -> None:
    api.set_chat_member(GROUP["id"], tu.member_owner(ADMIN))
    citizen_says(api, "xin chào")
    chat = await ptb.get_chat(GROUP["id"])
    assert (chat.id, chat.title) == (GROUP["id"], GROUP["title"])
    admins = await ptb.get_chat_administrators(GROUP["id"])
    assert [(a.user.id, a.status) for a in admins] == [(7, "creator"), (BOT["id"], "administrator")]
    member = await ptb.get_chat_member(GROUP["id"], CITIZEN["id"])
    assert member.status == "member"
    assert await ptb.get_chat_member_count(GROUP["id"]) == 3


async def test_callback_query_answer_once(
    api: FakeBotAPI, group: dict[str, Any], ptb: telegram.Bot
) -> None:
    alert = await ptb.send_message(GROUP["id"], "Xoá tin của 42", reply_markup=PTB_KEYBOARD)
    update = tu.callback_query_update(ADMIN, api.sent_messages(GROUP["id"])[0], "ban:42")
    api.push_update(update)
    query_id = update["callback_query"]["id"]
    assert alert.message_id == update["callback_query"]["message"]["message_id"]
    assert await ptb.answer_callback_query(query_id, text="Đã cấm")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await ptb.answer_callback_query(query_id)
    assert api.callback_answers[query_id]["text"] == "Đã cấm"


async def test_ban_requires_rights_and_emits_chat_member(
    api: FakeBotAPI, ptb: telegram.Bot
) -> None:
    api.add_chat(GROUP, bot_member="member", members=[tu.member_administrator(ADMIN)])
    citizen_says(api, "spam")
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await ptb.ban_chat_member(GROUP["id"], CITIZEN["id"])
    api.set_bot_admin(GROUP["id"])
    with pytest.raises(BadRequest, match=r"(?i)user is an administrator"):
        await ptb.ban_chat_member(GROUP["id"], ADMIN["id"])
    assert await ptb.ban_chat_member(GROUP["id"], CITIZEN["id"])
    assert api.chat_member(GROUP["id"], CITIZEN["id"])["status"] == "kicked"  # type: ignore[index]
    updates = await ptb.get_updates(allowed_updates=["chat_member"])
    assert updates[-1].chat_member is not None
    assert updates[-1].chat_member.new_chat_member.status == "kicked"


async def test_leave_chat_then_sending_is_forbidden(
    api: FakeBotAPI, group: dict[str, Any], aio: AioBot
) -> None:
    assert await aio.leave_chat(GROUP["id"])
    with pytest.raises(TelegramForbiddenError, match="not a member of the supergroup chat"):
        await aio.send_message(GROUP["id"], "x")
    my = [u for u in await aio.get_updates() if u.my_chat_member]
    assert my[-1].my_chat_member.new_chat_member.status == "left"  # type: ignore[union-attr]


async def test_commands_and_chat_action(
    api: FakeBotAPI, group: dict[str, Any], aio: AioBot
) -> None:
    from aiogram.types import BotCommand, BotCommandScopeAllGroupChats

    commands = [BotCommand(command="report", description="Báo cáo tin giả")]
    assert await aio.set_my_commands(commands, scope=BotCommandScopeAllGroupChats())
    got = await aio.get_my_commands(scope=BotCommandScopeAllGroupChats())
    assert [(c.command, c.description) for c in got] == [("report", "Báo cáo tin giả")]
    assert await aio.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await aio.set_my_commands([BotCommand(command="Bad-Name", description="x")])
    assert await aio.send_chat_action(GROUP["id"], "typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await aio.send_chat_action(GROUP["id"], "dancing")


async def test_log_out_locks_the_bot_out(api: FakeBotAPI, aio: AioBot) -> None:
    assert await aio.log_out()
    with pytest.raises(TelegramBadRequest, match="Logged out"):
        await aio.get_me()


async def test_wait_for_call_times_out_with_context(api: FakeBotAPI, aio: AioBot) -> None:
    await aio.get_me()
    with pytest.raises(TimeoutError, match=r"no sendMessage call within .*'getMe'"):
        await api.wait_for_call("sendMessage", timeout=0.05)


# --------------------------------------------------------------------------- full frameworks


async def test_ptb_application_polls_and_replies(api: FakeBotAPI) -> None:
    async def on_text(update: telegram.Update, context: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Đã tiếp nhận")

    app = (
        ApplicationBuilder().token(TOKEN).base_url(api.api_url).base_file_url(api.file_url).build()
    )
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        update_id = api.push_update(tu.message_update(tu.text_message(GROUP, CITIZEN, "Có ai")))
        call = await api.wait_for_call("sendMessage", timeout=5)
        await api.wait_for_confirmation(update_id)
        await app.updater.stop()
        await app.stop()
    assert call.params["text"] == "Đã tiếp nhận"
    assert [c.method for c in api.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_aiogram_dispatcher_polls_and_replies(api: FakeBotAPI) -> None:
    router = Router()

    @router.message()
    async def on_message(message: AioMessage) -> None:
        await message.answer("Đã tiếp nhận")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = aiogram_bot(api)
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
    )
    citizen_says(api, "Có người lạ")
    call = await api.wait_for_call("sendMessage", timeout=5)
    await dispatcher.stop_polling()
    await asyncio.wait_for(polling, timeout=5)
    assert call.params == {"chat_id": GROUP["id"], "text": "Đã tiếp nhận"}
    first_poll = api.calls_to("getUpdates")[0]
    assert first_poll.params["allowed_updates"] == ["message"]


# --------------------------------------------------------------------------- fixtures


def _bot_message() -> dict[str, Any]:
    message = tu.text_message(GROUP, BOT, "Tin nhắn của 42 đã bị xoá")
    message["reply_markup"] = KEYBOARD
    return message


CHANNEL = tu.channel_chat(username="ca_anphu")
FORUM = tu.supergroup_chat(-1001112223334, "Diễn đàn", username="kp3_forum", is_forum=True)

# One example update per public builder (":" separates variants of the same builder).
FIXTURES: dict[str, Callable[[], dict[str, Any]]] = {
    "user": lambda: tu.message_update(
        tu.text_message(GROUP, tu.user(99, "Lê", last_name="Văn C", username="levanc"), "chào")
    ),
    "bot_user": lambda: tu.message_update(tu.text_message(GROUP, tu.bot_user(555, "x_bot"), "b")),
    "private_chat": lambda: tu.message_update(
        tu.text_message(tu.private_chat(CITIZEN), CITIZEN, "/start")
    ),
    "group_chat": lambda: tu.message_update(tu.text_message(BASIC_GROUP, CITIZEN, "chào tổ")),
    "supergroup_chat": lambda: tu.message_update(
        tu.text_message(FORUM, CITIZEN, "chủ đề", message_thread_id=5)
    ),
    "channel_chat": lambda: tu.channel_post_update(
        tu.text_message(CHANNEL, None, "Thông báo #canhbao", sender_chat=CHANNEL)
    ),
    "text_message": lambda: tu.message_update(
        tu.text_message(GROUP, CITIZEN, "/report@botkit_test_bot xem https://vnexpress.net 👮")
    ),
    "reply_message": lambda: tu.message_update(
        tu.reply_message(
            GROUP, ADMIN, "đã xem", tu.reply_message(GROUP, CITIZEN, "a", _bot_message())
        )
    ),
    "photo_message": lambda: tu.message_update(tu.photo_message(GROUP, CITIZEN, "ảnh @someone")),
    "photo_message:no_caption": lambda: tu.message_update(tu.photo_message(GROUP, CITIZEN)),
    "forwarded_message": lambda: tu.message_update(
        tu.forwarded_message(GROUP, CITIZEN, "tin đồn", tu.origin_user(ADMIN))
    ),
    "origin_user": lambda: tu.message_update(
        tu.forwarded_message(GROUP, CITIZEN, "tin đồn", tu.origin_user(tu.user(5, "Hà")))
    ),
    "origin_hidden_user": lambda: tu.message_update(
        tu.forwarded_message(GROUP, CITIZEN, "tin đồn", tu.origin_hidden_user("Người ẩn danh"))
    ),
    "origin_chat": lambda: tu.message_update(
        tu.forwarded_message(GROUP, CITIZEN, "tin", tu.origin_chat(GROUP, author_signature="QTV"))
    ),
    "origin_channel": lambda: tu.message_update(
        tu.forwarded_message(GROUP, CITIZEN, "tin kênh", tu.origin_channel(CHANNEL, 77))
    ),
    "new_chat_members_message": lambda: tu.message_update(
        tu.new_chat_members_message(GROUP, ADMIN, [CITIZEN, BOT])
    ),
    "left_chat_member_message": lambda: tu.message_update(
        tu.left_chat_member_message(GROUP, ADMIN, CITIZEN)
    ),
    "migrate_to_chat_message": lambda: tu.message_update(
        tu.migrate_to_chat_message(BASIC_GROUP, -1009990002, ADMIN)
    ),
    "migrate_from_chat_message": lambda: tu.message_update(
        tu.migrate_from_chat_message(tu.supergroup_chat(-1009990002), BASIC_GROUP["id"], ADMIN)
    ),
    "message_update": lambda: tu.message_update(_bot_message()),
    "channel_post_update": lambda: tu.channel_post_update(
        tu.text_message(CHANNEL, None, "bài đăng", sender_chat=CHANNEL)
    ),
    "edited_message_update": lambda: tu.edited_message_update(
        tu.text_message(GROUP, CITIZEN, "bản gốc"), "bản sửa có @mention_here"
    ),
    "edited_message_update:caption": lambda: tu.edited_message_update(
        tu.photo_message(GROUP, CITIZEN, "cũ"), "mới"
    ),
    "member_member": lambda: tu.chat_member_update(
        GROUP, ADMIN, tu.member_left(CITIZEN), tu.member_member(CITIZEN)
    ),
    "member_administrator": lambda: tu.chat_member_update(
        GROUP,
        ADMIN,
        tu.member_member(CITIZEN),
        tu.member_administrator(CITIZEN, custom_title="Tổ trưởng", can_pin_messages=False),
    ),
    "member_owner": lambda: tu.chat_member_update(
        GROUP, ADMIN, tu.member_administrator(ADMIN), tu.member_owner(ADMIN, custom_title="Chủ")
    ),
    "member_left": lambda: tu.chat_member_update(
        GROUP, CITIZEN, tu.member_member(CITIZEN), tu.member_left(CITIZEN)
    ),
    "member_kicked": lambda: tu.chat_member_update(
        GROUP, ADMIN, tu.member_member(CITIZEN), tu.member_kicked(CITIZEN, until_date=1_900_000_000)
    ),
    "member_restricted": lambda: tu.chat_member_update(
        GROUP,
        ADMIN,
        tu.member_member(CITIZEN),
        tu.member_restricted(CITIZEN, can_send_messages=True),
    ),
    "chat_member_update": lambda: tu.chat_member_update(
        GROUP, ADMIN, tu.member_restricted(CITIZEN), tu.member_member(CITIZEN)
    ),
    "my_chat_member_update": lambda: tu.my_chat_member_update(
        GROUP, ADMIN, tu.member_member(BOT), tu.member_administrator(BOT)
    ),
    "bot_added_update": lambda: tu.bot_added_update(GROUP, BOT, ADMIN),
    "bot_added_update:member": lambda: tu.bot_added_update(BASIC_GROUP, BOT, ADMIN, as_admin=False),
    "bot_removed_update": lambda: tu.bot_removed_update(GROUP, BOT, ADMIN, was_admin=True),
    "bot_removed_update:left": lambda: tu.bot_removed_update(GROUP, BOT, BOT, how="left"),
    "callback_query_update": lambda: tu.callback_query_update(ADMIN, _bot_message(), "ban:42"),
}


def test_every_public_builder_has_an_example() -> None:
    builders = {name for name in tu.__all__ if callable(getattr(tu, name))}
    covered = {key.partition(":")[0] for key in FIXTURES}
    assert builders - covered == set()


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_parses_in_both_libraries(name: str) -> None:
    data = {**FIXTURES[name](), "update_id": 17}
    kind = next(key for key in data if key != "update_id")

    ptb_update = telegram.Update.de_json(data, None)
    assert ptb_update is not None and ptb_update.update_id == 17
    assert getattr(ptb_update, kind) is not None
    aio_update = AioUpdate.model_validate(data)
    assert aio_update.event_type == kind
    assert aio_update.model_dump(exclude_none=True, by_alias=True)[kind]


async def test_all_fixtures_survive_a_real_aiogram_batch(api: FakeBotAPI, aio: AioBot) -> None:
    for make in FIXTURES.values():
        api.push_update(make())
    updates = await aio.get_updates(
        allowed_updates=[
            "message",
            "edited_message",
            "channel_post",
            "callback_query",
            "my_chat_member",
            "chat_member",
        ]
    )
    assert len(updates) == len(FIXTURES)


def test_my_chat_member_about_someone_else_is_rejected() -> None:
    api = FakeBotAPI(TOKEN)
    with pytest.raises(ValueError, match="my_chat_member is about user 42"):
        api.push_update(tu.bot_added_update(GROUP, CITIZEN, ADMIN))


# --------------------------------------------------------------------------- formatting


MDV2_RESERVED = "_*[]()~`>#+-=|{}.!\\"
plain_text = st.text(st.characters(codec="utf-8"), max_size=60)


@given(plain_text)
def test_markdown_v2_escaped_text_round_trips(text: str) -> None:
    escaped = "".join(f"\\{c}" if c in MDV2_RESERVED else c for c in text)
    assert parse_text(escaped, "MarkdownV2") == (text, [])


@given(plain_text)
def test_html_escaped_text_round_trips(text: str) -> None:
    assert parse_text(html.escape(text, quote=False), "HTML") == (text, [])


@given(st.text(min_size=1, max_size=20), st.text(max_size=20))
def test_html_bold_offsets_count_utf16(prefix: str, inner: str) -> None:
    source = f"{html.escape(prefix, quote=False)}<b>{html.escape(inner, quote=False)}</b>"
    text, entities = parse_text(source, "HTML")
    assert text == prefix + inner
    if inner:
        assert entities == [
            {"type": "bold", "offset": utf16_len(prefix), "length": utf16_len(inner)}
        ]


@pytest.mark.parametrize(
    ("source", "mode", "message"),
    [
        ("Hết hạn lúc 5.", "MarkdownV2", "Character '.' is reserved"),
        ("*đậm", "MarkdownV2", "Can't find end of Bold entity at byte offset 0"),
        ("<b>đậm</i>", "HTML", "Unmatched end tag"),
        ("<blink>x</blink>", "HTML", 'Unsupported start tag "blink"'),
        ("<b>x", "HTML", "Can't find end tag"),
        ("_nghiêng", "Markdown", "Can't find end of the entity starting at byte offset 0"),
    ],
)
def test_markup_errors_follow_telegram(source: str, mode: str, message: str) -> None:
    with pytest.raises(EntityParseError, match=message.replace(".", r"\.").replace("*", r"\*")):
        parse_text(source, mode)


def test_markdown_v2_entities() -> None:
    text, entities = parse_text(
        "👮 *Cảnh báo* _lừa_ __đảo__ ~x~ ||ẩn|| `mã` [link](https://a.vn/\\(x\\))", "MarkdownV2"
    )
    assert text == "👮 Cảnh báo lừa đảo x ẩn mã link"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 3, 8),
        ("italic", 12, 3),
        ("underline", 16, 3),
        ("strikethrough", 20, 1),
        ("spoiler", 22, 2),
        ("code", 25, 2),
        ("text_link", 28, 4),
    ]
    assert entities[-1]["url"] == "https://a.vn/(x)"


async def test_a_pushed_message_never_overwrites_one_the_bot_sent(
    api: FakeBotAPI, group: dict[str, Any], ptb: telegram.Bot
) -> None:
    sent = await ptb.send_message(GROUP["id"], "tin của bot")
    clash = tu.text_message(GROUP, CITIZEN, "tin của dân", message_id=sent.message_id)
    api.push_update(tu.message_update(clash))
    by_id = {m["message_id"]: m for m in api.messages(GROUP["id"])}
    assert by_id[sent.message_id]["text"] == "tin của bot"
    assert any(m.get("text") == "tin của dân" for m in by_id.values())
