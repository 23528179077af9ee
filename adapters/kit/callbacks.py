"""Button presses waiting for the core's reply.

The reply becomes the answer to the press; if none comes in time, an empty answer stops
the spinner on the officer's phone. Platforms without answers to presses do not need it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

AnswerFn = Callable[[str, str | None], Awaitable[None]]


class PendingCallbacks:
    def __init__(self, answer: AnswerFn, timeout: float) -> None:
        self._answer = answer
        self._timeout = timeout
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, query_id: str) -> None:
        loop = asyncio.get_running_loop()
        self._pending[query_id] = loop.call_later(self._timeout, self._expire, query_id)

    def take(self, query_id: str) -> bool:
        """True (once) when the press is still unanswered."""
        handle = self._pending.pop(query_id, None)
        if handle is None:
            return False
        handle.cancel()
        return True

    def __len__(self) -> int:
        return len(self._pending)

    def _expire(self, query_id: str) -> None:
        if self._pending.pop(query_id, None) is None:
            return
        task = asyncio.get_running_loop().create_task(self._safe_answer(query_id, None))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _safe_answer(self, query_id: str, text: str | None) -> None:
        try:
            await self._answer(query_id, text)
        except Exception as exc:  # an unanswered press only leaves a spinner
            log.warning("answering button press %s failed: %s", query_id, exc)

    async def close(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()
