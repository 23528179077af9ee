"""The running bot: adapters feed the durable intake, a worker handles it, a sender empties
the outbox, a scheduler runs due escalation steps and housekeeping.

Stopping (SIGINT/SIGTERM): adapters stop taking events at once; the worker finishes the
batch in hand; the sender sends what is due; all within `stop_timeout_seconds`. What is left
stays in the store (intake, outbox, timers) for the next start. When every source ends by
itself (the console at end of input), everything accepted is handled first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from botkit.adapter import Adapter, Inbox
from botkit.app import App
from botkit.storage.base import StoreUnavailable
from botkit.worker import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Leftover:
    """What a stop left for the next start."""

    events: int
    sends: int
    dead_letters: int  # events that became dead letters during this run
    timed_out: bool


async def supervise(adapter: Adapter, inbox: Inbox, max_delay: float = 60.0) -> None:
    """Run one adapter; when it fails, log it and restart it, so the others keep serving."""
    delay = 1.0
    while True:
        try:
            await adapter.run(inbox)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("adapter %s stopped: %s; restarting in %.0f s", adapter.name, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


async def housekeeping(app: App, stop: asyncio.Event, tick_seconds: float) -> None:
    """Due escalation steps, claims confirmed elsewhere, the daily purge."""
    while not stop.is_set():
        try:
            if await app.engine.run_due():
                app.sender.wake.set()
            await app.sync_claims()
            await app.purge_if_due()
        except StoreUnavailable as exc:
            log.warning("housekeeping skipped: %s", exc)
        except Exception:
            log.exception("housekeeping failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick_seconds)


async def serve(
    app: App,
    adapters: dict[str, Adapter],
    stop: asyncio.Event | None = None,
    tick_seconds: float = 1.0,
) -> Leftover:
    """Run until every adapter's source ends or `stop` is set."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    await app.release_dead_leases()
    await app.engine.recover()
    inbox = app.inbox()
    sources_ended = False
    halt = asyncio.Event()  # the worker, sender and housekeeping stop when it is set
    worker = Worker(
        app.config,
        app.store,
        lambda: app.pipeline,
        inbox.sealer,
        inbox,
        app.clock,
        app.owner,
        on_batch=app.sender.wake.set,
    )
    worker_task = asyncio.create_task(worker.run(halt, lambda: sources_ended))
    sender_task = asyncio.create_task(app.sender.run(halt))
    chores = asyncio.create_task(housekeeping(app, halt, tick_seconds))
    runners = [asyncio.create_task(supervise(a, inbox)) for a in adapters.values()]
    stopping = asyncio.ensure_future(stop.wait())
    timed_out = False
    try:
        sources = asyncio.ensure_future(asyncio.gather(*runners))
        first: list[asyncio.Future[Any]] = [sources, stopping]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        signalled = stop.is_set()
        for runner in runners:  # adapters hand over what they read, then stop
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        inbox.close()  # from now on nothing new is accepted; platforms keep it for us
        deadline = loop.time() + app.config.bot.stop_timeout_seconds
        if signalled:
            halt.set()  # finish the batch in hand, take no more
            timed_out = not await _within(worker_task, deadline)
        else:
            sources_ended = True
            inbox.arrived.set()
            timed_out = not await _while_progressing(worker_task, worker, app)
            halt.set()
        await _within(sender_task, deadline)
        remaining = max(deadline - loop.time(), 0.0)
        # Held alerts would wait for the next start: on the way out they go as a digest.
        app.sender.flushing = True
        if not await app.sender.drain(remaining):
            timed_out = True
    finally:
        halt.set()
        stopping.cancel()
        for task in (worker_task, sender_task, chores):
            task.cancel()
        await asyncio.gather(worker_task, sender_task, chores, return_exceptions=True)
        await app.sender.cancel_lanes()
        for adapter in adapters.values():
            with contextlib.suppress(Exception):
                await adapter.close()
    return await _leftover(app, worker.dead_lettered, timed_out)


async def _within(task: asyncio.Task[None], deadline: float) -> bool:
    remaining = deadline - asyncio.get_running_loop().time()
    done, _ = await asyncio.wait([task], timeout=max(remaining, 0.0))
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return bool(done)


async def _while_progressing(task: asyncio.Task[None], worker: Worker, app: App) -> bool:
    """Wait for the worker to empty the intake while it makes progress."""
    window = app.config.bot.stop_timeout_seconds
    while True:
        before = worker.handled
        done, _ = await asyncio.wait([task], timeout=window)
        if done:
            return True
        if worker.handled == before:  # stuck (the store cannot be written?): stop waiting
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False


async def _leftover(app: App, dead: int, timed_out: bool) -> Leftover:
    try:
        status = await app.store.status(app.clock.now())
    except StoreUnavailable:
        return Leftover(-1, -1, dead, timed_out)
    sends = sum(status.outbox.get(s, 0) for s in ("pending", "retry", "held"))
    return Leftover(status.intake_pending, sends, dead, timed_out)


__all__ = ["Leftover", "serve", "supervise"]
