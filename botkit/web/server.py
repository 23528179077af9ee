"""The HTTP side of a botkit process (Starlette, served by uvicorn on the process's loop):
`/healthz` and `/metrics` for Prometheus.

`botkit run` serves it when `[web] enabled = true`; `botkit web` serves it alone, on the
store only (its counters are then the store's gauges).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from botkit.clock import Clock
from botkit.storage.base import Store, StoreError
from botkit.web.console import ConsolePages
from botkit.web.metrics import Metrics

log = logging.getLogger(__name__)

STORE_TIMEOUT = 2.0  # a health check must answer even when the store hangs


@dataclass(frozen=True, slots=True)
class ProcessCounts:
    """What this process counted since it started (messages, flags by category, alerts'
    latencies taken since the last scrape)."""

    messages: int
    flagged: dict[str, int]
    alert_seconds: list[float]


def web_app(
    store: Store,
    clock: Clock,
    counts: Callable[[], ProcessCounts] | None = None,
    console: ConsolePages | None = None,
) -> Starlette:
    """Health and metrics; with `console`, the console's pages too."""
    metrics = Metrics()

    async def healthz(request: Request) -> Response:
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                await store.status(clock.now())
        except Exception as exc:  # whatever broke, a health check answers, never a 500
            reason = str(exc) if isinstance(exc, StoreError) else type(exc).__name__
            if isinstance(exc, TimeoutError):
                reason = "the store did not answer in time"
            return JSONResponse({"status": "unavailable", "store": reason}, status_code=503)
        return JSONResponse({"status": "ok", "store": store.backend})

    async def scrape(request: Request) -> Response:
        if counts is not None:
            now_counts = counts()
            metrics.count(now_counts.messages, now_counts.flagged, now_counts.alert_seconds)
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                status = await store.status(clock.now())
        except Exception as exc:  # the process's own counters are still worth scraping
            log.warning("metrics: the store's figures are missing this time: %r", exc)
        else:
            metrics.read_store(status, clock.now())
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    routes = [Route("/healthz", healthz), Route("/metrics", scrape)]
    if console is None:
        return Starlette(routes=routes)
    return Starlette(routes=routes + console.routes(), middleware=console.middleware())


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: botkit's handlers stop the whole process
    (stop taking events, finish the batch in hand), and then the server with it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_http(app: Starlette, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve until `stop` is set. A port that cannot be bound is one error line; the bot
    goes on without its web side rather than stop receiving reports."""
    try:
        # Bound here, not by uvicorn, which would exit the whole process when it cannot.
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        log.error("web: cannot listen on %s:%d (%s); running without it", host, port, exc.strerror)
        return
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopping.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
