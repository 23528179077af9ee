"""In-process queue for one worker; unacknowledged events are counted, never dropped."""

from __future__ import annotations

import asyncio

from botkit.adapter import InboundEvent


class MemoryQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[InboundEvent] = asyncio.Queue()
        self._in_flight = 0

    async def put(self, event: InboundEvent) -> None:
        await self._queue.put(event)

    async def get_batch(self, max_items: int) -> list[InboundEvent]:
        batch = [await self._queue.get()]
        while len(batch) < max_items and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        self._in_flight += len(batch)
        return batch

    async def ack(self, events: list[InboundEvent]) -> None:
        self._in_flight -= len(events)
        for _ in events:
            self._queue.task_done()

    def pending(self) -> int:
        return self._queue.qsize() + self._in_flight

    async def join(self) -> None:
        await self._queue.join()
