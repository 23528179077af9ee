"""The Zalo Bot Platform adapter: officers' alerts and residents' direct messages.

A Zalo bot cannot join groups (`getMe.can_join_groups` is false), so it does no group
moderation: it pages officers, reads their typed commands (`/ack 12`) and passes residents'
direct messages to the core. Updates come by long polling (getUpdates, one update per call)
or by webhook (posts carrying `X-Bot-Api-Secret-Token`); the two exclude each other, so
polling first deletes any webhook. Zalo's messages can be neither edited nor deleted: the
core sends a changed alert as a new message.

Pictures ("photos"): an image update's `photo_url` is the message's `photo` reference;
`fetch_photo` downloads it when the core asks, within the core's size limit (`photos.py`),
and keeps nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.kit.loop import AdapterStats, Backoff, run_until
from adapters.kit.pacing import PACE_MARGIN
from adapters.kit.webhook import WebhookServer, secret_header
from adapters.zalo_bot.api import ZaloBotClient, ZaloBotError, ZaloBotUnreachable
from adapters.zalo_bot.convert import parse_update, to_events
from adapters.zalo_bot.errors import delivery_error
from adapters.zalo_bot.outbound import message_pieces
from adapters.zalo_bot.polling import Poller
from adapters.zalo_bot.settings import ZaloBotSettings
from botkit.adapter import Adapter, InboundEvent, Inbox, Unsupported
from botkit.config import AdapterSettings
from botkit.outbound import DeleteMessage, EditText, Outbound, SendText
from botkit.pacing import Rate

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
# A Zalo update is a few hundred bytes; anything near this is not one.
MAX_WEBHOOK_BODY = 256 * 1024


class ZaloBotAdapter(Adapter):
    platform: ClassVar[str] = "zalo_bot"
    capabilities: ClassVar[frozenset[str]] = frozenset({"send", "photos"})

    def __init__(
        self,
        name: str,
        settings: AdapterSettings,
        *,
        environ: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name, settings)
        self.config = ZaloBotSettings.from_adapter(name, settings, environ)
        self.label = f"zalo_bot {name} (bot {self.config.bot_id})"
        self.stats = AdapterStats()
        self.client = ZaloBotClient(
            self.config.api_base_url,
            self.config.token,
            request_timeout=self.config.request_timeout,
        )
        self.poller = Poller(
            self.label,
            self.client,
            self.events_of,
            self.stats,
            poll_timeout=self.config.poll_timeout,
            backoff=backoff,
        )
        self.account_name: str | None = None
        self.webhook: WebhookServer | None = None
        self._inbox: Inbox | None = None
        self._stop = asyncio.Event()

    # ------------------------------------------------------------------ limits

    def send_limits(self, action: Outbound) -> tuple[Rate, ...]:
        """Zalo publishes no limits: conservative configurable rates (see settings)."""
        if not isinstance(action, SendText):
            return ()
        bot = f"zalo-bot:{self.config.bot_id}"
        rates = [
            _rate(bot, self.config.rate_per_second),
            _rate(f"{bot}:chat:{action.chat_id}", self.config.rate_chat_per_second),
        ]
        return tuple(r for r in rates if r is not None)

    def exclusive_source(self) -> str | None:
        # Two pollers would each get part of the updates (each is handed out once).
        return f"zalo-bot:{self.config.bot_id}" if self.config.mode == "polling" else None

    # ------------------------------------------------------------------ receiving

    async def run(self, inbox: Inbox) -> None:
        self._inbox = inbox
        if self._stop.is_set():
            return
        # Start-up calls too run until stopped: a close() during them ends run() quietly.
        await run_until(self._receive(inbox), self._stop)

    async def _receive(self, inbox: Inbox) -> None:
        me = await self.client.call("getMe")  # checks the token before anything else
        if isinstance(me, dict) and isinstance(me.get("account_name"), str):
            self.account_name = me["account_name"]
        if self.config.mode == "webhook":
            await self._serve_webhook()
        else:
            await self.client.call("deleteWebhook")  # else getUpdates fails
            log.info("%s: polling %s", self.label, self.config.api_base_url)
            await self.poller.run(inbox, self._stop)

    async def _serve_webhook(self) -> None:
        c = self.config
        assert c.webhook_url is not None and c.webhook_secret is not None
        if self.webhook is None:
            server = WebhookServer(
                self.label,
                c.webhook.path,
                self._handle_post,
                verify=secret_header(SECRET_HEADER, c.webhook_secret),
                refused_status=403,
                max_body=MAX_WEBHOOK_BODY,
            )
            await server.start(c.webhook.listen, c.webhook.port)
            self.webhook = server
        await self.client.call(
            "setWebhook", {"url": c.webhook_url, "secret_token": c.webhook_secret}
        )
        log.info(
            "%s: webhook on %s:%s%s",
            self.label,
            c.webhook.listen,
            self.webhook.port,
            c.webhook.path,
        )
        await self._stop.wait()

    async def _handle_post(self, raw: Any) -> None:
        """A webhook post: stored before the 200. `IntakeUnavailable` → 503, so that Zalo may
        post it again (its retry policy is not documented); `Malformed` → 400."""
        self.stats.updates += 1
        events = self.events_of(raw)
        if not events:
            return
        assert self._inbox is not None  # the server starts in run()
        await self._inbox.submit_many(events, wait=False)
        self.stats.events += len(events)

    def events_of(self, raw: Any) -> list[InboundEvent]:
        """The core events of one update; `Malformed` when it is no update."""
        update = parse_update(raw)
        events = to_events(
            update, self.name, bot_name=self.account_name, max_text_chars=self.config.max_text_chars
        )
        if not events:
            self.stats.skipped += 1
            log.debug(
                "%s: %s %s carries nothing for botkit",
                self.label,
                update.event_name,
                update.message_id,
            )
        return list(events)

    async def close(self) -> None:
        self._stop.set()
        if self.webhook is not None:
            await self.webhook.close()
            self.webhook = None
        await self.client.close()

    # ------------------------------------------------------------------ pictures

    async def fetch_photo(self, ref: str, max_bytes: int) -> bytes:
        """The picture at `ref`, an image update's `photo_url`; `PhotoUnavailable` when it
        cannot be had within `max_bytes` and the request timeout."""
        return await self.client.download(ref, max_bytes)

    # ------------------------------------------------------------------ sending

    async def send(self, action: Outbound) -> str | None:
        if isinstance(action, SendText):
            return await self._send_text(action)
        if isinstance(action, EditText):
            raise Unsupported("zalo_bot: the Zalo Bot API cannot edit a message")
        if isinstance(action, DeleteMessage):
            raise Unsupported("zalo_bot: the Zalo Bot API cannot delete a message")
        raise Unsupported(f"zalo_bot: unknown action {type(action).__name__}")

    async def _send_text(self, action: SendText) -> str | None:
        # Zalo has no replies or quotes: `reply_to` cannot be shown and is left out.
        try:
            pieces = message_pieces(action.text, action.buttons)
        except ValueError as exc:
            raise Unsupported(f"zalo_bot: {exc}") from exc
        message_id: str | None = None
        for i, piece in enumerate(pieces):
            if i and self.config.rate_chat_per_second:
                # The dispatcher paced the action; its further pieces are spaced here.
                await asyncio.sleep(PACE_MARGIN / self.config.rate_chat_per_second)
            try:
                result = await self.client.call(
                    "sendMessage", {"chat_id": action.chat_id, "text": piece}
                )
            except (ZaloBotError, ZaloBotUnreachable) as exc:
                raise delivery_error(exc, partly_sent=i > 0) from exc
            if isinstance(result, dict) and result.get("message_id") is not None:
                message_id = str(result["message_id"])
        return message_id


def _rate(key: str, per_second: float) -> Rate | None:
    """`per_second` as a `Rate` (0: no limit); below 1/s, one per so many seconds."""
    if per_second <= 0:
        return None
    if per_second >= 1:
        return Rate(key, int(per_second), 1.0)
    return Rate(key, 1, 1.0 / per_second)
