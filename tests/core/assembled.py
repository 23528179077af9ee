"""The assembled core on a file store, a virtual clock and a recording dispatcher, as the
residents', bulletins' and web tests use it; and the console's users on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botkit.app import App
from botkit.clock import VirtualClock
from tests.conftest import ROOT, RecordingDispatcher, make_config

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in Vietnam
SCAM = (
    "Chúc mừng số điện thoại của bạn đã trúng thưởng xe SH 150i, vui lòng nộp phí 2 triệu vào"
    " tài khoản 0987654321 để nhận giải trong hôm nay"
)


@contextlib.asynccontextmanager
async def assembled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **config: Any
) -> AsyncIterator[App]:
    """`config`: sections of the test config to replace (`bot` keeps its data_dir here)."""
    monkeypatch.setenv("BOTKIT_HASH_KEY", "test-key-0123456789abcdef")
    bot = {"data_dir": str(tmp_path / "var"), "retention_days": 30, **config.pop("bot", {})}
    app = await App.build(
        make_config(bot=bot, **config),
        ROOT,
        clock=VirtualClock(T0),
        dispatcher=RecordingDispatcher(("test",)),
        store_path=str(tmp_path / "db.sqlite3"),
    )
    try:
        yield app
    finally:
        await app.close()


WEB_PASSWORD = "mat-khau-dai-1"


@contextlib.asynccontextmanager
async def console_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, flagged: bool = True
) -> AsyncIterator[App]:
    """The core with the console's four kinds of user (an admin, two officers of different
    units, a viewer) and, when `flagged`, one scam flagged in Cư M'gar's group."""
    from botkit.domain import Message
    from botkit.pipeline import Inbound
    from botkit.web.console import hash_password

    hashed = hash_password(WEB_PASSWORD)
    users = [
        {"name": "admin", "role": "admin", "password_hash": hashed},
        {"name": "thanh", "role": "officer", "officer": "thanh", "password_hash": hashed},
        {"name": "hoa", "role": "officer", "officer": "hoa", "password_hash": hashed},
        {"name": "xem", "role": "viewer", "password_hash": hashed},
    ]
    async with assembled(tmp_path, monkeypatch, web={"users": users}) as built:
        if flagged:
            message = Message("test", "g-cu-mgar", "1", SCAM, T0, sender_id="s1")
            await built.pipeline.process([Inbound(message)])
        yield built
