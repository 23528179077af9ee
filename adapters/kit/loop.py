"""The receive loop's helpers: counters, back-off after failures, running until stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from botkit.waiting import cancel_and_wait


@dataclass
class AdapterStats:
    """Counters for monitoring and tests (mutable; never crosses into the core)."""

    updates: int = 0
    events: int = 0
    skipped: int = 0
    failed: int = 0
    refused: int = 0  # webhook posts with a wrong or missing signature
    duplicates: int = 0  # the same platform event delivered again


async def run_until(receiver: Awaitable[Any], stop: asyncio.Event) -> None:
    """Run `receiver` until it ends or `stop` is set; its errors propagate."""
    task = asyncio.ensure_future(receiver)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        await asyncio.gather(stopper, return_exceptions=True)
        await cancel_and_wait(task)


class Backoff:
    """Exponential back-off for a receive loop after network or server errors."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first = first
        self.cap = cap
        self.current = 0.0

    def reset(self) -> None:
        self.current = 0.0

    def next(self) -> float:
        self.current = min(self.cap, self.current * 2 if self.current else self.first)
        return self.current
