"""A source only one process may read (Telegram's getUpdates) is held in the store."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from botkit.adapter import Adapter, Inbox
from botkit.clock import VirtualClock
from botkit.config import AdapterSettings
from botkit.outbound import Outbound
from botkit.sources import HOLD, SourceTaken, release_sources, take_sources
from botkit.storage.base import Store
from tests.core.test_storage_contract import T0
from tests.storage_backends import BACKENDS, open_backend


class Poller(Adapter):
    platform: ClassVar[str] = "poll"

    def exclusive_source(self) -> str | None:
        return "telegram-bot:42"

    async def run(self, inbox: Inbox) -> None:
        return None

    async def send(self, action: Outbound) -> str | None:
        return None


@dataclass
class Process:
    store: Store
    owner: str
    clock: VirtualClock


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_backend(request.param, tmp_path) as s:
        yield s


def adapters() -> dict[str, Adapter]:
    return {"telegram": Poller("telegram", AdapterSettings())}


async def test_a_second_poller_of_the_same_bot_is_refused(store: Store) -> None:
    clock = VirtualClock(T0)
    first = Process(store, f"{socket.gethostname()}:{os.getpid()}:aa", clock)
    # A live process elsewhere (another host) holds it:
    other = Process(store, "host-b:123:bb", clock)
    assert await take_sources(other, adapters()) == ["telegram-bot:42"]  # type: ignore[arg-type]
    with pytest.raises(SourceTaken, match=r"host-b:123:bb.*telegram-bot:42"):
        await take_sources(first, adapters())  # type: ignore[arg-type]
    clock.advance_to(T0 + HOLD * 2)  # it died and its hold ran out
    assert await take_sources(first, adapters()) == ["telegram-bot:42"]  # type: ignore[arg-type]
    await release_sources(first, ["telegram-bot:42"])  # type: ignore[arg-type]
    assert await take_sources(other, adapters()) == ["telegram-bot:42"]  # type: ignore[arg-type]


async def test_a_holder_killed_on_this_host_is_recognised_at_once(store: Store) -> None:
    clock = VirtualClock(T0)
    dead_pid = 2**22 + 17  # above any pid this machine hands out
    dead = Process(store, f"{socket.gethostname()}:{dead_pid}:cc", clock)
    await take_sources(dead, adapters())  # type: ignore[arg-type]
    me = Process(store, f"{socket.gethostname()}:{os.getpid()}:dd", clock)
    assert await take_sources(me, adapters()) == ["telegram-bot:42"]  # type: ignore[arg-type]
