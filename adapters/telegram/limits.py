"""Flood control for python-telegram-bot: AIORateLimiter plus a 1 message/s pace per chat.

AIORateLimiter covers the overall (30/s) and per-group (20/min) limits and retries a 429
after its `retry_after`. It has no per-chat pace, and it would sleep through any
`retry_after`, however long; here a wait beyond `max_retry_after` fails the send instead, so
the core keeps the alert and retries it later rather than stalling its pipeline.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter, TelegramError
from telegram.ext import AIORateLimiter
from telegram.warnings import PTBDeprecationWarning

from adapters.kit.pacing import pace
from adapters.telegram_common.common import PACED_METHODS

JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]

_MAX_CHAT_LIMITERS = 1024


class RetryAfterTooLong(TelegramError):
    """Telegram asked for a longer pause than botkit waits inside one send."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Flood control: Telegram asks to retry after {seconds:.0f} s")
        self.seconds = seconds


def retry_seconds(exc: RetryAfter) -> float:
    """`retry_after` in seconds, whichever type PTB returns (int now, timedelta later)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class BotkitRateLimiter(AIORateLimiter):
    """AIORateLimiter with a per-chat pace and a cap on how long one 429 may stall a send."""

    def __init__(
        self,
        *,
        overall_per_second: float = 30,
        group_per_minute: float = 20,
        chat_per_second: float = 1,
        max_retries: int = 3,
        max_retry_after: float = 60,
    ) -> None:
        super().__init__(
            overall_max_rate=overall_per_second,
            overall_time_period=1,
            group_max_rate=group_per_minute,
            group_time_period=60,
            max_retries=max_retries,
        )
        self._chat_rate = chat_per_second
        self._max_retry_after = max_retry_after
        self._chat_limiters: dict[str, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: object) -> AsyncLimiter:
        key = str(chat_id)
        limiter = self._chat_limiters.get(key)
        if limiter is None:
            if len(self._chat_limiters) >= _MAX_CHAT_LIMITERS:
                # Drop idle limiters: one with full capacity remembers nothing useful.
                for old, lim in list(self._chat_limiters.items()):
                    if lim.has_capacity(lim.max_rate):
                        del self._chat_limiters[old]
            limiter = self._chat_limiters[key] = pace(self._chat_rate)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        cap = self._max_retry_after

        async def capped(*a: Any, **kw: Any) -> Result:
            try:
                return await callback(*a, **kw)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                if seconds > cap:
                    raise RetryAfterTooLong(seconds) from exc
                raise

        chat_id = data.get("chat_id")
        if chat_id is None or not self._chat_rate or endpoint not in PACED_METHODS:
            return await super().process_request(
                capped, args, kwargs, endpoint, data, rate_limit_args
            )
        async with self._chat_limiter(chat_id):
            return await super().process_request(
                capped, args, kwargs, endpoint, data, rate_limit_args
            )
