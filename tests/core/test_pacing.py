"""Platform rates: kept per process on SQLite, for the whole fleet on Redis (a real server)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from botkit.adapter import Adapter, DeliveryError, Inbox
from botkit.config import AdapterSettings
from botkit.dispatch import AdapterDispatcher
from botkit.outbound import Outbound, SendText
from botkit.pacing import LocalRateGate, Rate
from botkit.storage.redis import RedisStore
from tests.redis_server import fresh_prefix, shared_url

BOT = Rate("telegram:1", 30, 1.0)


async def test_a_burst_fits_then_the_gate_says_how_long_to_wait() -> None:
    gate = LocalRateGate()
    assert [await gate.reserve([BOT]) for _ in range(30)] == [0.0] * 30
    wait = await gate.reserve([BOT])
    assert 0 < wait <= 1 / 30 + 0.01


async def test_all_rates_of_an_action_are_reserved_together_or_not_at_all() -> None:
    gate = LocalRateGate()
    chat = Rate("telegram:1:chat:5", 1, 1.0)
    assert await gate.reserve([BOT, chat]) == 0
    assert await gate.reserve([BOT, chat]) > 0.9  # the chat is full: nothing reserved
    # the refused attempt took no slot of the bot's 30/s
    assert [await gate.reserve([BOT]) for _ in range(29)] == [0.0] * 29
    assert await gate.reserve([BOT]) > 0


async def test_a_group_allows_twenty_a_minute() -> None:
    gate = LocalRateGate()
    group = Rate("telegram:1:group:-100", 20, 60.0)
    assert [await gate.reserve([group]) for _ in range(20)] == [0.0] * 20
    assert 2.5 < await gate.reserve([group]) <= 3.01  # one slot frees every 3 s


async def test_on_redis_two_processes_share_one_budget() -> None:
    url, prefix = shared_url(), fresh_prefix()
    first, second = RedisStore(url, prefix, owner="a"), RedisStore(url, prefix, owner="b")
    for store in (first, second):
        await store.open()
    try:
        granted = 0
        for i in range(40):  # alternate between the two processes
            store = first if i % 2 else second
            granted += await store.rate_gate.reserve([BOT]) == 0
        assert granted == 30  # not 30 each
        other = RedisStore(url, fresh_prefix(), owner="c")  # another deployment: its own
        await other.open()
        assert await other.rate_gate.reserve([BOT]) == 0
        await other.close()
    finally:
        for store in (first, second):
            await store.close()


class Slow(Adapter):
    """A platform allowing one message a minute per chat."""

    platform: ClassVar[str] = "slow"

    def send_limits(self, action: Outbound) -> tuple[Rate, ...]:
        return (Rate(f"slow:chat:{getattr(action, 'chat_id', '')}", 1, 60.0),)

    async def run(self, inbox: Inbox) -> None:
        return None

    async def send(self, action: Outbound) -> str | None:
        return "1"


async def test_the_dispatcher_waits_for_room_or_says_when_to_retry() -> None:
    dispatcher = AdapterDispatcher({"slow": Slow("slow", AdapterSettings())})
    action = SendText("c1", "xin chào")
    await dispatcher.ready("slow", action)
    with pytest.raises(DeliveryError) as caught:
        await dispatcher.ready("slow", action)  # a minute away: not waited for here
    assert caught.value.retry_after is not None and 50 < caught.value.retry_after <= 60
    await dispatcher.ready("slow", SendText("c2", "xin chào"))  # another chat has room
