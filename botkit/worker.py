"""The worker: takes accepted events from the intake in batches and runs the pipeline.

An entry is leased while it is handled; a crash leaves the lease to expire (or to be
released at the next start) and the entry is handled again. An event that fails is retried
with backoff and becomes a dead letter after `max_event_attempts`; one that was delivered
many times without ever finishing (it kills the process) too. A failing store is nobody's
fault: the entry is given back without counting an attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from botkit.clock import Clock
from botkit.codec import DecodeError, decode_event
from botkit.config import Config
from botkit.intake import DurableInbox
from botkit.pipeline import Failure, Inbound, Pipeline
from botkit.sealing import Sealer, SealError
from botkit.storage.base import Store, StoreUnavailable
from botkit.storage.records import ClaimedEvent
from botkit.waiting import event_within

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
IDLE_SECONDS = 0.5
MAX_DELIVERIES = 20
RETRY_BASE_SECONDS = 1.0


class Worker:
    def __init__(
        self,
        config: Config,
        store: Store,
        pipeline: Callable[[], Pipeline],
        sealer: Sealer,
        inbox: DurableInbox,
        clock: Clock,
        owner: str,
        on_batch: Callable[[], None] = lambda: None,  # after a batch that committed effects
        poll_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.config = config
        self.store = store
        self.pipeline = pipeline
        self.sealer = sealer
        self.inbox = inbox
        self.clock = clock
        self.owner = owner
        self.on_batch = on_batch
        # How often an idle worker looks for new entries that no local adapter announced
        # (a fleet's workers learn of them only from the shared store).
        self.poll_seconds = poll_seconds
        self.dead_lettered = 0
        self.handled = 0
        self._storage_trouble = False

    async def run(self, stop: asyncio.Event, until_empty: Callable[[], bool]) -> None:
        """Handle batches until `stop` is set, or until the intake is empty and
        `until_empty()` says no more will come (every source ended)."""
        delay = IDLE_SECONDS
        while not stop.is_set():
            self.inbox.arrived.clear()
            try:
                handled = await self.run_once()
            except StoreUnavailable as exc:
                if not self._storage_trouble:
                    log.error("events wait in the intake: the store cannot be written: %s", exc)
                self._storage_trouble = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if self._storage_trouble:
                log.warning("the store can be written again; handling the waiting events")
            self._storage_trouble = False
            delay = IDLE_SECONDS
            if handled:
                continue
            if until_empty() and await self.store.intake.backlog() == 0:
                return
            await event_within(self.inbox.arrived, self.poll_seconds)

    async def run_once(self) -> int:
        """Claim and handle one batch; returns how many entries it held."""
        claimed = await self.store.intake.claim(
            self.owner, self.config.bot.batch_size, self.clock.now(), LEASE, MAX_DELIVERIES
        )
        if not claimed:
            return 0
        items: list[Inbound] = []
        for entry in claimed:
            try:
                event = decode_event(self.sealer.open(entry.payload))
            except (SealError, DecodeError) as exc:
                await self._unreadable(entry, exc)
                continue
            items.append(Inbound(event, entry.id))
        # The pipeline is looked up per batch: a reload replaces it.
        pipeline = self.pipeline()
        effects = pipeline.effects
        failures = await pipeline.process(items)
        await self._failed(failures, {e.id: e for e in claimed})
        stuck = next((f for f in failures if f.storage), None)
        if stuck is not None:
            # Released for later, not handled: the run loop says so once and backs off,
            # instead of claiming the same entries again at once (a full disk, a schema
            # the store cannot write).
            raise StoreUnavailable(stuck.error)
        self.handled += len(claimed)
        self.inbox.room.set()
        if pipeline.effects != effects:
            # Something to send may have been queued. A batch of chatter queues nothing:
            # waking the sender for it would cost a look at the outbox per batch, for
            # nothing (every worker of a fleet looks at the same shared outbox).
            self.on_batch()
        return len(claimed)

    async def _unreadable(self, entry: ClaimedEvent, exc: Exception) -> None:
        await self.store.intake.fail(entry.id, f"unreadable: {exc}", self.clock.now(), 0)
        self.dead_lettered += 1
        log.error("intake entry %s is unreadable (%s): kept as a dead letter", entry.id, exc)

    async def _failed(self, failures: list[Failure], claimed: dict[int, ClaimedEvent]) -> None:
        storage = [f.item.entry_id for f in failures if f.storage and f.item.entry_id is not None]
        await self.store.intake.release(storage)
        limit = self.config.bot.max_event_attempts
        for failure in failures:
            entry_id = failure.item.entry_id
            if failure.storage or entry_id is None:
                continue
            attempts = claimed[entry_id].attempts
            retry_at = self.clock.now() + timedelta(seconds=RETRY_BASE_SECONDS * 2**attempts)
            if await self.store.intake.fail(entry_id, failure.error, retry_at, limit):
                self.dead_lettered += 1
                log.error(
                    "an event failed %d times and is kept as a dead letter (`botkit dead-letters`"
                    " shows it): %s",
                    limit,
                    failure.error,
                )
