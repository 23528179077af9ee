"""Redis out of reach: an intake process keeps accepting into a bounded local spool, and
moves it into the stream when the server is back (a real redis-server, stopped and started)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from botkit.adapter import IntakeUnavailable
from botkit.clock import VirtualClock
from botkit.domain import Message
from botkit.intake import DurableInbox
from botkit.privacy import Pseudonymizer
from botkit.sealing import Sealer
from botkit.spool import Spool, forward_while_running
from botkit.storage.redis import RedisStore
from tests.redis_server import RedisServer, fresh_prefix

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def message(n: int) -> Message:
    return Message("test", "g1", str(n), f"tin nhắn {n}", T0)


async def test_events_wait_in_the_spool_while_redis_is_away(tmp_path: Path, caplog) -> None:
    server = RedisServer(tmp_path / "redis").start()
    store = RedisStore(server.url, fresh_prefix())
    await store.open()
    spool = Spool(tmp_path / "spool.sqlite3", capacity=5)
    key = b"k" * 32
    inbox = DurableInbox(
        store.intake, Sealer(key), Pseudonymizer(key), VirtualClock(T0), 100, spool
    )
    try:
        await inbox.submit_many([message(1), message(2)])
        server.stop()
        await inbox.submit_many([message(3), message(4)])  # accepted: into the spool
        await inbox.submit(message(3))  # a redelivery is not kept twice
        assert spool.size() == 2
        assert "out of reach" in caplog.text
        with pytest.raises(IntakeUnavailable, match="capacity 5"):
            await inbox.submit_many([message(n) for n in range(10, 14)])  # full: refused
        server.start()
        stop = asyncio.Event()
        stop.set()  # one pass, as when stopping
        await forward_while_running(spool, store.intake, stop)
        assert spool.size() == 0
        claimed = await store.intake.claim("w", 10, T0, LEASE, 20)
        assert len(claimed) == 4  # 1, 2 from before; 3, 4 from the spool
        await inbox.submit(message(4))  # already in the stream: not added again
        assert await store.intake.backlog() == 4
    finally:
        spool.close()
        await store.close()
        server.stop()
