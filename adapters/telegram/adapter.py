"""The python-telegram-bot adapter: polling or webhook, flood-controlled sends, lazy start.

Updates always pass through a PTB `Application` as a `TypeHandler` in group -100, the same
handler `embed` installs in a host's Application, so a bot of its own and an embedded botkit
behave alike. The Application is never started with `run_polling`/`run_webhook`: botkit
fetches updates itself (raw JSON, one update at a time, so one malformed update is skipped
instead of failing a batch) and never touches the event loop or signals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    ExtBot,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from adapters.kit.loop import run_until
from adapters.kit.webhook import WebhookServer, secret_header
from adapters.telegram import send as ptb_send
from adapters.telegram.convert import convert
from adapters.telegram.limits import BotkitRateLimiter
from adapters.telegram_common.base import TelegramAdapterBase, refuse_size
from adapters.telegram_common.common import ADMIN_STATUSES, ALLOWED_UPDATES, SECRET_HEADER
from adapters.telegram_common.events import ConvertContext, Converted
from botkit.adapter import DeliveryError
from botkit.config import AdapterSettings
from botkit.outbound import Button

log = logging.getLogger(__name__)

BOTKIT_GROUP = -100  # before a host's handlers (group 0 and up)


class RawUpdatesBot(ExtBot[int]):
    """An ExtBot that can fetch updates as raw JSON."""

    async def get_raw_updates(
        self, offset: int, timeout: int, allowed_updates: Sequence[str]
    ) -> list[Any]:
        data: dict[str, Any] = {"timeout": timeout, "allowed_updates": list(allowed_updates)}
        if offset:
            data["offset"] = offset
        result = await self._post("getUpdates", data, read_timeout=timeout + 10)
        return result if isinstance(result, list) else []


class TelegramAdapter(TelegramAdapterBase[Update]):
    """Telegram through python-telegram-bot 22."""

    platform: ClassVar[str] = "telegram"

    def __init__(
        self,
        name: str,
        settings: AdapterSettings,
        *,
        bot: Bot | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name, settings, embedded=bot is not None, environ=environ)
        self._bot: Bot | None = bot
        self._bot_ready = False
        self._bot_lock = asyncio.Lock()
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._webhook: WebhookServer | None = None

    # ------------------------------------------------------------------ the bot

    def _make_bot(self) -> RawUpdatesBot:
        c = self.config
        limiter = BotkitRateLimiter(
            overall_per_second=c.overall_per_second,
            group_per_minute=c.group_per_minute,
            chat_per_second=c.chat_per_second,
            max_retries=c.max_retries,
            max_retry_after=c.max_retry_after,
        )
        return RawUpdatesBot(
            c.token,
            base_url=f"{c.api_base_url}/bot",
            base_file_url=f"{c.api_base_url}/file/bot",
            request=HTTPXRequest(connection_pool_size=32),
            get_updates_request=HTTPXRequest(
                connection_pool_size=1, read_timeout=c.poll_timeout + 10
            ),
            rate_limiter=limiter,
        )

    async def bot(self) -> Bot:
        """The bot, created and initialised on first use: `send` works without `run`."""
        if self._bot is not None and (self._bot_ready or self.embedded):
            return self._bot
        async with self._bot_lock:
            if self._bot is None:
                self._bot = self._make_bot()
            if not self._bot_ready and not self.embedded:
                try:
                    await self._bot.initialize()  # getMe: checks the token
                except InvalidToken as exc:
                    raise DeliveryError(
                        f"adapters.{self.name}: Telegram rejected the bot token "
                        f"(bot id {self.config.token_id}): {exc.message}"
                    ) from exc
                except TelegramError as exc:
                    raise DeliveryError(f"telegram: cannot reach the Bot API: {exc}") from exc
                self._bot_ready = True
            return self._bot

    async def prepare_sending(self) -> None:
        await self.bot()

    def _username(self) -> str | None:
        if self._bot is None:
            return None
        try:
            return self._bot.username
        except RuntimeError:  # not initialised yet (a host that has not started)
            return None

    # ------------------------------------------------------------------ receiving

    async def _receive(self) -> None:
        bot = await self.bot()
        assert isinstance(bot, RawUpdatesBot)
        if self._app is None:
            app = ApplicationBuilder().bot(bot).updater(None).build()
            app.add_handler(self.ptb_handler(), group=BOTKIT_GROUP)
            await app.initialize()
            self._app = app
        if self.config.mode == "webhook":
            await run_until(self._serve_webhook(bot), self._stop)
        else:
            await bot.delete_webhook(drop_pending_updates=False)  # else getUpdates gets 409
            log.info(
                "telegram %s: polling %s as @%s",
                self.name,
                self.config.api_base_url,
                self._username(),
            )
            await run_until(
                self._poll_loop(bot.get_raw_updates, self.handle_raw, (InvalidToken,)), self._stop
            )

    async def _serve_webhook(self, bot: RawUpdatesBot) -> None:
        c = self.config
        verify = (
            None if c.webhook_secret is None else secret_header(SECRET_HEADER, c.webhook_secret)
        )
        server = WebhookServer(
            f"telegram {self.name}",
            c.webhook_path,
            self._handle_posted,
            verify=verify,
            refused_status=403,
        )
        await server.start(c.webhook_listen, c.webhook_port)
        self._webhook = server
        assert c.webhook_url is not None
        await bot.set_webhook(
            url=c.webhook_url, secret_token=c.webhook_secret, allowed_updates=list(ALLOWED_UPDATES)
        )
        log.info(
            "telegram %s: webhook on %s:%s%s",
            self.name,
            c.webhook_listen,
            c.webhook_port,
            c.webhook_path,
        )
        await self._stop.wait()

    async def _handle_posted(self, raw: Any) -> None:
        await self.handle_posted(raw, self.handle_raw)

    async def handle_raw(self, raw: Any) -> None:
        """One update as JSON, parsed alone: a malformed one is skipped, not fatal."""
        bot = await self.bot()
        try:
            if not isinstance(raw, dict):
                raise TypeError(f"an update is a JSON object, not {type(raw).__name__}")
            update = Update.de_json(raw, bot)
        except Exception as exc:
            self.skip_malformed(raw, exc)
            return
        if self._app is not None:
            await self._app.process_update(update)
        else:
            await self.handle_update(update)

    def ptb_handler(self) -> TypeHandler[Update, Any, None]:
        """The handler botkit adds to an Application, in group -100."""

        async def botkit_update(update: Update, context: Any) -> None:
            converted = await self.handle_update(update)
            if converted.owned:
                raise ApplicationHandlerStop  # botkit's command or button: not the host's

        return TypeHandler(Update, botkit_update)

    async def close(self) -> None:
        await super().close()
        if self._webhook is not None:
            await self._webhook.close()
            self._webhook = None
        if self._app is not None:
            await self._app.shutdown()  # shuts the bot down too
            self._app = None
        elif self._bot is not None and self._bot_ready:
            await self._bot.shutdown()
        self._bot_ready = False

    # ------------------------------------------------------------------ library hooks

    async def _convert(self, update: Update, ctx: ConvertContext) -> Converted:
        return await convert(update, ctx)

    def _update_id(self, update: Update) -> int:
        return update.update_id

    async def _is_admin(self, chat_id: int, user_id: int) -> bool:
        member = await (await self.bot()).get_chat_member(chat_id, user_id)
        return member.status in ADMIN_STATUSES

    async def _post_text(
        self, chat_id: int | str, text: str, buttons: Sequence[Button], reply_to: int | None
    ) -> int:
        return await ptb_send.post_text(await self.bot(), chat_id, text, buttons, reply_to)

    async def _edit_text(
        self, chat_id: int | str, message_id: int, text: str, buttons: Sequence[Button]
    ) -> None:
        await ptb_send.edit_text(await self.bot(), chat_id, message_id, text, buttons)

    async def _delete(self, chat_id: int | str, message_id: int) -> None:
        await ptb_send.delete(await self.bot(), chat_id, message_id)

    async def _copy(self, chat_id: int | str, from_chat_id: int | str, message_id: int) -> int:
        copied = await (await self.bot()).copy_message(chat_id, from_chat_id, message_id)
        return copied.message_id

    async def _answer(self, query_id: str, text: str | None) -> None:
        await (await self.bot()).answer_callback_query(query_id, text=text)

    async def _fetch_file(self, file_id: str, max_bytes: int) -> bytes:
        found = await (await self.bot()).get_file(file_id)
        refuse_size(found.file_size, max_bytes)
        return bytes(await found.download_as_bytearray())

    def _translate(self, exc: Exception) -> Exception | None:
        return ptb_send.translate(exc)
