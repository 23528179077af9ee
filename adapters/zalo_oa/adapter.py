"""The Zalo Official Account adapter: a signed webhook in, OA API v3 messages out.

Receiving: Zalo posts each event to the webhook, signed (`signature.py`); it is converted
(`convert.py`) and stored before the 200. Zalo waits 2 s at most, so storing is bounded by
`webhook_deadline` (1.5 s): a slower store answers 503 and Zalo posts again later, which the
core recognises by the event's id.

Sending: text to a user (`/v3.0/oa/message/cs`, buttons as a template) or to a GMF group
(`/v3.0/oa/group/message`), split at 2000 characters. Zalo can neither edit nor delete an OA
message: capabilities lack "edit" and "delete", so the core sends an alert's new state as a
new message.

Pictures ("photos"): an image event's attachment URL (Zalo's CDN) is the message's `photo`
reference; `fetch_photo` downloads it when the core asks, within the core's size limit
(`photos.py`), and keeps nothing.

Every call carries a valid access token (`tokens.py`): a -216 answer refreshes it once and the
call is retried once. While no token can be had, sends fail as retryable (the core keeps the
alerts) and the webhook goes on receiving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.kit.loop import AdapterStats, Backoff
from adapters.kit.webhook import Malformed, WebhookServer
from adapters.zalo_oa.api import OAClient, Refreshed, ZaloOAError, ZaloOAUnreachable
from adapters.zalo_oa.convert import ConvertContext, convert_event
from adapters.zalo_oa.errors import TOKEN_INVALID, delivery_error
from adapters.zalo_oa.outbound import Request, requests_for
from adapters.zalo_oa.settings import MAX_EVENT_BYTES, ZaloOASettings
from adapters.zalo_oa.signature import verifier
from adapters.zalo_oa.tokens import TokenKeeper, TokenUnavailable, initial_pair
from botkit.adapter import Adapter, Inbox, IntakeUnavailable, Unsupported
from botkit.config import AdapterSettings
from botkit.outbound import Outbound, SendText
from botkit.pacing import Rate
from botkit.waiting import cancel_and_wait

log = logging.getLogger(__name__)


class ZaloOAAdapter(Adapter):
    platform: ClassVar[str] = "zalo_oa"
    capabilities: ClassVar[frozenset[str]] = frozenset({"send", "photos"})

    def __init__(
        self, name: str, settings: AdapterSettings, *, environ: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(name, settings)
        self.config = ZaloOASettings.from_adapter(name, settings, environ)
        c = self.config
        self.stats = AdapterStats()
        self.client = OAClient(c.api_base_url, c.oauth_base_url, c.request_timeout)
        self.tokens = TokenKeeper(
            name,
            initial_pair(name, c.token_file, c.refresh_token, c.refresh_token_env),
            c.token_file,
            self._refresh,
            hint=(
                f"if the refresh token is spent or expired, grant the OA access again, put "
                f"the new refresh token in {c.refresh_token_env} and restart"
            ),
            margin=c.refresh_margin,
            retry_after_failure=c.refresh_retry,
        )
        self._context = ConvertContext(name, c.oa_id, c.max_text_chars)
        self._inbox: Inbox | None = None
        self._stop = asyncio.Event()
        self.listening = asyncio.Event()  # set once the webhook accepts posts
        self.webhook: WebhookServer | None = None

    # ------------------------------------------------------------------ receiving

    async def run(self, inbox: Inbox) -> None:
        self._inbox = inbox
        c = self.config
        server = WebhookServer(
            f"zalo_oa {self.name}",
            c.webhook.path,
            self._handle,
            verify=verifier(c.app_id, c.oa_secret_key),
            refused_status=401,
            max_body=MAX_EVENT_BYTES,
            deadline=c.webhook_deadline,
        )
        await server.start(c.webhook.listen, c.webhook.port)
        self.webhook = server
        self.listening.set()
        log.info(
            "zalo_oa %s: webhook on %s:%s%s",
            self.name,
            c.webhook.listen,
            server.port,
            c.webhook.path,
        )
        keeper = asyncio.create_task(self._keep_token_fresh())
        try:
            await self._stop.wait()
        finally:
            await cancel_and_wait(keeper)
            await server.close()
            self.listening.clear()

    async def _handle(self, data: Any) -> None:
        """One webhook post: converted and stored before the answer."""
        self.stats.updates += 1
        try:
            events = convert_event(data, self._context)
        except Malformed:
            self.stats.skipped += 1
            raise  # answered 400 and logged by the server
        if not events:
            return
        if self._inbox is None:
            raise IntakeUnavailable("botkit is not running yet")
        await self._inbox.submit_many(events, wait=False)
        self.stats.events += len(events)

    async def _keep_token_fresh(self) -> None:
        """Refresh before expiry even when nothing is sent: each refresh also renews the
        refresh token, which otherwise expires after about three months."""
        backoff = Backoff(first=max(self.config.refresh_retry, 1.0), cap=600.0)
        while True:
            await asyncio.sleep(self.tokens.refresh_due_in())
            try:
                await self.tokens.refresh_now()
            except TokenUnavailable:
                await asyncio.sleep(backoff.next())  # logged by the keeper
            else:
                backoff.reset()

    async def close(self) -> None:
        """Stop receiving. Sending still works: botkit drains its outbox after the sources
        stop and closes adapters last; a send after this opens a new HTTP session, closed by
        the next `close`."""
        self._stop.set()
        await self.client.close()

    # ------------------------------------------------------------------ pictures

    async def fetch_photo(self, ref: str, max_bytes: int) -> bytes:
        """The picture at `ref`, an image event's URL; `PhotoUnavailable` when it cannot be
        had within `max_bytes` and the request timeout."""
        return await self.client.download(ref, max_bytes)

    # ------------------------------------------------------------------ sending

    def send_limits(self, action: Outbound) -> tuple[Rate, ...]:
        if not isinstance(action, SendText):
            return ()
        oa = f"zalo_oa:{self.config.oa_id}"
        rates = [Rate(oa, self.config.rate_per_second, 1.0)]
        if self.config.rate_chat_per_second:
            rates.append(Rate(f"{oa}:chat:{action.chat_id}", self.config.rate_chat_per_second, 1.0))
        return tuple(rates)

    async def send(self, action: Outbound) -> str | None:
        if not isinstance(action, SendText):
            raise Unsupported(f"zalo_oa cannot {type(action).__name__}: OA messages are final")
        try:
            requests = requests_for(action)
        except ValueError as exc:  # a button Zalo cannot carry
            raise Unsupported(f"zalo_oa: {exc}") from exc
        sent: str | None = None
        for i, request in enumerate(requests):
            try:
                data = await self._call(request)
            except (ZaloOAError, ZaloOAUnreachable, TokenUnavailable) as exc:
                raise delivery_error(
                    exc, partly_sent=i > 0, rate_limited_pause=self.config.rate_limited_pause
                ) from exc
            message_id = data.get("message_id")
            sent = str(message_id) if message_id is not None else None
        return sent  # the last piece: the one with the buttons

    async def _call(self, request: Request) -> dict[str, Any]:
        token = await self.tokens.access_token()
        try:
            return await self.client.post(request.path, request.body, token)
        except ZaloOAError as exc:
            if exc.code != TOKEN_INVALID:
                raise
        await self.tokens.refused(token)  # once, even if several sends saw it refused
        return await self.client.post(request.path, request.body, await self.tokens.access_token())

    async def _refresh(self, refresh_token: str) -> Refreshed:
        c = self.config
        return await self.client.refresh(refresh_token, c.app_id, c.app_secret)
