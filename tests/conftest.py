"""Shared fixtures: a small config, an in-memory store, a virtual clock, a recording dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botkit.adapter import PhotoUnavailable
from botkit.config import Config
from botkit.config.loader import parse_config
from botkit.outbound import Outbound

ROOT = Path(__file__).resolve().parent.parent
CU_MGAR = 24280
QUANG_PHU = 24259
EA_TUL = 24277

BASE_CONFIG: dict[str, Any] = {
    "bot": {"retention_days": 30, "audit_retention_days": 365, "data_dir": "var"},
    "jurisdiction": {"province": 66, "communes": [CU_MGAR, QUANG_PHU, EA_TUL], "default": CU_MGAR},
    "units": [
        {
            "id": "cu-mgar",
            "name": "Công an xã Cư M'gar",
            "kind": "commune_police",
            "jurisdictions": [CU_MGAR],
            "parent": "tinh",
            "leader": "dung",
            "shifts": [{"officers": ["thanh"]}],
            "escalation": [
                {"notify": "on_duty", "wait_minutes": 15},
                {"notify": "leader", "wait_minutes": 30},
                {"notify": "unit:tinh", "wait_minutes": 60},
            ],
            "reminder_hours": 4,
        },
        {
            "id": "quang-phu",
            "name": "Công an xã Quảng Phú",
            "kind": "commune_police",
            "jurisdictions": [QUANG_PHU, EA_TUL],
            "parent": "tinh",
            "leader": "hoa",
            "shifts": [{"officers": ["hoa"]}],
        },
        {
            "id": "csgt",
            "name": "Đội CSGT",
            "kind": "traffic_police",
            "parent": "tinh",
            "leader": "son",
            "shifts": [{"officers": ["son"]}],
        },
        {
            "id": "tinh",
            "name": "Công an tỉnh",
            "kind": "provincial",
            "leader": "tuan",
            "shifts": [{"officers": ["tuan"]}],
        },
    ],
    "officers": [
        {"id": "thanh", "name": "Y Thành", "unit": "cu-mgar", "contacts": {"test": "u-thanh"}},
        {"id": "dung", "name": "H'Dung", "unit": "cu-mgar", "contacts": {"test": "u-dung"}},
        {"id": "hoa", "name": "Hoa", "unit": "quang-phu", "contacts": {"test": "u-hoa"}},
        {"id": "son", "name": "Sơn", "unit": "csgt", "contacts": {"test": "u-son"}},
        {"id": "tuan", "name": "Tuấn", "unit": "tinh", "contacts": {"test": "u-tuan"}},
    ],
    "groups": [
        {"platform": "test", "chat": "g-cu-mgar", "jurisdiction": CU_MGAR},
        {"platform": "test", "chat": "g-quang-phu", "jurisdiction": QUANG_PHU},
    ],
    "categories": {
        "fake_news": {"threshold": 0.6, "unit": "commune_police", "policy": "alert+reply"},
        "crime_report": {"threshold": 0.6, "unit": "commune_police"},
        "scam": {"threshold": 0.6, "unit": "commune_police"},
        "traffic_accident": {"threshold": 0.6, "unit": "traffic_police"},
    },
    "adapters": {"test": {"enabled": True}},
}


def make_config(**overrides: Any) -> Config:
    raw = copy.deepcopy(BASE_CONFIG)
    raw.update(overrides)
    return parse_config(raw)


@pytest.fixture
def config() -> Config:
    return make_config()


@pytest.fixture
def t0() -> datetime:
    # A Monday, 09:00 in Vietnam
    return datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


class RecordingDispatcher:
    """The dispatch port for tests: records every action, can be told to fail.

    `fail_next` fails that many sends with a dropped connection; `failures` raises the given
    exceptions, one per send, for sends to `fail_on` (any platform when None).
    """

    def __init__(self, names: tuple[str, ...] = ("test",)) -> None:
        self.names = set(names)
        self.sent: list[tuple[str, Outbound]] = []
        self.fail_next = 0
        self.failures: list[BaseException] = []
        self.fail_on: str | None = None
        # Set: sends wait for room under the platform's rate limits until it is set.
        self.no_room: asyncio.Event | None = None
        self.waiting_for_room = 0
        self.cannot_edit: set[str] = set()  # platforms without editing (Messenger, Zalo)
        self.pictures: dict[str, bytes] = {}  # photo refs → bytes, for `fetch_photo`
        self._ids = itertools.count(1)

    def has(self, adapter_name: str) -> bool:
        return adapter_name in self.names

    async def prepare(self) -> None:
        return None

    def can_delete(self, adapter_name: str) -> bool:
        return False

    def can_edit(self, adapter_name: str) -> bool:
        return adapter_name not in self.cannot_edit

    async def ready(self, adapter_name: str, action: Outbound) -> None:
        if self.no_room is not None:
            self.waiting_for_room += 1
            await self.no_room.wait()

    async def send(self, adapter_name: str, action: Outbound) -> str | None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("platform unreachable")
        if self.failures and self.fail_on in (None, adapter_name):
            raise self.failures.pop(0)
        self.sent.append((adapter_name, action))
        return f"m{next(self._ids)}"

    def to(self, chat_id: str) -> list[Outbound]:
        return [a for _, a in self.sent if getattr(a, "chat_id", None) == chat_id]

    async def fetch_photo(self, adapter_name: str, ref: str, max_bytes: int) -> bytes:
        """The bytes put in `pictures` under `ref` (what an adapter would download)."""
        if ref not in self.pictures:
            raise PhotoUnavailable(f"{ref}: no such file")
        data = self.pictures[ref]
        if len(data) > max_bytes:
            raise PhotoUnavailable(f"{len(data):,} bytes, over the limit of {max_bytes:,}")
        return data


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Really read-only, for root too (the immutable attribute), else by permissions."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o755 if path.is_dir() else 0o644)
