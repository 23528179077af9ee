"""The aiogram adapter: polling or webhook, flood-controlled sends, lazy start.

aiogram validates a whole getUpdates batch at once, so one update its pydantic models reject
would make it retry the same batch forever. botkit fetches the batch as raw JSON instead and
validates and feeds each update alone (`Dispatcher.feed_update`): a malformed update is
logged and skipped, and the offset always advances. Updates pass through the same middleware
and router that `embed` installs in a host's Dispatcher.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.methods import TelegramMethod
from aiogram.types import Update

from adapters.kit.loop import run_until
from adapters.kit.webhook import WebhookServer, secret_header
from adapters.telegram_aiogram import send as aio_send
from adapters.telegram_aiogram.convert import convert
from adapters.telegram_aiogram.limits import RateLimitMiddleware, RetryAfterMiddleware
from adapters.telegram_aiogram.routing import attach
from adapters.telegram_common.base import TelegramAdapterBase, refuse_size
from adapters.telegram_common.common import ADMIN_STATUSES, ALLOWED_UPDATES, SECRET_HEADER
from adapters.telegram_common.events import ConvertContext, Converted, enum_text
from botkit.adapter import PhotoUnavailable
from botkit.config import AdapterSettings
from botkit.outbound import Button

log = logging.getLogger(__name__)


class GetRawUpdates(TelegramMethod[list[Any]]):
    """getUpdates whose result stays raw JSON, validated later one update at a time."""

    __returning__ = list[Any]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


class BotTokenRejected(RuntimeError):
    pass


class AiogramAdapter(TelegramAdapterBase[Update]):
    """Telegram through aiogram 3."""

    platform: ClassVar[str] = "telegram_aiogram"

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
        self._dp: Dispatcher | None = None
        self._webhook: WebhookServer | None = None
        self._me_username: str | None = None
        self.retry_after: RetryAfterMiddleware | None = None

    # ------------------------------------------------------------------ the bot

    def bot(self) -> Bot:
        """The bot, created on first use (no I/O): `send` works without `run`."""
        if self._bot is None:
            c = self.config
            session = AiohttpSession(api=TelegramAPIServer.from_base(c.api_base_url))
            self.retry_after = RetryAfterMiddleware(c.max_retries, c.max_retry_after)
            session.middleware(self.retry_after)  # outermost: each retry passes the limiter
            session.middleware(
                RateLimitMiddleware(c.overall_per_second, c.group_per_minute, c.chat_per_second)
            )
            self._bot = Bot(c.token, session=session)
        return self._bot

    def _username(self) -> str | None:
        return self._me_username

    async def _learn_username(self) -> None:
        try:
            me = await self.bot().me()  # cached by aiogram after the first call
        except TelegramUnauthorizedError as exc:
            raise BotTokenRejected(
                f"adapters.{self.name}: Telegram rejected the bot token "
                f"(bot id {self.config.token_id}): {exc.message}"
            ) from exc
        self._me_username = me.username

    async def prepare_sending(self) -> None:
        if not self.embedded:
            await self._learn_username()  # getMe: checks the token, opens the session

    # ------------------------------------------------------------------ receiving

    async def _receive(self) -> None:
        bot = self.bot()
        await self._learn_username()
        if self._dp is None:
            self._dp = Dispatcher()
            attach(self._dp, self)
        if self.config.mode == "webhook":
            await run_until(self._serve_webhook(bot), self._stop)
        else:
            await bot.delete_webhook(drop_pending_updates=False)  # else getUpdates gets 409
            log.info(
                "telegram %s: polling %s as @%s",
                self.name,
                self.config.api_base_url,
                self._me_username,
            )
            await run_until(
                self._poll_loop(self._fetch, self.handle_raw, (TelegramUnauthorizedError,)),
                self._stop,
            )

    async def _fetch(self, offset: int, timeout: int, allowed: Sequence[str]) -> list[Any]:
        method = GetRawUpdates(
            offset=offset or None, timeout=timeout, allowed_updates=list(allowed)
        )
        return await self.bot()(method, request_timeout=timeout + 10)

    async def _serve_webhook(self, bot: Bot) -> None:
        c = self.config
        # 401 on a wrong secret, as aiogram's SimpleRequestHandler answers.
        verify = (
            None if c.webhook_secret is None else secret_header(SECRET_HEADER, c.webhook_secret)
        )
        server = WebhookServer(
            f"telegram {self.name}",
            c.webhook_path,
            self._handle_posted,
            verify=verify,
            refused_status=401,
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
        """One update as JSON, validated alone: a malformed one is skipped, not fatal."""
        bot = self.bot()
        try:
            update = Update.model_validate(raw, context={"bot": bot})
        except Exception as exc:  # pydantic's ValidationError, or not an object at all
            self.skip_malformed(raw, exc)
            return
        if self._dp is not None:
            await self._dp.feed_update(bot, update)
        else:
            await self.handle_update(update)

    async def close(self) -> None:
        await super().close()
        if self._webhook is not None:
            await self._webhook.close()
            self._webhook = None
        if self._bot is not None and not self.embedded:
            await self._bot.session.close()

    # ------------------------------------------------------------------ library hooks

    async def _convert(self, update: Update, ctx: ConvertContext) -> Converted:
        if ctx.bot_username is None and self.embedded:
            await self._learn_username()
            ctx = dataclasses.replace(ctx, bot_username=self._me_username)
        return await convert(update, ctx)

    def _update_id(self, update: Update) -> int:
        return update.update_id

    async def _is_admin(self, chat_id: int, user_id: int) -> bool:
        member = await self.bot().get_chat_member(chat_id=chat_id, user_id=user_id)
        return enum_text(member.status) in ADMIN_STATUSES

    async def _post_text(
        self, chat_id: int | str, text: str, buttons: Sequence[Button], reply_to: int | None
    ) -> int:
        return await aio_send.post_text(self.bot(), chat_id, text, buttons, reply_to)

    async def _edit_text(
        self, chat_id: int | str, message_id: int, text: str, buttons: Sequence[Button]
    ) -> None:
        await aio_send.edit_text(self.bot(), chat_id, message_id, text, buttons)

    async def _delete(self, chat_id: int | str, message_id: int) -> None:
        await aio_send.delete(self.bot(), chat_id, message_id)

    async def _copy(self, chat_id: int | str, from_chat_id: int | str, message_id: int) -> int:
        copied = await self.bot().copy_message(
            chat_id=chat_id, from_chat_id=from_chat_id, message_id=message_id
        )
        return copied.message_id

    async def _answer(self, query_id: str, text: str | None) -> None:
        await self.bot().answer_callback_query(callback_query_id=query_id, text=text)

    async def _fetch_file(self, file_id: str, max_bytes: int) -> bytes:
        found = await self.bot().get_file(file_id)
        refuse_size(found.file_size, max_bytes)
        downloaded = await self.bot().download_file(found.file_path or "")
        if downloaded is None:  # only when given a destination to write to
            raise PhotoUnavailable("telegram: the download gave nothing")
        return downloaded.read()

    def _translate(self, exc: Exception) -> Exception | None:
        return aio_send.translate(exc)


__all__ = ["AiogramAdapter", "BotTokenRejected", "GetRawUpdates"]
