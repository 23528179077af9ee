"""The runtime loop: a failing adapter is restarted while the others keep serving."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from botkit.adapter import Adapter, Inbox
from botkit.config import AdapterSettings
from botkit.outbound import Outbound
from botkit.runtime import supervise


class Flaky(Adapter):
    platform: ClassVar[str] = "flaky"

    def __init__(self, failures: int) -> None:
        super().__init__("flaky", AdapterSettings())
        self.failures = failures
        self.runs = 0

    async def run(self, inbox: Inbox) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise ConnectionError("Bot API unreachable")

    async def send(self, action: Outbound) -> str | None:
        return None


async def test_a_failing_adapter_is_restarted_with_backoff(caplog, monkeypatch) -> None:
    sleeps: list[float] = []

    async def no_wait(delay: float) -> None:
        sleeps.append(delay)

    monkeypatch.setattr(asyncio, "sleep", no_wait)
    adapter = Flaky(failures=3)
    await supervise(adapter, inbox=None, max_delay=3)  # type: ignore[arg-type]
    assert adapter.runs == 4
    assert sleeps == [1.0, 2.0, 3.0]
    assert "adapter flaky stopped: Bot API unreachable" in caplog.text
