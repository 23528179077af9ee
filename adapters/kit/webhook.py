"""A small aiohttp server receiving a platform's webhook posts.

botkit runs it itself, as a task in the running event loop: no signal handlers, no loop of
its own. Each platform brings a `verify` hook that checks the post's signature over the raw
bytes as received (a secret header, a SHA-256, an HMAC); a post that fails it is refused
(401/403), nothing of it is processed, and the refusal is logged once per source address
so that a scanner cannot flood the log. A body that is not JSON, too large, or not an
event gets 400: the platform must not send it again. A post is answered 200 only once its
events are stored; when botkit cannot take them (intake full, storage failing, or slower
than the platform's deadline) the answer is 503 and the platform delivers the post again,
which the core recognises by its event id. A post that is JSON but cannot be converted is
logged and acknowledged, because platforms redeliver anything else and would hold the
posts queued behind it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from botkit.adapter import IntakeUnavailable

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
_MAX_REMEMBERED_SOURCES = 1024

Verify = Callable[[Mapping[str, str], bytes], bool]
Handle = Callable[[Any], Awaitable[None]]
# A GET handshake (Messenger's hub.challenge): the query → the body to answer, or None: 403.
Challenge = Callable[[Mapping[str, str]], str | None]


class Malformed(ValueError):
    """A post the platform should not send again: answered 400 and logged."""


def secret_header(header: str, expected: str) -> Verify:
    """A shared secret sent as a header, compared in constant time (Telegram, Zalo Bot)."""
    want = expected.encode()

    def verify(headers: Mapping[str, str], body: bytes) -> bool:
        return hmac.compare_digest(headers.get(header, "").encode(), want)

    return verify


async def start_site(app: web.Application, host: str, port: int, label: str) -> web.AppRunner:
    """Serve `app` on host:port inside the current loop; the caller cleans the runner up."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise OSError(f"{label} webhook: cannot listen on {host}:{port}: {exc}") from exc
    return runner


class WebhookServer:
    """POST `path` with a valid signature → `handle(parsed JSON)`; answers after handling."""

    def __init__(
        self,
        label: str,
        path: str,
        handle: Handle,
        *,
        verify: Verify | None = None,
        refused_status: int = 403,
        challenge: Challenge | None = None,
        max_body: int = MAX_BODY,
        deadline: float | None = None,
    ) -> None:
        self.label = label
        self.path = path
        self._handle = handle
        self._verify = verify
        self._refused_status = refused_status
        self._challenge = challenge
        self._max_body = max_body
        self._deadline = deadline
        self._runner: web.AppRunner | None = None
        self._warned_sources: set[str] = set()
        self._pending: set[asyncio.Future[None]] = set()
        self.refused = 0
        self.rejected = 0
        self.port: int | None = None

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_post(self.path, self._post)
        if self._challenge is not None:
            app.router.add_get(self.path, self._get)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = await start_site(self.application(), host, port, self.label)
        sockets = [s for site in self._runner.sites for s in _sockets(site)]
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _get(self, request: web.Request) -> web.Response:
        assert self._challenge is not None
        answer = self._challenge(request.query)
        if answer is None:
            self._refuse(request, "a verification request with a wrong token")
            return web.Response(status=403, text="wrong verify token")
        return web.Response(status=200, text=answer)

    async def _post(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > self._max_body:
            self.rejected += 1
            log.warning(
                "%s webhook: a post of %d bytes refused", self.label, request.content_length
            )
            return web.Response(status=400, text="too large")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.rejected += 1
            log.warning("%s webhook: a post over %d bytes refused", self.label, self._max_body)
            return web.Response(status=400, text="too large")
        if self._verify is not None and not self._verify(request.headers, raw):
            self._refuse(request, "a post with a wrong or missing signature")
            return web.Response(status=self._refused_status, text="wrong signature")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.rejected += 1
            log.warning(
                "%s webhook: body is not JSON (%d bytes); answered 400", self.label, len(raw)
            )
            return web.Response(status=400, text="not JSON")
        work = asyncio.ensure_future(self._handle(data))
        self._pending.add(work)
        work.add_done_callback(self._pending.discard)
        try:
            # Shielded: past the deadline the platform gets 503 and will post again, while
            # this hand-over finishes (the core recognises the second delivery).
            async with asyncio.timeout(self._deadline):
                await asyncio.shield(work)
        except TimeoutError:
            log.warning(
                "%s webhook: storing a post took over %.1f s; answered 503",
                self.label,
                self._deadline or 0.0,
            )
            return web.Response(status=503, text="busy", headers={"Retry-After": "5"})
        except IntakeUnavailable as exc:
            log.warning("%s webhook: post not taken yet (%s); answered 503", self.label, exc)
            return web.Response(status=503, text="busy", headers={"Retry-After": "5"})
        except Malformed as exc:
            self.rejected += 1
            log.warning("%s webhook: malformed post refused: %s", self.label, str(exc)[:300])
            return web.Response(status=400, text="malformed")
        except Exception:
            # Acknowledge anyway: a redelivered poison post would block the queue.
            log.exception("%s webhook: post could not be handled; skipped", self.label)
        return web.json_response({})

    def _refuse(self, request: web.Request, what: str) -> None:
        self.refused += 1
        source = request.remote or "?"
        if source in self._warned_sources:
            return
        if len(self._warned_sources) < _MAX_REMEMBERED_SOURCES:
            self._warned_sources.add(source)
        log.warning(
            "%s webhook: refused %s from %s (logged once per source)", self.label, what, source
        )


def _sockets(site: web.BaseSite) -> list[Any]:
    server = getattr(site, "_server", None)
    return list(getattr(server, "sockets", None) or [])
