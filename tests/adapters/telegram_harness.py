"""Shared pieces for the Telegram adapter tests: both adapters, an inbox, a running context."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import pytest

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram_aiogram.adapter import AiogramAdapter
from adapters.telegram_common.base import TelegramAdapterBase
from adapters.testing import FakeBotAPI
from adapters.testing import telegram_updates as tu
from botkit.adapter import InboundEvent
from botkit.config import AdapterSettings

E = TypeVar("E")

TOKEN = "123456:TEST-token"
BOT_USERNAME = "botkit_test_bot"
BOT = tu.bot_user(123456, BOT_USERNAME)
SECRET = "s3cr3t-TOKEN_1"
ENV = {"TG_TOKEN": TOKEN, "TG_SECRET": SECRET}

AdapterClass = type[TelegramAdapterBase[Any]]
ADAPTERS = [
    pytest.param(TelegramAdapter, id="ptb"),
    pytest.param(AiogramAdapter, id="aiogram"),
]
# What each library's webhook answers to a wrong secret token.
REFUSED_STATUS: dict[type[Any], int] = {TelegramAdapter: 403, AiogramAdapter: 401}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def adapter_settings(api: FakeBotAPI, **options: Any) -> AdapterSettings:
    base: dict[str, Any] = {
        "token_env": "TG_TOKEN",
        "api_base_url": api.base_url,
        "poll_timeout": 1,
    }
    return AdapterSettings(**(base | options))


def webhook_options() -> dict[str, Any]:
    port = free_port()
    return {
        "mode": "webhook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
        "webhook_path": "/tg-hook",
        "webhook_url": f"http://127.0.0.1:{port}/tg-hook",
        "webhook_secret_env": "TG_SECRET",
    }


def make_adapter(
    cls: AdapterClass, api: FakeBotAPI, *, name: str = "tg", **options: Any
) -> TelegramAdapterBase[Any]:
    return cls(name, adapter_settings(api, **options), environ=ENV)  # type: ignore[call-arg]


class RecordingInbox:
    """The core's inbox as the adapter sees it; waits are event-driven."""

    def __init__(self) -> None:
        self.events: list[InboundEvent] = []
        self._changed = asyncio.Event()

    async def submit(self, event: InboundEvent) -> None:
        await self.submit_many([event])

    async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        self.events += events
        self._changed.set()

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(
        self, kind: type[E], where: Callable[[E], bool] = lambda e: True, timeout: float = 5.0
    ) -> E:
        async def find() -> E:
            while True:
                for event in self.events:
                    if isinstance(event, kind) and where(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)


@contextlib.asynccontextmanager
async def running(
    adapter: TelegramAdapterBase[Any], inbox: Any
) -> AsyncIterator[asyncio.Task[None]]:
    """Run the adapter as a task; close it and make sure run() returned afterwards."""
    task = asyncio.create_task(adapter.run(inbox))
    try:
        yield task
    finally:
        await adapter.close()
        await asyncio.wait_for(task, 10)


async def wait_polling(api: FakeBotAPI, since: int = 0) -> None:
    """Until the adapter's first long poll reached the emulator."""
    await api.wait_for_call("getUpdates", since=since, timeout=10)
