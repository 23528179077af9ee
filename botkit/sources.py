"""Sources only one process may read: held in the store while an adapter reads them.

Telegram answers a second `getUpdates` reader of the same bot with 409 Conflict, and the two
would steal each other's updates. So a process holds each such source in the (shared) store,
renews the hold while it runs, and a second process gets a clear error instead of a fight. A
holder that died on this host (kill -9) is recognised at once; one on another host after the
hold expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from botkit.adapter import Adapter
from botkit.app import App, owner_is_dead_here
from botkit.storage.base import StoreUnavailable

log = logging.getLogger(__name__)

HOLD = timedelta(seconds=30)
RENEW_SECONDS = 10.0


class SourceTaken(Exception):
    """Another live botkit process reads this source."""


async def take_sources(app: App, adapters: dict[str, Adapter]) -> list[str]:
    taken: list[str] = []
    for name, adapter in adapters.items():
        source = adapter.exclusive_source()
        if source is None:
            continue
        holder = await app.store.meta.hold(source, app.owner, app.clock.now(), HOLD)
        if holder is not None and owner_is_dead_here(holder):
            await app.store.meta.let_go(source, holder)
            holder = await app.store.meta.hold(source, app.owner, app.clock.now(), HOLD)
        if holder is not None:
            await release_sources(app, taken)
            raise SourceTaken(
                f"adapters.{name}: another botkit process ({holder}) already reads {source};"
                " one process per bot may poll (stop it, or use webhook mode for several"
                " intake processes)"
            )
        taken.append(source)
    return taken


async def keep_sources(app: App, sources: list[str], lost: asyncio.Event) -> None:
    """Renew the holds; if one was taken over (this process stalled past it), say so."""
    while sources:
        await asyncio.sleep(RENEW_SECONDS)
        for source in sources:
            try:
                holder = await app.store.meta.hold(source, app.owner, app.clock.now(), HOLD)
            except StoreUnavailable as exc:
                log.warning("cannot renew the hold on %s: %s", source, exc)
                continue
            if holder is not None:
                log.error("%s is now read by %s: this process stops reading it", source, holder)
                lost.set()
                return


async def release_sources(app: App, sources: list[str]) -> None:
    for source in sources:
        with contextlib.suppress(StoreUnavailable):
            await app.store.meta.let_go(source, app.owner)
