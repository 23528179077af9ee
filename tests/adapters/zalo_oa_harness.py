"""Shared pieces of the Zalo OA tests: the emulator with its users and GMF group, the
adapter's settings, a running adapter, and botkit built as `botkit run` builds it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.testing.zalo_oa_api import FakeZaloOA
from adapters.testing.zalo_oa_state import Delivered
from adapters.zalo_oa import ZaloOAAdapter
from adapters.zalo_oa.chats import group_chat_id
from botkit.adapter import Inbox
from botkit.app import App, build_adapters
from botkit.config import AdapterSettings
from botkit.config.loader import parse_config
from botkit.dispatch import AdapterDispatcher
from botkit.runtime import serve
from tests.adapters.system import CU_MGAR, config_dict
from tests.adapters.telegram_model import model_dir

APP_ID = "1234567890123456789"
OA_ID = "4318234567890123456"
APP_SECRET = "app-secret-0123456789"
OA_SECRET_KEY = "oa-secret-key-ABCDEFGH"
THANH = "2512000000000555"  # officer on duty for Cư M'gar
HOA = "2512000000000556"  # officer on duty for Ea Tul
DUNG = "2512000000000557"  # Cư M'gar's leader, in some tests
RESIDENT = "2512000000000042"
GROUP_ID = "f1e2d3c4b5a697886950"  # a GMF group of Cư M'gar
GROUP_CHAT = group_chat_id(GROUP_ID)
NAME = "zalo_oa"
ENV_NAMES = {
    "oa_secret_key_env": "ZALO_TEST_OA_SECRET_KEY",
    "app_secret_env": "ZALO_TEST_APP_SECRET",
    "refresh_token_env": "ZALO_TEST_REFRESH_TOKEN",
}


def new_fake(**options: Any) -> FakeZaloOA:
    fake = FakeZaloOA(
        app_id=APP_ID,
        oa_id=OA_ID,
        app_secret=APP_SECRET,
        oa_secret_key=OA_SECRET_KEY,
        **options,
    )
    for user_id, name in (
        (THANH, "Y Thành"),
        (HOA, "Lê Thị Hoa"),
        (DUNG, "H'Dung"),
        (RESIDENT, "Nguyễn Văn An"),
    ):
        fake.add_user(user_id, name)
    fake.add_group(GROUP_ID, "Thôn 3 - xã Cư M'gar", [RESIDENT, THANH])
    return fake


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloOA]:
    async with new_fake() as fake:
        yield fake


def environ(fake: FakeZaloOA, refresh_token: str | None = None) -> dict[str, str]:
    """The adapter's environment; a new refresh token unless one is given."""
    return {
        ENV_NAMES["oa_secret_key_env"]: OA_SECRET_KEY,
        ENV_NAMES["app_secret_env"]: APP_SECRET,
        ENV_NAMES["refresh_token_env"]: refresh_token or fake.issue_refresh_token(),
    }


def options(fake: FakeZaloOA, data_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "app_id": APP_ID,
        "oa_id": OA_ID,
        **ENV_NAMES,
        "api_base_url": fake.base_url,
        "oauth_base_url": fake.base_url,
        "data_dir": str(data_dir),
        "webhook_listen": "127.0.0.1",
        "webhook_port": 0,
        "webhook_path": "/zalo-oa",
        "refresh_retry_seconds": 0,
        **extra,
    }


def make_adapter(
    fake: FakeZaloOA, data_dir: Path, env: dict[str, str], **extra: Any
) -> ZaloOAAdapter:
    return ZaloOAAdapter(NAME, AdapterSettings(**options(fake, data_dir, **extra)), environ=env)


async def listen(fake: FakeZaloOA, adapter: ZaloOAAdapter) -> None:
    """Wait until the adapter's webhook listens, and point the emulator at it (on Zalo,
    the webhook's address is set in the app's dashboard)."""
    await asyncio.wait_for(adapter.listening.wait(), 10)
    assert adapter.webhook is not None
    fake.webhook_url = f"http://127.0.0.1:{adapter.webhook.port}{adapter.config.webhook.path}"


@contextlib.asynccontextmanager
async def running(fake: FakeZaloOA, adapter: ZaloOAAdapter, inbox: Inbox) -> AsyncIterator[None]:
    task = asyncio.create_task(adapter.run(inbox))
    try:
        await listen(fake, adapter)
        yield
    finally:
        await adapter.close()
        await asyncio.wait_for(task, 10)


def ack_payload(message: Delivered) -> tuple[str, int]:
    """The first button's title and the incident it acknowledges (`#ack 12`)."""
    button = message.buttons[0]
    name, _, incident = str(button["payload"]).partition(" ")
    assert name == "#ack", button
    return str(button["title"]), int(incident)


@dataclass
class ZaloSystem:
    """botkit on the zalo_oa adapter, seen through the emulator."""

    zalo: FakeZaloOA
    app: App
    adapter: ZaloOAAdapter

    def alerts(self, officer: str) -> list[Delivered]:
        return [m for m in self.zalo.messages_to(officer) if m.buttons]

    async def alert(self, officer: str = THANH, skip: int = 0) -> tuple[Delivered, int]:
        """The next alert with buttons an officer holds (after `skip` of them)."""
        found = await self.zalo.wait_until(
            lambda: self.alerts(officer)[skip:], 20, description=f"an alert to {officer}"
        )
        message = found[0]
        return message, ack_payload(message)[1]


def officers_on_zalo(raw: dict[str, Any]) -> None:
    """Contacts and the GMF group, on the emulator's ids."""
    contacts = {"thanh": THANH, "hoa": HOA}
    for officer in raw["officers"]:
        officer["contacts"] = {NAME: contacts[officer["id"]]}
    raw["groups"] = [{"platform": NAME, "chat": GROUP_CHAT, "jurisdiction": CU_MGAR}]
    # Faults play out in seconds: short send timeouts, quick retries.
    raw["delivery"] = {
        "send_timeout_seconds": 1,
        "retry_base_seconds": 0.2,
        "edit_interval_seconds": 0,
    }


SystemFactory = Callable[..., contextlib.AbstractAsyncContextManager[ZaloSystem]]


@pytest.fixture
def zalo_system(zalo: FakeZaloOA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SystemFactory:
    monkeypatch.setenv("BOTKIT_TEST_HASH_KEY", "k" * 32)

    @contextlib.asynccontextmanager
    async def start(
        configure: Callable[[dict[str, Any]], None] | None = None,
        refresh_token: str | None = None,
        **extra: Any,
    ) -> AsyncIterator[ZaloSystem]:
        for key, value in environ(zalo, refresh_token).items():
            monkeypatch.setenv(key, value)
        raw = config_dict(NAME, options(zalo, tmp_path / "var", **extra))
        officers_on_zalo(raw)
        if configure is not None:
            configure(raw)
        config = parse_config(raw)
        adapters = build_adapters(config)
        app = await App.build(
            config,
            tmp_path,
            dispatcher=AdapterDispatcher(adapters),
            store_path=str(tmp_path / "botkit.sqlite3"),
            model_dir=model_dir(),
        )
        task = asyncio.create_task(serve(app, adapters, tick_seconds=0.1))
        adapter = adapters[NAME]
        assert isinstance(adapter, ZaloOAAdapter)
        try:
            await listen(zalo, adapter)
            yield ZaloSystem(zalo, app, adapter)
        finally:
            for each in adapters.values():
                await each.close()
            await asyncio.wait_for(task, 15)
            await app.close()

    return start
