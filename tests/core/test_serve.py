"""The runtime loop: a failing adapter is restarted while the others keep serving."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import ClassVar

import pytest

from adapters.console import ConsoleAdapter
from botkit.adapter import Adapter, Inbox
from botkit.config import AdapterSettings
from botkit.outbound import Outbound
from botkit.runtime import serve, supervise
from tests.core.assembled import assembled


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


async def test_when_the_input_ends_the_last_events_are_handled_and_nothing_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "Lan: chiều nay họp thôn lúc 3 giờ nhé bà con\n@Hùng: đăng ký tạm trú ở đâu ạ\n"
    async with assembled(tmp_path, monkeypatch) as app:
        console = ConsoleAdapter(
            "console",
            AdapterSettings(chat="g-cu-mgar"),
            stdin=io.StringIO(lines),
            stdout=io.StringIO(),
        )
        started = asyncio.get_running_loop().time()
        left = await asyncio.wait_for(serve(app, {"console": console}), 30)
        took = asyncio.get_running_loop().time() - started
    assert left.events == 0 and not left.timed_out  # done, not given up on
    assert took < app.config.bot.stop_timeout_seconds  # no stop timeout waited out
