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
from botkit.intake import DurableInbox
from botkit.sources import keep_sources, release_sources, take_sources
from botkit.spool import Spool, forward_while_running
from botkit.storage.base import StoreUnavailable
from botkit.waiting import event_within
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
    """Due escalation steps, claims confirmed elsewhere, bulletins to report, the purge."""
    trouble = False
    while not stop.is_set():
        try:
            if await app.engine.run_due():
                app.sender.wake.set()
            await app.sync_claims()
            if await app.bulletins.settle():
                app.sender.wake.set()  # the officers' reports of bulletins sent
            await app.purge_if_due()
            if trouble:
                log.warning("housekeeping runs again")
            trouble = False
        except StoreUnavailable as exc:
            if not trouble:  # once per outage, not once a second
                log.warning("housekeeping waits for the store: %s", exc)
            trouble = True
        except Exception:
            log.exception("housekeeping failed; retrying")
        await event_within(stop, tick_seconds)


async def serve(
    app: App,
    adapters: dict[str, Adapter],
    stop: asyncio.Event | None = None,
    tick_seconds: float = 1.0,
    *,
    receive: bool = True,
    work: bool = True,
) -> Leftover:
    """Run until every adapter's source ends or `stop` is set.

    `receive`: run the adapters' intake. `work`: handle the intake, send, run due steps. A
    fleet on a shared store runs some processes with only one of them (`botkit run
    --no-worker`, `botkit worker`); a worker's adapters only send.
    """
    if not receive:
        return await _work_only(app, stop or asyncio.Event(), tick_seconds)
    if not work:
        return await _receive_only(app, adapters, stop or asyncio.Event())
    stop = stop or asyncio.Event()
    held = await take_sources(app, adapters)
    try:
        return await _serve(app, adapters, stop, tick_seconds, held)
    finally:
        await release_sources(app, held)


async def _serve(
    app: App,
    adapters: dict[str, Adapter],
    stop: asyncio.Event,
    tick_seconds: float,
    held: list[str],
) -> Leftover:
    loop = asyncio.get_running_loop()
    await app.release_dead_leases()
    await app.engine.recover()
    spool = app.spool()
    inbox = app.inbox(spool)
    spooled = _Forwarding(spool, app)
    sources_ended = False
    halt = asyncio.Event()  # the worker, sender and housekeeping stop when it is set
    worker = _worker(app, inbox)
    worker_task = asyncio.create_task(worker.run(halt, lambda: sources_ended))
    sender_task = asyncio.create_task(app.sender.run(halt))
    chores = asyncio.create_task(housekeeping(app, halt, tick_seconds))
    holds = asyncio.create_task(keep_sources(app, held, stop))
    web = asyncio.create_task(serve_web(app, halt, inbox))
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
        await asyncio.gather(sources, return_exceptions=True)  # retrieved: no stray warning
        inbox.close()  # from now on nothing new is accepted; platforms keep it for us
        deadline = loop.time() + app.config.bot.stop_timeout_seconds
        if signalled:
            halt.set()  # finish the batch in hand, take no more
            timed_out = not await _within(worker_task, deadline)
        else:
            sources_ended = True
            inbox.arrived.set()
            outcome = await _while_progressing(worker_task, worker, app, stop)
            if outcome == "stopped":  # as for a signal before the sources ended
                halt.set()
                deadline = loop.time() + app.config.bot.stop_timeout_seconds
                timed_out = not await _within(worker_task, deadline)
            else:
                timed_out = outcome == "stuck"
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
        for task in (worker_task, sender_task, chores, holds):
            task.cancel()
        await asyncio.gather(worker_task, sender_task, chores, holds, web, return_exceptions=True)
        await spooled.finish()
        await app.sender.cancel_lanes()
        for adapter in adapters.values():
            with contextlib.suppress(Exception):
                await adapter.close()
    return await _leftover(app, worker.dead_lettered, timed_out)


async def serve_web(app: App, stop: asyncio.Event, inbox: DurableInbox | None = None) -> None:
    """`/healthz` and `/metrics` while the process runs, when `[web] enabled`; the console
    with `[web] users`. `inbox`: the local worker's (posts in the console's sandbox wake it)."""
    settings = app.config.web
    if not settings.enabled:
        return
    from botkit.web.console import ConsolePages  # only when wanted
    from botkit.web.server import ProcessCounts, serve_http, web_app

    def counts() -> ProcessCounts:
        latencies = list(app.sender.stats.alert_seconds)
        app.sender.stats.alert_seconds.clear()
        pipeline = app.pipeline
        return ProcessCounts(pipeline.messages, dict(pipeline.flagged), latencies)

    # A worker runs in this process: sandbox posts go through the durable intake to it, like
    # any adapter's message (a fleet's worker polls the shared intake without being woken).
    console = ConsolePages(app, inbox or app.inbox()) if settings.users else None
    log.info("web: listening on port %d ([web] host)", settings.port)
    served = web_app(app.store, app.clock, counts, console)
    await serve_http(served, settings.host, settings.port, stop)


def _worker(app: App, inbox: DurableInbox, **options: Any) -> Worker:
    """The pipeline is looked up per batch: a reload replaces it."""
    return Worker(
        app.config,
        app.store,
        lambda: app.pipeline,
        inbox.sealer,
        inbox,
        app.clock,
        app.owner,
        on_batch=app.sender.wake.set,
        **options,
    )


async def _work_only(app: App, stop: asyncio.Event, tick_seconds: float) -> Leftover:
    """A worker of a fleet: intake comes from the shared store, adapters only send."""
    await app.release_dead_leases()
    await app.engine.recover()
    log.info("worker %s handles the intake of %s", app.owner, app.store.location)
    inbox = app.inbox()  # for sealing only: a worker accepts nothing itself
    inbox.close()
    halt = asyncio.Event()
    # Nothing local announces new entries: look at the shared stream often.
    worker = _worker(app, inbox, poll_seconds=0.05)
    tasks = [
        asyncio.create_task(worker.run(halt, lambda: False)),
        # Beside the work, not before it: a platform out of reach must not hold up a start.
        asyncio.create_task(app.dispatcher.prepare()),
        asyncio.create_task(app.sender.run(halt)),
        asyncio.create_task(housekeeping(app, halt, tick_seconds)),
        asyncio.create_task(serve_web(app, halt)),
    ]
    timed_out = False
    try:
        await stop.wait()
        halt.set()
        deadline = asyncio.get_running_loop().time() + app.config.bot.stop_timeout_seconds
        timed_out = not await _within(tasks[0], deadline)
        await _within(tasks[2], deadline)
    finally:
        halt.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.sender.cancel_lanes()
    return await _leftover(app, worker.dead_lettered, timed_out)


async def _receive_only(app: App, adapters: dict[str, Adapter], stop: asyncio.Event) -> Leftover:
    """Intake only: adapters hand events to the shared store; workers elsewhere do the rest."""
    held = await take_sources(app, adapters)
    holds = asyncio.create_task(keep_sources(app, held, stop))
    spool = app.spool()
    inbox = app.inbox(spool)
    spooled = _Forwarding(spool, app)
    runners = [asyncio.create_task(supervise(a, inbox)) for a in adapters.values()]
    stopping = asyncio.ensure_future(stop.wait())
    sources: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*runners))
    try:
        await asyncio.wait([sources, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        holds.cancel()
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, holds, return_exceptions=True)
        await asyncio.gather(sources, return_exceptions=True)
        inbox.close()
        await spooled.finish()
        await release_sources(app, held)
        for adapter in adapters.values():
            with contextlib.suppress(Exception):
                await adapter.close()
    return await _leftover(app, 0, False)


class _Forwarding:
    """The spool's forwarder task, finished with a last try and the file closed."""

    def __init__(self, spool: Spool | None, app: App) -> None:
        self.spool = spool
        self.stop = asyncio.Event()
        self.task = (
            asyncio.create_task(forward_while_running(spool, app.store.intake, self.stop))
            if spool is not None
            else None
        )

    async def finish(self) -> None:
        if self.task is None or self.spool is None:
            return
        self.stop.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):  # the task is cancelled when the time is up
                await self.task
        left = await asyncio.to_thread(self.spool.size)
        if left:
            log.warning("%d event(s) stay in %s until the next start", left, self.spool.path)
        self.spool.close()


async def _within(task: asyncio.Task[None], deadline: float) -> bool:
    remaining = deadline - asyncio.get_running_loop().time()
    done, _ = await asyncio.wait([task], timeout=max(remaining, 0.0))
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return bool(done)


async def _while_progressing(
    task: asyncio.Task[None], worker: Worker, app: App, stop: asyncio.Event
) -> str:
    """Wait for the worker to empty the intake while it makes progress: "done", "stuck"
    (no progress in a stop timeout: the task is cancelled; the store cannot be written?) or
    "stopped" (Ctrl-C or SIGTERM meanwhile: the caller lets the batch in hand finish)."""
    window = app.config.bot.stop_timeout_seconds
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            # A batch of pictures takes a while to read before anything of it is handled.
            before = (worker.handled, app.pipeline.progress)
            done, _ = await asyncio.wait(
                [task, stopping], timeout=window, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                return "done"
            if stopping in done:
                return "stopped"
            if (worker.handled, app.pipeline.progress) == before:
                break
    finally:
        stopping.cancel()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return "stuck"


async def _leftover(app: App, dead: int, timed_out: bool) -> Leftover:
    try:
        status = await app.store.status(app.clock.now())
    except StoreUnavailable:
        return Leftover(-1, -1, dead, timed_out)
    sends = sum(status.outbox.get(s, 0) for s in ("pending", "retry", "held"))
    return Leftover(status.intake_pending, sends, dead, timed_out)


__all__ = ["Leftover", "serve", "supervise"]
