"""One driver per platform for the adapter contract suite (`test_adapter_contract.py`).

A driver runs one adapter against its loopback emulator, receiving into a `RecordingInbox`,
and plays the platform's side: a resident posting, an officer typing or pressing a button,
the platform delivering an event again or refusing a send. It reads what the emulator holds
back in one shape (`Received`), so the suite states each check once for every platform.

Everything platform-specific is taken from the existing harnesses and emulators: their
adapters, ids, settings and running contexts. Telegram and Zalo Bot receive by long polling
unless opened with `webhook=True`; Zalo OA and Messenger always receive by webhook.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram_aiogram.adapter import AiogramAdapter
from adapters.telegram_common.base import TelegramAdapterBase
from adapters.testing import SECRET_TOKEN_HEADER, FakeBotAPI
from adapters.testing import messenger_events as fb_events
from adapters.testing import telegram_updates as tu
from adapters.testing import zalo_bot_updates as zu
from adapters.testing.messenger_api import FakeMessenger
from adapters.testing.messenger_state import rate_limited
from adapters.testing.zalo_bot_api import SECRET_HEADER, FakeZaloBotAPI
from adapters.testing.zalo_oa_api import CS, MAX_TEXT, FakeZaloOA
from adapters.testing.zalo_oa_state import Delivered as ZaloOADelivered
from botkit.adapter import Adapter
from tests.adapters import messenger_harness as fbh
from tests.adapters import telegram_harness as tgh
from tests.adapters import zalo_bot_harness as zbh
from tests.adapters import zalo_oa_harness as zoh
from tests.adapters.telegram_harness import RecordingInbox

PLATFORMS = ("telegram", "telegram_aiogram", "zalo_oa", "zalo_bot", "messenger")
FORGED = "forged-signature-0"


@dataclass(frozen=True)
class Received:
    """A message the bot sent, as its recipient holds it now (after any edit): the
    platform's id, the visible text, and the buttons read back from the platform's form as
    (label, botkit action)."""

    ref: str
    text: str
    buttons: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Posted:
    """An event the platform delivered to the adapter; `event` is its platform form, which
    `deliver_again` posts once more."""

    chat_id: str
    message_id: str
    sender_id: str
    text: str
    event: Any


class PlatformDriver(Protocol):
    adapter: Adapter
    inbox: RecordingInbox
    officer: str  # the officer's id, which is also their private chat's id
    text_limit: int  # characters one message may hold
    has_groups: bool  # residents post in groups (else they write to the bot directly)

    async def resident_posts(self, text: str) -> Posted:
        """A resident's message in the group, or to the bot where there are no groups."""
        ...

    async def officer_types(self, text: str) -> Posted:
        """The officer writes `text` in their private chat with the bot."""
        ...

    async def officer_presses(self, label: str) -> None:
        """The officer presses the button `label` under the newest alert holding it; where
        the platform has no buttons, types the command that the alert's line shows."""
        ...

    async def deliver_again(self, posted: Posted) -> None:
        """The platform delivers the same event once more (a retried webhook post)."""
        ...

    async def post_forged(self, text: str) -> int | None:
        """A resident's message posted to the webhook with a wrong signature: the status."""
        ...

    def received(self, chat_id: str) -> list[Received]:
        """What the bot sent to `chat_id`, in order."""
        ...

    def deleted(self, chat_id: str, message_id: str) -> bool:
        """Whether the emulator shows the message as deleted."""
        ...

    def rate_limit_next_send(self) -> float:
        """The next send fails with the platform's rate-limit error; the pause it asks for
        (or, where the platform states none, the one the adapter is configured to take)."""
        ...

    def make_unreachable(self, user_id: str) -> None:
        """The user can no longer be messaged (blocked the bot, or out of the reply window)."""
        ...


@dataclass(frozen=True)
class SecretHeaderHook:
    """A webhook whose posts carry a shared secret in a header (Telegram, Zalo Bot): where
    the driver posts an update itself, as the platform does when it retries, or forged."""

    url: str | None
    header: str
    secret: str

    async def post(self, body: Any, *, forged: bool = False) -> int:
        if self.url is None:
            raise RuntimeError("this driver polls: open it with webhook=True")
        headers = {self.header: FORGED if forged else self.secret}
        async with (
            aiohttp.ClientSession(trust_env=False) as http,
            http.post(self.url, json=body, headers=headers) as answer,
        ):
            return answer.status

    async def post_again(self, posted: Posted) -> None:
        status = await self.post(posted.event)
        assert status == 200, f"the webhook answered {status} to a genuine post"


def newest_with(received: list[Received], label: str) -> tuple[Received, str]:
    """The newest message holding a button labelled `label`, and that button's action."""
    for message in reversed(received):
        for button_label, action in message.buttons:
            if button_label == label:
                return message, action
    raise LookupError(f"no button {label!r} among {received!r}")


# --------------------------------------------------------------------------- Telegram

TG_GROUP = tu.supergroup_chat(-1001000000001, "Thôn 3 Cư M'gar")
TG_RESIDENT = tu.user(42, "Nguyễn Văn An")
TG_OFFICER = tu.user(555, "Y Thành")


class TelegramDriver:
    """Both Telegram adapters (python-telegram-bot, aiogram) on the Bot API emulator."""

    text_limit = 4096  # UTF-16 units; the suite's texts hold no astral characters
    has_groups = True
    officer = str(TG_OFFICER["id"])

    def __init__(
        self, api: FakeBotAPI, adapter: Adapter, inbox: RecordingInbox, hook: SecretHeaderHook
    ) -> None:
        self.api, self.adapter, self.inbox, self.hook = api, adapter, inbox, hook

    async def _push(self, message: dict[str, Any], sender: dict[str, Any]) -> Posted:
        update = tu.message_update(message)
        # The emulator numbers the update and may renumber the message (in `message`).
        update["update_id"] = self.api.push_update(update)
        chat = str(message["chat"]["id"])
        return Posted(chat, str(message["message_id"]), str(sender["id"]), message["text"], update)

    async def resident_posts(self, text: str) -> Posted:
        return await self._push(tu.text_message(TG_GROUP, TG_RESIDENT, text), TG_RESIDENT)

    async def officer_types(self, text: str) -> Posted:
        chat = tu.private_chat(TG_OFFICER)
        return await self._push(tu.text_message(chat, TG_OFFICER, text), TG_OFFICER)

    async def officer_presses(self, label: str) -> None:
        alert, data = newest_with(self.received(self.officer), label)
        (message,) = (
            m
            for m in self.api.sent_messages(int(self.officer))
            if str(m["message_id"]) == alert.ref
        )
        self.api.push_update(tu.callback_query_update(TG_OFFICER, message, data))

    async def deliver_again(self, posted: Posted) -> None:
        await self.hook.post_again(posted)

    async def post_forged(self, text: str) -> int | None:
        update = tu.message_update(tu.text_message(TG_GROUP, TG_RESIDENT, text))
        update["update_id"] = 10_000
        return await self.hook.post(update, forged=True)

    def received(self, chat_id: str) -> list[Received]:
        return [
            Received(
                str(m["message_id"]),
                m["text"],
                tuple(
                    (b["text"], b["callback_data"])
                    for row in m.get("reply_markup", {}).get("inline_keyboard", [])
                    for b in row
                ),
            )
            for m in self.api.sent_messages(int(chat_id))
        ]

    def deleted(self, chat_id: str, message_id: str) -> bool:
        gone = self.api.deleted_messages(int(chat_id))
        return any(str(m["message_id"]) == message_id for m in gone)

    def rate_limit_next_send(self) -> float:
        # Longer than the adapter waits out inside one send (max_retry_after, 5 s by default).
        self.api.fail_next("sendMessage", 429, retry_after=600)
        return 600.0

    def make_unreachable(self, user_id: str) -> None:
        self.api.block_bot(int(user_id))


@contextlib.asynccontextmanager
async def telegram(
    cls: type[TelegramAdapterBase[Any]], name: str, webhook: bool
) -> AsyncIterator[TelegramDriver]:
    async with FakeBotAPI(bot_token=tgh.TOKEN, bot_username=tgh.BOT_USERNAME) as api:
        api.add_chat(TG_GROUP, bot_member="administrator")
        api.add_chat(tu.private_chat(TG_OFFICER))
        options = tgh.webhook_options() if webhook else {}
        adapter = tgh.make_adapter(cls, api, name=name, rate_chat_per_second=0, **options)
        inbox = RecordingInbox()
        async with tgh.running(adapter, inbox):
            if webhook:
                await api.wait_until(lambda: api.webhook is not None, 10)
            else:
                await tgh.wait_polling(api)
            hook = SecretHeaderHook(options.get("webhook_url"), SECRET_TOKEN_HEADER, tgh.SECRET)
            yield TelegramDriver(api, adapter, inbox, hook)


# --------------------------------------------------------------------------- Zalo OA


def zalo_oa_action(payload: str) -> str:
    """A query button's payload (`#ack 12`, sent back as the user's text) as botkit's action."""
    command, _, argument = payload.removeprefix("#").partition(" ")
    return f"{command}:{argument}"


class ZaloOADriver:
    """The Zalo OA adapter on its emulator: a GMF group, officers as OA followers."""

    text_limit = MAX_TEXT
    has_groups = True
    officer = zoh.THANH
    rate_limited_pause = 7.0  # Zalo states no pause: the adapter takes its configured one

    def __init__(self, zalo: FakeZaloOA, adapter: Adapter, inbox: RecordingInbox) -> None:
        self.zalo, self.adapter, self.inbox = zalo, adapter, inbox

    @staticmethod
    def _posted(event: dict[str, Any], chat_id: str, sender: str) -> Posted:
        message = event["message"]
        return Posted(chat_id, message["msg_id"], sender, message["text"], event)

    async def resident_posts(self, text: str) -> Posted:
        event = self.zalo.group_text_event(zoh.GROUP_ID, zoh.RESIDENT, text)
        await self.zalo.deliver(event)
        return self._posted(event, zoh.GROUP_CHAT, zoh.RESIDENT)

    async def officer_types(self, text: str) -> Posted:
        event = self.zalo.text_event(self.officer, text)
        await self.zalo.deliver(event)
        return self._posted(event, self.officer, self.officer)

    async def officer_presses(self, label: str) -> None:
        alert, _ = newest_with(self.received(self.officer), label)
        (message,) = (m for m in self.zalo.messages_to(self.officer) if m.message_id == alert.ref)
        await self.zalo.press(self.officer, message, label)

    async def deliver_again(self, posted: Posted) -> None:
        await self.zalo.deliver(posted.event)

    async def post_forged(self, text: str) -> int | None:
        event = self.zalo.group_text_event(zoh.GROUP_ID, zoh.RESIDENT, text)
        return await self.zalo.post_event(event, signature="wrong")

    @staticmethod
    def _read(message: ZaloOADelivered) -> Received:
        buttons = tuple((b["title"], zalo_oa_action(b["payload"])) for b in message.buttons)
        return Received(message.message_id, message.text, buttons)

    def received(self, chat_id: str) -> list[Received]:
        return [self._read(m) for m in self.zalo.messages_to(chat_id)]

    def deleted(self, chat_id: str, message_id: str) -> bool:
        return False  # Zalo OA has no way to delete a message

    def rate_limit_next_send(self) -> float:
        self.zalo.fail_next(CS, -32, "Rate limit")
        return self.rate_limited_pause

    def make_unreachable(self, user_id: str) -> None:
        self.zalo.close_reply_window(user_id)  # -230: silent for 7 days


@contextlib.asynccontextmanager
async def zalo_oa(tmp_path: Path) -> AsyncIterator[ZaloOADriver]:
    async with zoh.new_fake() as zalo:
        env = zoh.environ(zalo)
        pause = ZaloOADriver.rate_limited_pause
        adapter = zoh.make_adapter(zalo, tmp_path, env, rate_limited_pause_seconds=pause)
        inbox = RecordingInbox()
        async with zoh.running(zalo, adapter, inbox):
            yield ZaloOADriver(zalo, adapter, inbox)


# --------------------------------------------------------------------------- Zalo Bot

# A button the Zalo Bot adapter writes out as a line the officer can type instead.
COMMAND_LINE = re.compile(r"(?P<label>.+) → /(?P<command>\S+)(?: (?P<argument>.*))?")


def zalo_bot_read(ref: str, text: str) -> Received:
    """A message with its trailing command lines (after a blank line) read as buttons."""
    lines = text.split("\n")
    buttons: list[tuple[str, str]] = []
    while lines and (line := COMMAND_LINE.fullmatch(lines[-1])):
        buttons.insert(0, (line["label"], f"{line['command']}:{line['argument'] or ''}"))
        lines.pop()
    if buttons and lines and not lines[-1]:
        lines.pop()
    return Received(ref, "\n".join(lines), tuple(buttons))


class ZaloBotDriver:
    """The Zalo Bot adapter on its emulator: direct messages only (a Zalo bot joins no
    groups) and no buttons."""

    text_limit = 2000
    has_groups = False
    officer = zbh.THANH["id"]

    def __init__(
        self, api: FakeZaloBotAPI, adapter: Adapter, inbox: RecordingInbox, hook: SecretHeaderHook
    ) -> None:
        self.api, self.adapter, self.inbox, self.hook = api, adapter, inbox, hook

    def _push(self, sender: dict[str, Any], text: str) -> Posted:
        update = zu.text_update(sender, text)
        self.api.push(update)
        message_id = update["message"]["message_id"]
        return Posted(sender["id"], message_id, sender["id"], text, update)

    async def resident_posts(self, text: str) -> Posted:
        return self._push(zbh.RESIDENT, text)

    async def officer_types(self, text: str) -> Posted:
        return self._push(zbh.THANH, text)

    async def officer_presses(self, label: str) -> None:
        _, action = newest_with(self.received(self.officer), label)
        self._push(zbh.THANH, "/" + action.replace(":", " ", 1).rstrip())

    async def deliver_again(self, posted: Posted) -> None:
        await self.hook.post_again(posted)

    async def post_forged(self, text: str) -> int | None:
        return await self.hook.post(zu.text_update(zbh.RESIDENT, text), forged=True)

    def received(self, chat_id: str) -> list[Received]:
        return [zalo_bot_read(m.message_id, m.text) for m in self.api.messages(chat_id)]

    def deleted(self, chat_id: str, message_id: str) -> bool:
        return False  # the Zalo Bot API has no way to delete a message

    def rate_limit_next_send(self) -> float:
        self.api.fail_next("sendMessage", 429, retry_after=7)
        return 7.0

    def make_unreachable(self, user_id: str) -> None:
        self.api.block(user_id)


@contextlib.asynccontextmanager
async def zalo_bot(webhook: bool) -> AsyncIterator[ZaloBotDriver]:
    async with FakeZaloBotAPI(zbh.TOKEN) as api:
        api.add_user(zbh.THANH["id"], zbh.THANH["display_name"])
        options = zbh.webhook_options() if webhook else {}
        inbox = RecordingInbox()
        async with zbh.serving(api, inbox, **options) as adapter:
            if not webhook:
                # Started up: a close() during run()'s getMe/deleteWebhook makes run() raise.
                await api.wait_for_call("getUpdates")
            hook = SecretHeaderHook(options.get("webhook_url"), SECRET_HEADER, zbh.SECRET)
            yield ZaloBotDriver(api, adapter, inbox, hook)


# --------------------------------------------------------------------------- Messenger


class MessengerDriver:
    """The Messenger adapter on its emulator: a Page's conversations, no groups."""

    text_limit = 2000
    has_groups = False
    officer = fbh.THANH

    def __init__(self, fb: FakeMessenger, adapter: Adapter, inbox: RecordingInbox) -> None:
        self.fb, self.adapter, self.inbox = fb, adapter, inbox

    async def _deliver(self, psid: str, text: str) -> Posted:
        item = self.fb.writes(psid, text)
        await self.fb.deliver(item)
        return Posted(psid, item["message"]["mid"], psid, text, item)

    async def resident_posts(self, text: str) -> Posted:
        return await self._deliver(fbh.RESIDENT, text)

    async def officer_types(self, text: str) -> Posted:
        return await self._deliver(self.officer, text)

    async def officer_presses(self, label: str) -> None:
        await self.fb.deliver(self.fb.presses(self.officer, label))

    async def deliver_again(self, posted: Posted) -> None:
        await self.fb.deliver(posted.event)

    async def post_forged(self, text: str) -> int | None:
        body = fb_events.page_body(fbh.PAGE_ID, [self.fb.writes(fbh.RESIDENT, text)], 1)
        raw = fb_events.encode(body)
        delivery = await self.fb.post(raw, headers=fb_events.sign("not-the-app-secret", raw))
        return delivery.status

    def received(self, chat_id: str) -> list[Received]:
        return [
            Received(d.mid, d.text, tuple(d.buttons + d.quick_replies))
            for d in self.fb.sent_to(chat_id)
        ]

    def deleted(self, chat_id: str, message_id: str) -> bool:
        return False  # the Send API has no way to delete a message

    def rate_limit_next_send(self) -> float:
        self.fb.fail_next(rate_limited(fbh.PAGE_ID, regain_minutes=2))
        return 120.0

    def make_unreachable(self, user_id: str) -> None:
        self.fb.block(user_id)  # 551: blocked the Page or turned its messages off


@contextlib.asynccontextmanager
async def messenger() -> AsyncIterator[MessengerDriver]:
    async with FakeMessenger(
        page_id=fbh.PAGE_ID,
        page_token=fbh.PAGE_TOKEN,
        app_secret=fbh.APP_SECRET,
        verify_token=fbh.VERIFY_TOKEN,
    ) as fb:
        fb.add_person(fbh.THANH, "Y Thành")
        fb.add_person(fbh.RESIDENT, "Nguyễn Văn An")
        async with fbh.running(fb) as served:
            yield MessengerDriver(fb, served.adapter, served.inbox)


# --------------------------------------------------------------------------- all of them


@contextlib.asynccontextmanager
async def open_driver(
    platform: str, tmp_path: Path, *, webhook: bool = False
) -> AsyncIterator[PlatformDriver]:
    """A running adapter of `platform` on its emulator; `webhook`: receive by webhook where
    the platform also offers polling."""
    opened: contextlib.AbstractAsyncContextManager[PlatformDriver]
    if platform == "telegram":
        opened = telegram(TelegramAdapter, platform, webhook)
    elif platform == "telegram_aiogram":
        opened = telegram(AiogramAdapter, platform, webhook)
    elif platform == "zalo_oa":
        opened = zalo_oa(tmp_path)
    elif platform == "zalo_bot":
        opened = zalo_bot(webhook)
    elif platform == "messenger":
        opened = messenger()
    else:
        raise ValueError(f"no driver for {platform!r}; known: {PLATFORMS}")
    async with opened as driver:
        yield driver
