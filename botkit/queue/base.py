"""Inbound queue port: accepted events wait here until a worker has made them durable."""

from __future__ import annotations

from typing import Protocol

from botkit.adapter import InboundEvent


class InboundQueue(Protocol):
    async def put(self, event: InboundEvent) -> None: ...

    async def get_batch(self, max_items: int) -> list[InboundEvent]:
        """Wait for at least one event; return up to `max_items` without waiting more."""
        ...

    async def ack(self, events: list[InboundEvent]) -> None:
        """The events' effects are durable; the queue may forget them."""
        ...

    def pending(self) -> int: ...
