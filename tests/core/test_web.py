"""`/healthz` and `/metrics`: over a real socket on loopback, against a real store."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from botkit.app import App
from botkit.clock import VirtualClock
from botkit.domain import Message, OfficerCommand
from botkit.pipeline import Inbound
from botkit.runtime import serve_web
from botkit.storage import SqliteStore
from botkit.web.server import serve_http, web_app
from tests.core.assembled import SCAM, T0, assembled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):  # until the server listens
            try:
                async with session.get(url) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"nobody answered at {url}")


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    web = {"enabled": True, "host": "127.0.0.1", "port": free_port()}
    async with assembled(tmp_path, monkeypatch, web=web) as built:
        yield built


async def test_metrics_count_messages_flags_backlog_and_alert_latency(app: App) -> None:
    message = Message("test", "g-cu-mgar", "1", SCAM, T0, sender_id="s1")
    quiet = Message("test", "g-cu-mgar", "2", "chiều nay họp thôn lúc 3 giờ nhé bà con", T0)
    await app.pipeline.process([Inbound(message), Inbound(quiet)])
    await app.sender.run_once()
    ack = OfficerCommand("test", "u-thanh", "ack", "1", T0, chat_id="u-thanh", event_id="e1")
    await app.pipeline.process([Inbound(ack)])
    stop = asyncio.Event()
    web = asyncio.create_task(serve_web(app, stop))
    base = f"http://127.0.0.1:{app.config.web.port}"
    try:
        status, body = await get(f"{base}/metrics")
        assert status == 200
        lines = body.splitlines()
        assert "botkit_messages_total 2.0" in lines
        assert 'botkit_flags_total{category="scam"} 1.0' in lines
        assert "botkit_incidents_open 1.0" in lines
        assert 'botkit_outbox{status="pending"} 1.0' in lines  # the reply to the ack
        assert 'botkit_outbox{status="failed"} 0.0' in lines
        assert "botkit_alert_latency_seconds_count 1.0" in lines
        status, body = await get(f"{base}/metrics")  # counted once, not at each scrape
        assert "botkit_messages_total 2.0" in body.splitlines()
        assert "botkit_alert_latency_seconds_count 1.0" in body.splitlines()
        status, body = await get(f"{base}/healthz")
        assert (status, body) == (200, '{"status":"ok","store":"sqlite"}')
        assert SCAM[:20] not in body and "0987654321" not in body
    finally:
        stop.set()
        await asyncio.wait_for(web, 10)


async def test_health_says_503_when_the_store_is_gone(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(
        serve_http(web_app(store, VirtualClock(T0)), "127.0.0.1", port, stop)
    )
    try:
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        await store.close()
        status, body = await get(f"http://127.0.0.1:{port}/healthz")
        assert status == 503 and '"status":"unavailable"' in body
        status, body = await get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200  # this process's counters still, without the store's gauges
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)


async def test_a_port_in_use_is_one_error_and_the_process_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteStore(":memory:")
    await store.open()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stop = asyncio.Event()
        await asyncio.wait_for(
            serve_http(web_app(store, VirtualClock(T0)), "127.0.0.1", port, stop), 10
        )
    await store.close()
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text
