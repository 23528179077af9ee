"""One conformance suite for both Telegram adapters: the real botkit core, the Bot API emulator.

Each test builds botkit as `botkit run` does (config → `build_adapters` → `App.build` →
`serve`), with the adapter chosen by the parameter, and drives it only through the emulator:
updates in, Bot API calls out. Waits are event-driven and bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.telegram.base import TelegramAdapterBase
from adapters.testing import SECRET_TOKEN_HEADER, FakeBotAPI, RecordedCall
from adapters.testing import telegram_updates as tu
from botkit.app import App, build_adapters
from botkit.config.loader import parse_config
from botkit.dispatch import AdapterDispatcher
from botkit.runtime import serve
from botkit.texts import Texts
from tests.adapters.telegram_harness import (
    ADAPTERS,
    BOT,
    REFUSED_STATUS,
    SECRET,
    TOKEN,
    AdapterClass,
    webhook_options,
)
from tests.adapters.telegram_model import model_dir

CU_MGAR = 24280
EA_TUL = 24277
GROUP = tu.supergroup_chat(-1001000000001, "Thôn 3 - xã Cư M'gar")
BASIC = tu.group_chat(-4000000002, "Tổ dân phố 5 - Ea Tul")
MIGRATED_TO = -1001000000099
ADMIN = tu.user(7, "Trần Thị Bình")
RESIDENT = tu.user(42, "Nguyễn Văn An")
THANH = tu.user(555, "Y Thành")  # on duty for Cư M'gar
HOA = tu.user(556, "Lê Thị Hoa")  # on duty for Ea Tul
HOAX = (
    "CHIA SẺ GẤP: thôn 3 xã Cư M'gar có 15 ca covid biến chủng mới, bộ y tế giấu kín, "
    "bà con đóng cửa ngay, chia sẻ cho mọi người cùng biết!!!"
)
HOAX_EA_TUL = (
    "KHẨN CẤP!!! nước máy Ea Tul bị nhiễm độc, đã có người chết, công an giấu không cho "
    "đưa tin, chia sẻ gấp cho cả nhóm"
)
TEXTS = Texts("vi")
NAMES = {"TelegramAdapter": "telegram", "AiogramAdapter": "telegram_aiogram"}


def config_dict(name: str, adapter_options: dict[str, Any]) -> dict[str, Any]:
    contact = {name: "555"}
    return {
        "bot": {"data_dir": "var", "hash_key_env": "BOTKIT_TEST_HASH_KEY"},
        "jurisdiction": {"province": 66, "communes": [CU_MGAR, EA_TUL], "default": CU_MGAR},
        "units": [
            {
                "id": "cu-mgar",
                "name": "Công an xã Cư M'gar",
                "kind": "commune_police",
                "jurisdictions": [CU_MGAR],
                "shifts": [{"officers": ["thanh"]}],
            },
            {
                "id": "ea-tul",
                "name": "Công an xã Ea Tul",
                "kind": "commune_police",
                "jurisdictions": [EA_TUL],
                "shifts": [{"officers": ["hoa"]}],
            },
            {
                "id": "csgt",
                "name": "Đội CSGT",
                "kind": "traffic_police",
                "shifts": [{"officers": ["thanh"]}],
            },
        ],
        "officers": [
            {"id": "thanh", "name": "Y Thành", "unit": "cu-mgar", "contacts": contact},
            {"id": "hoa", "name": "Lê Thị Hoa", "unit": "ea-tul", "contacts": {name: "556"}},
        ],
        "categories": {
            "fake_news": {"threshold": 0.5, "unit": "commune_police", "policy": "alert+reply"},
            "crime_report": {"threshold": 0.5, "unit": "commune_police"},
            "scam": {"threshold": 0.5, "unit": "commune_police"},
            "traffic_accident": {"threshold": 0.5, "unit": "traffic_police"},
        },
        "adapters": {name: adapter_options},
    }


@dataclass
class System:
    """botkit running on one Telegram adapter, seen through the emulator."""

    api: FakeBotAPI
    app: App
    adapter: TelegramAdapterBase[Any]
    name: str

    def sent_to(self, chat_id: int) -> list[RecordedCall]:
        return [c for c in self.api.calls_to("sendMessage") if c.params.get("chat_id") == chat_id]

    async def next_send(
        self,
        chat_id: int,
        where: Callable[[RecordedCall], bool] = lambda c: True,
        timeout: float = 15.0,
    ) -> RecordedCall:
        return await self.api.wait_for_call(
            "sendMessage",
            lambda c: c.params.get("chat_id") == chat_id and where(c),
            timeout=timeout,
        )

    async def alert(self, officer: int = 555, skip: int = 0) -> tuple[dict[str, Any], int]:
        """The next alert with buttons delivered to an officer (after `skip` ones), and its
        incident id. Delivered means the emulator holds the message, not merely a request."""

        def delivered() -> list[dict[str, Any]]:
            return [m for m in self.api.sent_messages(officer) if "reply_markup" in m]

        alerts = await self.api.wait_until(
            lambda: delivered() if len(delivered()) > skip else None,
            15,
            description=f"an alert to {officer}",
        )
        message = alerts[skip]
        data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        action, _, incident = data.partition(":")
        assert action == "ack"
        return message, int(incident)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(bot_token=TOKEN, bot_username="botkit_test_bot") as fake:
        fake.add_chat(
            GROUP, bot_member="left", members=[tu.member_owner(ADMIN), tu.member_member(RESIDENT)]
        )
        fake.add_chat(BASIC, bot_member="left", members=[tu.member_owner(ADMIN)])
        fake.add_chat(tu.private_chat(THANH))
        fake.add_chat(tu.private_chat(HOA))
        yield fake


@pytest.fixture
def system_factory(
    api: FakeBotAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., contextlib.AbstractAsyncContextManager[System]]:
    monkeypatch.setenv("BOTKIT_TEST_TG_TOKEN", TOKEN)
    monkeypatch.setenv("TG_SECRET", SECRET)
    monkeypatch.setenv("BOTKIT_TEST_HASH_KEY", "k" * 32)

    @contextlib.asynccontextmanager
    async def start(cls: AdapterClass, **options: Any) -> AsyncIterator[System]:
        name = NAMES[cls.__name__]
        adapter_options = {
            "class": f"{cls.__module__}:{cls.__name__}",
            "token_env": "BOTKIT_TEST_TG_TOKEN",
            "api_base_url": api.base_url,
            "poll_timeout": 1,
            **options,
        }
        config = parse_config(config_dict(name, adapter_options))
        adapters = build_adapters(config)
        app = await App.build(
            config,
            tmp_path,
            dispatcher=AdapterDispatcher(adapters),
            store_path=str(tmp_path / "botkit.sqlite3"),
            model_dir=model_dir(),
        )
        task = asyncio.create_task(serve(app, adapters, tick_seconds=0.1))
        adapter = adapters[name]
        assert isinstance(adapter, cls)
        try:
            yield System(api, app, adapter, name)
        finally:
            for each in adapters.values():
                await each.close()
            await asyncio.wait_for(task, 15)
            await app.close()

    return start


async def bind_group(s: System, chat: dict[str, Any] = GROUP, commune: str = "Cư M'gar") -> None:
    """Add the bot to a group and bind the group to a commune, as its admin would."""
    s.api.push_update(tu.bot_added_update(chat, BOT, ADMIN))
    welcome = await s.next_send(chat["id"])
    assert welcome.params["text"] == TEXTS.get("group.joined")
    s.api.push_update(tu.message_update(tu.text_message(chat, ADMIN, f"/setup {commune}")))
    await s.next_send(chat["id"], lambda c: c.params["text"].startswith("Đã gắn nhóm"))


def buttons(message: dict[str, Any]) -> list[str]:
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in keyboard for b in row]


def post(chat: dict[str, Any], text: str, sender: dict[str, Any] = RESIDENT) -> dict[str, Any]:
    return tu.message_update(tu.text_message(chat, sender, text))


# --------------------------------------------------------------------------- the scenario


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_join_setup_hoax_alert_acknowledge_edit(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls) as s:
        # 1. the bot is added to a group: pending, and it says which rights it needs
        s.api.push_update(tu.bot_added_update(GROUP, BOT, ADMIN))
        welcome = await s.next_send(GROUP["id"])
        assert "quyền quản trị" in welcome.params["text"]
        # 2. the group's admin binds it to the commune
        s.api.push_update(post(GROUP, "/setup Cư M'gar", sender=ADMIN))
        bound = await s.next_send(GROUP["id"], lambda c: c.params["text"].startswith("Đã gắn"))
        assert "Cư M" in bound.params["text"]
        # 3. a hoax is posted
        s.api.push_update(post(GROUP, HOAX))
        # 4. the officer on duty receives a direct alert with the four buttons
        message, incident = await s.alert()
        offered = buttons(message)
        assert offered[0] == f"ack:{incident}"
        assert {b.partition(":") for b in offered} <= {
            (a, ":", str(incident)) for a in ("ack", "confirm", "false", "resolve")
        }
        assert "Tin giả" in message["text"]
        # 5. the officer presses "acknowledge"
        s.api.push_update(tu.callback_query_update(THANH, message, f"ack:{incident}"))
        # 6. the alert is edited in place, the press answered, the officer told
        edit = await s.api.wait_for_call("editMessageText", timeout=15)
        assert (edit.params["chat_id"], edit.params["message_id"]) == (555, message["message_id"])
        assert TEXTS.get("state.acknowledged") in edit.params["text"]
        answer = await s.api.wait_for_call("answerCallbackQuery", timeout=15)
        assert f"#{incident}" in answer.params["text"]
        stored = s.api.sent_messages(555)[0]
        assert TEXTS.get("state.acknowledged") in stored["text"]
        assert f"ack:{incident}" not in buttons(stored)  # acknowledged once, not again
        assert await s.app.store.intake.dead_letters() == []
    assert len(s.sent_to(555)) >= 1


# --------------------------------------------------------------------------- message kinds


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_edited_message_is_reclassified(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s)
        original = tu.text_message(GROUP, RESIDENT, "Chiều nay họp tổ dân phố lúc 5 giờ nhé")
        s.api.push_update(tu.message_update(original))
        await s.api.wait_until(lambda: s.app.pipeline.messages >= 1, 15)
        assert s.sent_to(555) == []
        s.api.push_update(tu.edited_message_update(original, HOAX))
        await s.alert()


@pytest.mark.parametrize("cls", ADAPTERS)
@pytest.mark.parametrize("kind", ["caption", "forward"])
async def test_caption_and_forward_are_classified(
    cls: AdapterClass, kind: str, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s)
        if kind == "caption":
            message = tu.photo_message(GROUP, RESIDENT, HOAX)
        else:
            origin = tu.origin_channel(tu.channel_chat(-1007, "Tin nóng 24h"), 31)
            message = tu.forwarded_message(GROUP, RESIDENT, HOAX, origin)
        s.api.push_update(tu.message_update(message))
        await s.alert()


# --------------------------------------------------------------------------- transport


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_webhook_with_right_and_wrong_secret(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    options = webhook_options()
    async with system_factory(cls, rate_chat_per_second=0, **options) as s:
        await s.api.wait_until(lambda: s.api.webhook is not None, 15)
        await bind_group(s)
        forged = post(GROUP, HOAX)
        forged["update_id"] = 10_000
        async with aiohttp.ClientSession() as http:
            for secret in ("wrong", ""):
                async with http.post(
                    options["webhook_url"], json=forged, headers={SECRET_TOKEN_HEADER: secret}
                ) as response:
                    assert response.status == REFUSED_STATUS[cls]
        assert s.app.pipeline.messages == 0  # nothing of the forged update was processed
        s.api.push_update(post(GROUP, HOAX))  # delivered by the emulator with the secret
        await s.alert()
        assert all(d.ok for d in s.api.webhook_deliveries)


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_429_is_retried_and_no_alert_is_lost(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    # Three 429s in a row, one retry per send: the first delivery fails, the core keeps the
    # alert and its housekeeping resends it until Telegram accepts.
    async with system_factory(cls, max_retries=1, rate_chat_per_second=0) as s:
        await bind_group(s)
        s.api.fail_next(
            "sendMessage",
            429,
            retry_after=1,
            times=3,
            when=lambda c: c.params.get("chat_id") == 555,
        )
        s.api.push_update(post(GROUP, HOAX))
        await s.alert()
        attempts = s.sent_to(555)
        assert len(attempts) == 4  # three refused, the fourth delivered
        assert attempts[1].at - attempts[0].at >= 1.0  # retry_after was honoured


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_migrated_group_keeps_its_commune(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s, BASIC, "Ea Tul")
        s.api.push_update(tu.message_update(tu.migrate_to_chat_message(BASIC, MIGRATED_TO, ADMIN)))
        new_chat = {"id": MIGRATED_TO, "type": "supergroup", "title": BASIC["title"]}
        s.api.push_update(
            tu.message_update(tu.migrate_from_chat_message(new_chat, BASIC["id"], ADMIN))
        )
        s.api.push_update(post(new_chat, HOAX_EA_TUL))
        # Ea Tul's officer is alerted, not the default commune's: the binding moved along
        await s.alert(officer=556)
        assert s.sent_to(555) == []


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_malformed_update_is_skipped_and_the_next_processed(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s)
        bad = s.api.push_update({"update_id": 0, "message": {"message_id": 1, "chat": GROUP}})
        huge = "tin nhắn dài " * 8_000  # ~100 KB
        s.api.push_update(post(GROUP, huge))
        s.api.push_update(post(GROUP, HOAX))
        await s.alert()
        await s.api.wait_for_confirmation(bad)
        assert s.adapter.stats.skipped == 1
        assert await s.app.store.intake.dead_letters() == []


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_button_pressed_by_a_non_officer_is_refused(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        await bind_group(s)
        s.api.push_update(post(GROUP, HOAX))
        _, incident = await s.alert()
        # A group member presses "acknowledge" (here under the bot's welcome message; the
        # emulator, like a forged client, does not check where the button was): no officer.
        shown = s.api.sent_messages(GROUP["id"])[0]
        since = len(s.api.calls)
        s.api.push_update(tu.callback_query_update(RESIDENT, shown, f"ack:{incident}"))
        refusal = TEXTS.get("reply.not_officer")
        answer = await s.api.wait_for_call("answerCallbackQuery", since=since, timeout=15)
        assert answer.params["text"] == refusal
        reply = await s.next_send(GROUP["id"], lambda c: c.params["text"] == refusal)
        assert reply.params["reply_parameters"]["message_id"] == shown["message_id"]
        assert s.api.calls_to("editMessageText") == []  # the incident did not move
        detail = await s.app.store.incidents.get(incident)
        assert detail is not None and detail.incident.state.value == "opened"


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_setup_by_a_member_is_refused(
    cls: AdapterClass, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, rate_chat_per_second=0) as s:
        s.api.push_update(tu.bot_added_update(GROUP, BOT, ADMIN))
        await s.next_send(GROUP["id"])
        s.api.push_update(post(GROUP, "/setup Ea Tul", sender=RESIDENT))
        refusal = await s.next_send(
            GROUP["id"], lambda c: "quản trị" in c.params["text"] and "/setup" in c.params["text"]
        )
        assert not refusal.params["text"].startswith("Đã gắn")
        group = await s.app.store.groups.get(s.name, str(GROUP["id"]))
        assert group is not None and group[1] == "pending"
