"""The getUpdates loop.

Delivery from Zalo is at-most-once: getUpdates has no offset and no update_id, so an update
is gone from Zalo the moment a poll returns it (and lost if the answer never reaches us).
The adapter therefore hands each update's events to the inbox immediately, before the next
poll. When botkit cannot take them (`IntakeUnavailable`: storage failing, intake full), they
are kept in memory and offered again with back-off, and no new update is fetched meanwhile:
Zalo keeps those. Kept events survive a restart of the loop; they are never dropped while the
process lives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from adapters.kit.loop import AdapterStats, Backoff
from adapters.kit.webhook import Malformed
from adapters.zalo_bot.api import ZaloBotClient, ZaloBotError, ZaloBotUnreachable
from botkit.adapter import InboundEvent, Inbox, IntakeUnavailable

log = logging.getLogger(__name__)

# Retrying cannot help: a rejected token (401) or a host without this API (404, e.g. the
# legacy bot-api.zapps.me); the adapter stops and botkit restarts it with its own back-off.
FATAL_CODES = frozenset({401, 404})

Convert = Callable[[Any], list[InboundEvent]]


class Poller:
    def __init__(
        self,
        label: str,
        client: ZaloBotClient,
        convert: Convert,
        stats: AdapterStats,
        *,
        poll_timeout: int,
        backoff: Backoff | None = None,
    ) -> None:
        self.label = label
        self._client = client
        self._convert = convert
        self._stats = stats
        self._poll_timeout = poll_timeout
        self._backoff = backoff or Backoff()
        self.held: list[InboundEvent] = []  # taken from Zalo, not yet taken by botkit

    async def run(self, inbox: Inbox, stop: asyncio.Event) -> None:
        """Poll until `stop` is set (or cancelled); errors other than fatal ones only slow it
        down."""
        try:
            while not stop.is_set():
                if self.held and not await self._hand_over(inbox):
                    await asyncio.sleep(self._backoff.next())
                    continue
                try:
                    updates = await self._client.get_updates(self._poll_timeout)
                except ZaloBotError as exc:
                    if exc.error_code in FATAL_CODES:
                        raise
                    await self._pause("getUpdates failed", exc)
                    continue
                except ZaloBotUnreachable as exc:
                    if stop.is_set():
                        break  # the session was closed under a pending long poll
                    await self._pause("getUpdates got no answer", exc)
                    continue
                self._backoff.reset()
                for raw in updates:
                    self.held += self._events(raw)
        finally:
            await self._last_hand_over(inbox)

    async def _hand_over(self, inbox: Inbox) -> bool:
        try:
            await inbox.submit_many(self.held)
        except IntakeUnavailable as exc:
            log.warning(
                "%s: %d event(s) Zalo has already delivered wait in memory (%s); retrying",
                self.label,
                len(self.held),
                exc,
            )
            return False
        self._stats.events += len(self.held)
        self.held = []
        self._backoff.reset()
        return True

    async def _last_hand_over(self, inbox: Inbox) -> None:
        """Stopping: one more try without waiting for room; Zalo cannot deliver them again."""
        if not self.held:
            return
        try:
            await inbox.submit_many(self.held, wait=False)
        except IntakeUnavailable as exc:
            log.error(
                "%s: %d event(s) from Zalo not stored yet (%s); kept while the process lives",
                self.label,
                len(self.held),
                exc,
            )
            return
        self._stats.events += len(self.held)
        self.held = []

    def _events(self, raw: Any) -> list[InboundEvent]:
        self._stats.updates += 1
        try:
            return self._convert(raw)
        except Malformed as exc:
            self._stats.skipped += 1
            log.warning("%s: skipping a malformed update: %s", self.label, str(exc)[:300])
        except Exception:
            self._stats.failed += 1
            log.exception("%s: an update could not be converted; skipped", self.label)
        return []

    async def _pause(self, what: str, exc: Exception) -> None:
        delay = self._backoff.next()
        log.warning("%s: %s (%s); polling again in %.1f s", self.label, what, exc, delay)
        await asyncio.sleep(delay)
