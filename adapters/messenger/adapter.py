"""Facebook Messenger for one Page: residents' and officers' private messages in, officers'
alerts out.

Facebook Groups cannot be read by any API since the Groups API was removed (April 2024), so
this adapter moderates no group: a resident's message to the Page is a report from that
conversation, and officers receive their alerts here and act on them with buttons or typed
commands. Messenger can neither edit nor delete a sent message: an alert's new state arrives
as a new message (the core does that when "edit" is missing from `capabilities`).

Meta's posts are checked (HMAC), converted and stored before they are answered 200; the
webhook server is the kit's.

Pictures ("photos"): a resident's image attachment is the message's `photo` reference (its
URL on Meta's CDN); `fetch_photo` downloads it when the core asks, within the core's size
limit (`photos.py`), and keeps nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.kit.loop import AdapterStats, run_until
from adapters.kit.webhook import WebhookServer
from adapters.messenger.client import GraphClient
from adapters.messenger.events import ConvertContext, convert_post
from adapters.messenger.send import messages
from adapters.messenger.settings import MessengerSettings
from adapters.messenger.signature import hub_challenge, hub_signature
from botkit.adapter import Adapter, DeliveryError, Inbox, Unsupported
from botkit.config import AdapterSettings
from botkit.outbound import Outbound, SendText
from botkit.pacing import Rate

log = logging.getLogger(__name__)


class MessengerAdapter(Adapter):
    platform: ClassVar[str] = "messenger"
    capabilities: ClassVar[frozenset[str]] = frozenset({"send", "photos"})

    def __init__(
        self, name: str, settings: AdapterSettings, *, environ: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(name, settings)
        self.config = MessengerSettings.from_adapter(name, settings, environ)
        self.stats = AdapterStats()
        self.client = GraphClient(self.config)
        self.webhook: WebhookServer | None = None
        # Set once the webhook listens (its port is then `webhook.port`): hosts and tests
        # wait on it instead of guessing.
        self.listening = asyncio.Event()
        self._context = ConvertContext(name, self.config.page_id, self.config.max_text_chars)
        self._inbox: Inbox | None = None
        self._stop = asyncio.Event()

    def send_limits(self, action: Outbound) -> tuple[Rate, ...]:
        """The Send API's 300 calls/s per Page (text), kept for every process of a fleet."""
        if not isinstance(action, SendText):
            return ()
        return (Rate(f"messenger:{self.config.page_id}", self.config.calls_per_second, 1.0),)

    # ------------------------------------------------------------------ receiving

    async def run(self, inbox: Inbox) -> None:
        self._inbox = inbox
        c = self.config
        server = WebhookServer(
            f"messenger {self.name}",
            c.webhook.path,
            self._handle_post,
            verify=hub_signature(c.app_secret),
            refused_status=403,
            challenge=hub_challenge(c.verify_token),
            deadline=c.webhook_deadline_seconds,
        )
        await server.start(c.webhook.listen, c.webhook.port)
        self.webhook = server
        log.info(
            "messenger %s: webhook for Page %s on %s:%s%s",
            self.name,
            c.page_id,
            c.webhook.listen,
            server.port,
            c.webhook.path,
        )
        self.listening.set()
        try:
            await run_until(self._check_token(), self._stop)  # a slow Graph API delays no stop
            await self._stop.wait()
        finally:
            self.listening.clear()
            self.stats.refused += server.refused
            await server.close()
            self.webhook = None

    async def _handle_post(self, body: Any) -> None:
        """One post: every event converted, then all handed over at once, before the 200."""
        converted = convert_post(body, self._context)
        self.stats.updates += converted.items
        self.stats.skipped += converted.skipped
        if not converted.events:
            return
        assert self._inbox is not None  # the server starts only once run() has the inbox
        # wait=False: a full intake answers 503 at once, and Meta posts again later.
        await self._inbox.submit_many(converted.events, wait=False)
        self.stats.events += len(converted.events)

    async def _check_token(self) -> None:
        """One line at start when the token cannot send for this Page; sends fail alike."""
        try:
            page = await self.client.page()
        except DeliveryError as exc:
            level = logging.ERROR if exc.permanent else logging.WARNING
            log.log(level, "messenger %s: cannot check the Page token: %s", self.name, exc)
            return
        if str(page.get("id")) != self.config.page_id:
            log.error(
                "messenger %s: %s holds a token of Page %s, not of page_id %s",
                self.name,
                self.config.page_token_env,
                page.get("id"),
                self.config.page_id,
            )

    async def close(self) -> None:
        self._stop.set()
        await self.client.close()

    # ------------------------------------------------------------------ pictures

    async def fetch_photo(self, ref: str, max_bytes: int) -> bytes:
        """The picture at `ref`, an image attachment's URL; `PhotoUnavailable` when it cannot
        be had within `max_bytes` and the request timeout."""
        return await self.client.download(ref, max_bytes)

    # ------------------------------------------------------------------ sending

    async def send(self, action: Outbound) -> str | None:
        if not isinstance(action, SendText):
            raise Unsupported(
                f"messenger: a sent message can be neither edited nor deleted "
                f"({type(action).__name__})"
            )
        try:
            bodies = messages(action.text, action.buttons)
        except ValueError as exc:
            raise Unsupported(f"messenger: {exc}") from exc
        # The Send API as botkit uses it quotes no earlier message: `reply_to` is left out.
        sent: str | None = None
        for i, body in enumerate(bodies):
            try:
                sent = await self.client.send_message(action.chat_id, body)
            except DeliveryError as exc:
                if i == 0:
                    raise
                # Earlier pieces arrived: the retry repeats them, and says so.
                raise DeliveryError(
                    f"{exc} (after {i} of {len(bodies)} pieces)",
                    permanent=exc.permanent,
                    retry_after=exc.retry_after,
                    ambiguous=True,
                ) from exc
        # The last piece carries the buttons; its id is the alert's.
        return sent
