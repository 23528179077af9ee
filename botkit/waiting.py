"""Waiting without losing a cancellation, and finishing what must not be cut short.

On Python 3.11, `asyncio.wait_for` returns the awaited result when a cancellation arrives
just as that result does: the caller carries on as if it had never been cancelled. A
sender's lane stopped just as a send finished went on sending the rest of its chat's queue,
one message a second, and the process did not exit within a minute of SIGTERM. A script
that cancelled a waiting task 200 times, at four moments around the end of what it awaited,
saw `wait_for` swallow 100 of the cancellations and `asyncio.timeout` none. botkit uses the
latter (`tests/test_architecture.py` keeps `wait_for` out of the code).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def event_within(event: asyncio.Event, seconds: float | None) -> bool:
    """Whether `event` is set within `seconds` (None: no limit)."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def to_the_end(work: Awaitable[T]) -> T:
    """`work` finished even if the caller is cancelled meanwhile; the cancellation follows.

    For writing down what already happened in the world (a message the platform accepted):
    cut short, the record would say it is still to send, and it would go out twice."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.shield(task)  # a second cancellation leaves it running alone
        raise


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel `task` and wait until it has ended; its own cancellation ends here, the
    caller's does not.

    `task.cancel()` then `with suppress(CancelledError): await task` swallows both: a caller
    cancelled while it waits for the task (an adapter stopped during its shutdown) would
    carry on as if nothing had been asked."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
