"""Flood control for aiogram, as request (session) middlewares.

aiogram has no rate limiter. `RateLimitMiddleware` is a token bucket (aiolimiter) per the
Bot API limits: 30 requests/s overall, 20/min per group, 1 message/s per chat.
`RetryAfterMiddleware` waits out a 429's `retry_after` and retries, pausing every other
request meanwhile; a wait beyond `max_retry_after` fails the send so the core retries later.
Register RetryAfter first (outermost) so that each retry passes the limiter again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiolimiter import AsyncLimiter

from adapters.kit.pacing import pace
from adapters.telegram_common.common import PACED_METHODS

log = logging.getLogger(__name__)

_MAX_LIMITERS = 1024


class RetryAfterTooLong(Exception):
    """Telegram asked for a longer pause than botkit waits inside one send."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Flood control: Telegram asks to retry after {seconds:.0f} s")
        self.seconds = seconds


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, max_retries: int = 3, max_retry_after: float = 60.0) -> None:
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self._open = asyncio.Event()
        self._open.set()
        self.retries = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempt = 0
        while True:
            await self._open.wait()
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if exc.retry_after > self.max_retry_after:
                    raise RetryAfterTooLong(exc.retry_after) from exc
                if attempt >= self.max_retries:
                    raise
                attempt += 1
                self.retries += 1
                log.info(
                    "telegram: flood control on %s; retrying in %s s",
                    method.__api_method__,
                    exc.retry_after,
                )
                self._open.clear()  # everyone waits: Telegram counts the whole bot
                try:
                    await asyncio.sleep(exc.retry_after + 0.1)
                finally:
                    self._open.set()


class RateLimitMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        overall_per_second: float = 30,
        group_per_minute: float = 20,
        chat_per_second: float = 1,
    ) -> None:
        self._overall = pace(overall_per_second) if overall_per_second else None
        self._group_rate = group_per_minute
        self._chat_rate = chat_per_second
        self._groups: dict[str, AsyncLimiter] = {}
        self._chats: dict[str, AsyncLimiter] = {}

    @staticmethod
    def _limiter(table: dict[str, AsyncLimiter], key: str, make: Any) -> AsyncLimiter:
        limiter = table.get(key)
        if limiter is None:
            if len(table) >= _MAX_LIMITERS:
                # Drop idle limiters: one with full capacity remembers nothing useful.
                for old, lim in list(table.items()):
                    if lim.has_capacity(lim.max_rate):
                        del table[old]
            limiter = table[key] = make()
        return limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        if chat_id is None:
            return await make_request(bot, method)
        key = str(chat_id)
        async with contextlib.AsyncExitStack() as stack:
            if self._chat_rate and method.__api_method__ in PACED_METHODS:
                await stack.enter_async_context(
                    self._limiter(self._chats, key, lambda: pace(self._chat_rate))
                )
            if self._group_rate and _is_group(chat_id):
                await stack.enter_async_context(
                    self._limiter(self._groups, key, lambda: AsyncLimiter(self._group_rate, 60))
                )
            if self._overall is not None:
                await stack.enter_async_context(self._overall)
            return await make_request(bot, method)


def _is_group(chat_id: object) -> bool:
    # As PTB does: negative ids are groups; @names are channels or supergroups.
    if isinstance(chat_id, int):
        return chat_id < 0
    try:
        return int(str(chat_id)) < 0
    except ValueError:
        return True
