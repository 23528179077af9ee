"""Shared pieces of the Messenger tests: the emulator's Page, an adapter wired to it, and
botkit built as `botkit run` builds it with a console group beside the Messenger Page."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from adapters.console import ConsoleAdapter
from adapters.messenger import MessengerAdapter
from adapters.testing.messenger_api import FakeMessenger
from adapters.testing.messenger_state import Delivered, WebhookDelivery
from botkit.adapter import InboundEvent
from botkit.app import App, build_adapters
from botkit.config import AdapterSettings
from botkit.config.loader import parse_config
from botkit.dispatch import AdapterDispatcher
from botkit.runtime import serve
from tests.adapters.system import config_dict
from tests.adapters.telegram_harness import RecordingInbox
from tests.adapters.telegram_model import model_dir

PAGE_ID = "1000000000001"
PAGE_TOKEN = "EAAtest-page-token"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ENV = {
    "FB_PAGE_TOKEN": PAGE_TOKEN,
    "FB_APP_SECRET": APP_SECRET,
    "FB_VERIFY_TOKEN": VERIFY_TOKEN,
}
THANH = "24000000000000555"  # the officer on duty for Cư M'gar
DUNG = "24000000000000557"  # the unit's leader
RESIDENT = "24000000000000042"
PATH = "/fb-hook"


def options(fb: FakeMessenger, **extra: Any) -> dict[str, Any]:
    return {
        "page_id": PAGE_ID,
        "page_token_env": "FB_PAGE_TOKEN",
        "app_secret_env": "FB_APP_SECRET",
        "verify_token_env": "FB_VERIFY_TOKEN",
        "api_base_url": fb.base_url,
        "webhook_listen": "127.0.0.1",
        "webhook_port": 0,  # a free port, read back from the running server
        "webhook_path": PATH,
        **extra,
    }


def make_adapter(
    fb: FakeMessenger, *, env: dict[str, str] | None = None, **extra: Any
) -> MessengerAdapter:
    settings = AdapterSettings(**options(fb, **extra))
    return MessengerAdapter("messenger", settings, environ=ENV if env is None else env)


def callback_url(adapter: MessengerAdapter) -> str:
    assert adapter.webhook is not None and adapter.webhook.port is not None
    return f"http://127.0.0.1:{adapter.webhook.port}{PATH}"


@pytest.fixture
async def fb() -> AsyncIterator[FakeMessenger]:
    async with FakeMessenger(
        page_id=PAGE_ID, page_token=PAGE_TOKEN, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN
    ) as fake:
        fake.add_person(THANH, "Y Thành")
        fake.add_person(RESIDENT, "Nguyễn Văn An")
        yield fake


class BatchInbox(RecordingInbox):
    """The core's inbox as the adapter sees it, remembering each hand-over."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[InboundEvent]] = []

    async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        self.batches.append(list(events))
        await super().submit_many(events, wait=wait)


class Served(NamedTuple):
    adapter: MessengerAdapter
    inbox: BatchInbox
    task: asyncio.Task[None]


@contextlib.asynccontextmanager
async def running(
    fb: FakeMessenger, adapter: MessengerAdapter | None = None, inbox: BatchInbox | None = None
) -> AsyncIterator[Served]:
    """Run an adapter (by default on the usual settings) with the emulator subscribed to its
    webhook; afterwards stop it and check that run() ended."""
    adapter = adapter or make_adapter(fb)
    inbox = inbox or BatchInbox()
    task = asyncio.create_task(adapter.run(inbox))
    try:
        await asyncio.wait_for(adapter.listening.wait(), 10)
        await fb.subscribe(callback_url(adapter))
        yield Served(adapter, inbox, task)
    finally:
        await adapter.close()
        await asyncio.wait_for(task, 10)


# --------------------------------------------------------------------------- the whole bot


class Printed(io.StringIO):
    """The console's stdout, observable: waits are woken by each print."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def write(self, text: str) -> int:
        self._changed.set()
        return super().write(text)

    async def wait_for(self, text: str, timeout: float = 15.0) -> str:
        async def find() -> str:
            while True:
                self._changed.clear()
                if text in self.getvalue():
                    return self.getvalue()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)


@dataclass
class MessengerSystem:
    """botkit with a console group and a Messenger Page, seen through the emulator."""

    fb: FakeMessenger
    app: App
    adapter: MessengerAdapter
    group: Callable[[str], None]  # a line typed into the console group
    printed: Printed

    async def alert(self, psid: str = THANH, skip: int = 0) -> tuple[Delivered, int]:
        """The (`skip`+1)-th alert with buttons delivered to `psid`, and its incident id."""
        message = await self.fb.next_message(psid, lambda d: bool(d.actions), skip=skip)
        _, _, incident = message.actions[0].partition(":")
        return message, int(incident)

    async def deliver(self, *items: dict[str, Any], retries: int = 0) -> WebhookDelivery:
        return await self.fb.deliver(*items, retries=retries)


def quick(raw: dict[str, Any]) -> None:
    """Short send timeouts and retries, so faults play out in seconds."""
    raw["delivery"] = {"send_timeout_seconds": 1, "retry_base_seconds": 0.3}


@pytest.fixture
def messenger_system(
    fb: FakeMessenger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., contextlib.AbstractAsyncContextManager[MessengerSystem]]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BOTKIT_TEST_HASH_KEY", "k" * 32)

    @contextlib.asynccontextmanager
    async def start(
        configure: Callable[[dict[str, Any]], None] | None = None, **extra: Any
    ) -> AsyncIterator[MessengerSystem]:
        raw = config_dict("messenger", options(fb, **extra))
        raw["adapters"]["console"] = {"chat": "thon-3"}
        # Y Thành is reached on Messenger first, then at the station's console.
        raw["officers"][0]["contacts"] = {"messenger": THANH, "console": "thanh"}
        raw["officers"][1]["contacts"] = {"console": "hoa"}
        quick(raw)
        if configure is not None:
            configure(raw)
        config = parse_config(raw)
        adapters = build_adapters(config)
        console, messenger = adapters["console"], adapters["messenger"]
        assert isinstance(console, ConsoleAdapter) and isinstance(messenger, MessengerAdapter)
        read_fd, write_fd = os.pipe()
        console.stdin = os.fdopen(read_fd, "r", encoding="utf-8")
        writer = os.fdopen(write_fd, "w", encoding="utf-8")
        console.stdout = printed = Printed()
        app = await App.build(
            config,
            tmp_path,
            dispatcher=AdapterDispatcher(adapters),
            store_path=str(tmp_path / "botkit.sqlite3"),
            model_dir=model_dir(),
        )
        task = asyncio.create_task(serve(app, adapters, tick_seconds=0.1))

        def group(line: str) -> None:
            writer.write(line + "\n")
            writer.flush()

        try:
            await asyncio.wait_for(messenger.listening.wait(), 15)
            await fb.subscribe(callback_url(messenger))
            yield MessengerSystem(fb, app, messenger, group, printed)
        finally:
            for each in adapters.values():
                await each.close()
            writer.close()  # the console reads to its end and stops
            await asyncio.wait_for(task, 15)
            await app.close()
            console.stdin.close()

    return start
