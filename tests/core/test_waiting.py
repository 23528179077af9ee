"""Waiting with a time limit: a cancellation is never lost (see `botkit.waiting`)."""

from __future__ import annotations

import asyncio

import pytest

from botkit.waiting import cancel_and_wait, event_within, to_the_end


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


async def test_cancel_and_wait_ends_the_task_and_keeps_the_callers_cancellation() -> None:
    """The task's own cancellation is absorbed; a cancellation of the caller that arrives
    while it waits for the task to wind down is not (`suppress(CancelledError)` lost it)."""
    wound_down = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            wound_down.set()
            await to_the_end(asyncio.sleep(0.05))  # a second cancellation does not cut this

    quick = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    await cancel_and_wait(quick)  # no error: the task's own cancellation ends here
    assert quick.cancelled()

    went_on: list[bool] = []

    async def stopper(inner: asyncio.Task[None]) -> None:
        await cancel_and_wait(inner)
        went_on.append(True)

    inner = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    outer = asyncio.create_task(stopper(inner))
    await asyncio.sleep(0.01)  # the stopper waits for the inner task to wind down
    outer.cancel()
    await asyncio.gather(outer, return_exceptions=True)
    assert outer.cancelled() and not went_on
    assert wound_down.is_set()
