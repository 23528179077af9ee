"""The durable inbox adapters submit to: an event is stored, sealed, before `submit` returns.

Only then may an adapter confirm the event to its platform. The intake is bounded: when
`capacity` events wait, `submit` waits for room (a polling adapter stops polling) or, with
`wait=False`, raises `IntakeFull` (a webhook answers a retryable status). Memory never grows
with the backlog: the backlog lives in the store.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence

from botkit.adapter import InboundEvent, IntakeFull, IntakeUnavailable
from botkit.clock import Clock
from botkit.codec import encode_event, event_key
from botkit.privacy import Pseudonymizer
from botkit.sealing import Sealer
from botkit.spool import Spool, SpoolFull
from botkit.storage.base import IntakeStore, StoreUnavailable
from botkit.storage.records import IntakeItem
from botkit.waiting import event_within

log = logging.getLogger(__name__)

ROOM_POLL_SECONDS = 0.2


class IntakeClosed(IntakeUnavailable):
    """botkit is stopping and takes no new events."""


class DurableInbox:
    def __init__(
        self,
        intake: IntakeStore,
        sealer: Sealer,
        pseudonymizer: Pseudonymizer,
        clock: Clock,
        capacity: int,
        spool: Spool | None = None,
    ) -> None:
        self.intake = intake
        # Where events wait while a shared store is out of reach (Redis only).
        self.spool = spool
        self._spooling = False
        self.sealer = sealer
        self.pseudonymizer = pseudonymizer
        self.clock = clock
        self.capacity = capacity
        self.arrived = asyncio.Event()  # wakes the worker
        self.room = asyncio.Event()  # set by the worker when it finished entries
        self.accepted = 0
        self.duplicates = 0
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self.room.set()  # waiting submitters learn that we are closed

    @property
    def closed(self) -> bool:
        return self._closed

    def item(self, event: InboundEvent) -> IntakeItem:
        key = self.pseudonymizer.hash("event", event_key(event))
        return IntakeItem(key, self.sealer.seal(encode_event(event)))

    async def submit(self, event: InboundEvent) -> None:
        await self.submit_many([event])

    async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        if not events:
            return
        await self._wait_for_room(len(events), wait)
        items = [self.item(e) for e in events]
        try:
            added = await self.intake.append(items, self.clock.now())
        except StoreUnavailable as exc:
            if self.spool is None:
                raise IntakeUnavailable(f"events not accepted: {exc}") from exc
            await self._spool(items, exc)
            return
        if self._spooling:
            self._spooling = False
            log.warning("the store accepts events again")
        self.accepted += added
        self.duplicates += len(items) - added
        self.arrived.set()

    async def _spool(self, items: list[IntakeItem], trouble: StoreUnavailable) -> None:
        assert self.spool is not None
        try:
            await self.spool.put(items, self.clock.now())
        except (SpoolFull, OSError, sqlite3.Error) as exc:
            raise IntakeUnavailable(f"events not accepted: {trouble}; {exc}") from exc
        if not self._spooling:
            self._spooling = True
            log.warning(
                "the store is out of reach (%s): events wait in %s (at most %d) until it is back",
                trouble,
                self.spool.path,
                self.spool.capacity,
            )
        self.accepted += len(items)
        self.arrived.set()

    async def _wait_for_room(self, count: int, wait: bool) -> None:
        warned = False
        while True:
            if self._closed:
                raise IntakeClosed("botkit is stopping; events not accepted")
            try:
                backlog = await self.intake.backlog()
            except StoreUnavailable as exc:
                if self.spool is not None:
                    return  # the spool has a capacity of its own
                raise IntakeUnavailable(f"events not accepted: {exc}") from exc
            # A batch larger than the capacity is taken into an empty intake.
            if backlog == 0 or backlog + count <= self.capacity:
                return
            if not wait:
                raise IntakeFull(f"{backlog} events wait already (capacity {self.capacity})")
            if not warned:
                log.warning(
                    "intake full (%d events wait, capacity %d): receiving slows down",
                    backlog,
                    self.capacity,
                )
                warned = True
            self.room.clear()
            # Another process may drain it too: look again now and then.
            await event_within(self.room, ROOM_POLL_SECONDS)
