"""botkit as `botkit run` builds it, on one Telegram adapter, against the Bot API emulator.

Shared by the conformance suite and the delivery fault tests: config → `build_adapters` →
`App.build` → `serve`, driven only through the emulator (updates in, Bot API calls out).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.telegram_common.base import TelegramAdapterBase
from adapters.testing import FakeBotAPI, RecordedCall
from adapters.testing import telegram_updates as tu
from botkit.app import App, build_adapters
from botkit.config.loader import parse_config
from botkit.dispatch import AdapterDispatcher
from botkit.runtime import serve
from botkit.texts import Texts
from tests.adapters.telegram_harness import BOT, SECRET, TOKEN, AdapterClass
from tests.adapters.telegram_model import model_dir
from tests.redis_server import fresh_prefix, shared_url

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
async def emulator() -> AsyncIterator[FakeBotAPI]:
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
    emulator: FakeBotAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., contextlib.AbstractAsyncContextManager[System]]:
    api = emulator
    monkeypatch.setenv("BOTKIT_TEST_TG_TOKEN", TOKEN)
    monkeypatch.setenv("TG_SECRET", SECRET)
    monkeypatch.setenv("BOTKIT_TEST_HASH_KEY", "k" * 32)

    @contextlib.asynccontextmanager
    async def start(
        cls: AdapterClass,
        configure: Callable[[dict[str, Any]], None] | None = None,
        storage: str = "sqlite",
        **options: Any,
    ) -> AsyncIterator[System]:
        """`options` go to the adapter's settings; `configure` may change the raw config;
        `storage`: "sqlite" (a file) or "redis" (the tests' real server, a prefix of its own)."""
        name = NAMES[cls.__name__]
        adapter_options = {
            "class": f"{cls.__module__}:{cls.__name__}",
            "token_env": "BOTKIT_TEST_TG_TOKEN",
            "api_base_url": api.base_url,
            "poll_timeout": 1,
            **options,
        }
        raw = config_dict(name, adapter_options)
        store_path: str | None = str(tmp_path / "botkit.sqlite3")
        if storage == "redis":
            monkeypatch.setenv("BOTKIT_REDIS_URL", shared_url())
            raw["storage"] = {"backend": "redis", "key_prefix": fresh_prefix()}
            store_path = None
        if configure is not None:
            configure(raw)
        config = parse_config(raw)
        adapters = build_adapters(config)
        app = await App.build(
            config,
            tmp_path,
            dispatcher=AdapterDispatcher(adapters),
            store_path=store_path,
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
