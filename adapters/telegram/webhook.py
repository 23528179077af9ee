"""A small aiohttp server receiving Telegram's webhook posts.

botkit runs it itself, as a task in the running event loop: no signal handlers, no loop of
its own. A wrong `X-Telegram-Bot-Api-Secret-Token` is refused before the body is read. A
body that is JSON but not a valid update is logged and acknowledged with 200, because
Telegram redelivers anything else and would hold the updates queued behind it. An update is
answered 200 only once its events are stored; when botkit cannot take it (intake full,
storage failing) the answer is 503, and Telegram delivers it again later.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from botkit.adapter import IntakeUnavailable

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 4 * 1024 * 1024

RawHandler = Callable[[Any], Awaitable[None]]


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` on host:port inside the current loop; the caller cleans the runner up."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise OSError(f"telegram webhook: cannot listen on {host}:{port}: {exc}") from exc
    return runner


class WebhookServer:
    """POST `path` with the right secret → `handle(parsed JSON)`; answers after handling."""

    def __init__(
        self,
        path: str,
        secret: str | None,
        handle: RawHandler,
        *,
        refused_status: int = 403,
    ) -> None:
        self.path = path
        self._secret = secret
        self._handle = handle
        self._refused_status = refused_status
        self._runner: web.AppRunner | None = None
        self.refused = 0

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self._post)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = await start_site(self.application(), host, port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _post(self, request: web.Request) -> web.Response:
        if self._secret is not None:
            given = request.headers.get(SECRET_HEADER, "")
            if not secrets.compare_digest(given.encode(), self._secret.encode()):
                self.refused += 1
                log.warning(
                    "telegram webhook: refused a post with a wrong secret token from %s",
                    request.remote,
                )
                return web.Response(status=self._refused_status, text="wrong secret token")
        try:
            data = await request.json()
        except ValueError:
            log.warning("telegram webhook: body is not JSON; ignored")
            return web.Response(status=400, text="not JSON")
        try:
            await self._handle(data)
        except IntakeUnavailable as exc:
            # Not stored: Telegram must deliver it again, later.
            log.warning("telegram webhook: update not taken yet (%s); answered 503", exc)
            return web.Response(status=503, text="busy", headers={"Retry-After": "5"})
        except Exception:
            # Acknowledge anyway: a redelivered poison update would block the queue.
            log.exception("telegram webhook: update could not be handled; skipped")
        return web.json_response({})
