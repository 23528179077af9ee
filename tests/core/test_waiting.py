"""Waiting with a time limit: a cancellation is never lost (see `botkit.waiting`)."""

from __future__ import annotations

import asyncio

import pytest

from botkit.waiting import event_within, to_the_end


async def test_an_event_set_in_time_or_not() -> None:
    event = asyncio.Event()
    assert not await event_within(event, 0.01)
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await event_within(event, 5)


async def test_a_cancellation_arriving_as_the_event_is_set_is_not_lost() -> None:
    """Cancelled at every moment around the event's setting: each cancellation asked while
    the waiter was still waiting ends it (Python 3.11's `asyncio.wait_for` lost about half
    of them, returning as if nothing had been asked)."""
    lost = 0
    for n in range(60):
        event = asyncio.Event()
        went_on: list[bool] = []

        async def waiter(event: asyncio.Event = event, went_on: list[bool] = went_on) -> None:
            await event_within(event, 5)
            went_on.append(True)

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        event.set()
        for _ in range(n % 3):
            await asyncio.sleep(0)
        asked = task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        lost += asked and not task.cancelled()
        assert not (asked and went_on)
    assert lost == 0


async def test_work_to_the_end_finishes_when_its_caller_is_cancelled() -> None:
    finished: list[str] = []

    async def record() -> str:
        await asyncio.sleep(0.05)
        finished.append("recorded")
        return "ok"

    task = asyncio.create_task(to_the_end(record()))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == ["recorded"]  # done before the cancellation went on
    assert await asyncio.create_task(to_the_end(record())) == "ok"
