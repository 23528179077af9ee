"""Shared pieces for the Zalo Bot adapter tests: the emulator, adapters against it, inboxes
that refuse, and botkit built as `botkit run` builds it with a Telegram group and Zalo
officers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.kit.loop import Backoff
from adapters.telegram import TelegramAdapter
from adapters.testing import FakeBotAPI
from adapters.testing import zalo_bot_updates as zu
from adapters.testing.zalo_bot_api import FakeZaloBotAPI
from adapters.zalo_bot import ZaloBotAdapter
from botkit.adapter import InboundEvent, IntakeUnavailable
from botkit.app import App
from botkit.config import AdapterSettings
from botkit.storage.base import StoreUnavailable
from tests.adapters.system import System
from tests.adapters.telegram_harness import RecordingInbox, free_port

TOKEN = "1459232241454765289:TEST-zalo-secret"
SECRET = "zalo-hook-Secret_01"
ENV = {"ZALO_TOKEN": TOKEN, "ZALO_SECRET": SECRET}
NAME = "zalo_bot"
# Zalo ids are opaque hex strings; in a private chat the chat id is the user's id.
THANH = zu.user("e4ea2cd5189df1c3a88c", "Y Thành")
HOA = zu.user("7b1f0c9e2d4a6b8c0d1e", "Lê Thị Hoa", name_field="first_name")
RESIDENT = zu.user("0a1b2c3d4e5f60718293", "Nguyễn Văn An")


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloBotAPI]:
    async with FakeZaloBotAPI(TOKEN) as api:
        for person in (THANH, HOA):
            api.add_user(person["id"], person.get("display_name") or person["first_name"])
        yield api


def make_adapter(
    api: FakeZaloBotAPI, *, environ: dict[str, str] = ENV, **options: Any
) -> ZaloBotAdapter:
    base: dict[str, Any] = {
        "token_env": "ZALO_TOKEN",
        "api_base_url": api.base_url,
        "poll_timeout": 1,
        "rate_chat_per_second": 0,  # no pacing between pieces where a test is not about it
    }
    return ZaloBotAdapter(
        NAME, AdapterSettings(**(base | options)), environ=environ, backoff=Backoff(0.02, 0.2)
    )


def webhook_options(path: str = "/zalo-hook") -> dict[str, Any]:
    port = free_port()
    return {
        "mode": "webhook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
        "webhook_path": path,
        "webhook_url": f"http://127.0.0.1:{port}{path}",
        "webhook_secret_env": "ZALO_SECRET",
    }


@contextlib.asynccontextmanager
async def serving(api: FakeZaloBotAPI, inbox: Any, **options: Any) -> AsyncIterator[ZaloBotAdapter]:
    """An adapter receiving into `inbox` until the block ends; run() must end after close()."""
    adapter = make_adapter(api, **options)
    task = asyncio.create_task(adapter.run(inbox))
    try:
        if options.get("mode") == "webhook":
            await api.wait_until(lambda: api.webhook is not None, 10, what="setWebhook")
        yield adapter
    finally:
        await adapter.close()
        await asyncio.wait_for(task, 10)


class RefusingInbox(RecordingInbox):
    """Refuses the first `refusals` hand-overs as botkit does when it cannot store them."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals
        self.refused: list[list[InboundEvent]] = []
        self.changed = asyncio.Event()

    async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        if self.refusals:
            self.refusals -= 1
            self.refused.append(list(events))
            self.changed.set()
            raise IntakeUnavailable("events not accepted: database or disk is full")
        await super().submit_many(events, wait=wait)

    async def wait_refused(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.refused) < count:
                self.changed.clear()
                await self.changed.wait()


# --------------------------------------------------------------------------- whole system


@dataclass
class ZaloSystem:
    """botkit with the Telegram adapter (the residents' group) and the Zalo Bot adapter (the
    officers), seen through both emulators."""

    zalo: FakeZaloBotAPI
    telegram: FakeBotAPI
    app: App

    async def alert(self, officer: str, skip: int = 0) -> tuple[str, int]:
        """The text of the next alert page the officer holds (after `skip`), and its incident."""
        page = await self.zalo.wait_for_message(
            officer, lambda m: "→ /ack " in m.text, skip=skip, timeout=15
        )
        incident = int(page.text.rsplit("→ /ack ", 1)[1].split()[0])
        return page.text, incident


def officers_on_zalo(zalo_options: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """Changes the Telegram tests' config: the officers' contacts are on Zalo, the residents'
    group stays on Telegram."""

    def configure(raw: dict[str, Any]) -> None:
        contacts = {"thanh": THANH["id"], "hoa": HOA["id"]}
        for officer in raw["officers"]:
            officer["contacts"] = {NAME: contacts[officer["id"]]}
        raw["adapters"][NAME] = zalo_options
        raw["delivery"] = {"send_timeout_seconds": 2, "retry_base_seconds": 0.3}

    return configure


@pytest.fixture
def zalo_system(
    system_factory: Callable[..., contextlib.AbstractAsyncContextManager[System]],
    zalo: FakeZaloBotAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., contextlib.AbstractAsyncContextManager[ZaloSystem]]:
    """botkit built as `botkit run` builds it (`tests.adapters.system`), with both adapters;
    `options` go to the Zalo adapter's settings."""
    for variable, value in ENV.items():
        monkeypatch.setenv(variable, value)

    @contextlib.asynccontextmanager
    async def start(**options: Any) -> AsyncIterator[ZaloSystem]:
        zalo_options = {
            "class": "adapters.zalo_bot:ZaloBotAdapter",
            "token_env": "ZALO_TOKEN",
            "api_base_url": zalo.base_url,
            "poll_timeout": 1,
            **options,
        }
        async with system_factory(TelegramAdapter, officers_on_zalo(zalo_options)) as system:
            yield ZaloSystem(zalo, system.api, system.app)

    return start


class IntakeOutage:
    """The store refusing the intake's next `times` writes, as a full disk does."""

    def __init__(self, app: App, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
        self.left = times
        self._append = app.store.intake.append
        monkeypatch.setattr(app.store.intake, "append", self._failing)

    async def _failing(self, *args: Any, **kwargs: Any) -> int:
        if self.left <= 0:
            return await self._append(*args, **kwargs)
        self.left -= 1
        raise StoreUnavailable("botkit.sqlite3: database or disk is full")
