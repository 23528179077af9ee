"""The kit's webhook server, alone: what every HTTP platform's adapter relies on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from adapters.kit.webhook import Malformed, WebhookServer, secret_header
from botkit.adapter import IntakeUnavailable

HEADER = "X-Test-Secret"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    servers: list[WebhookServer] = []

    async def start(handle: Callable[[Any], Any], **options: Any) -> tuple[WebhookServer, str]:
        server = WebhookServer("test", "/hook", handle, **options)
        await server.start("127.0.0.1", 0)
        servers.append(server)
        return server, f"http://127.0.0.1:{server.port}/hook"

    yield start
    for server in servers:
        await server.close()


async def test_a_wrong_secret_is_refused_before_handling_and_logged_once_per_source(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[Any] = []

    async def handle(data: Any) -> None:
        handled.append(data)

    server, url = await serve(handle, verify=secret_header(HEADER, "s3cret-token"))
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession() as http:
            for _ in range(3):
                async with http.post(url, json={"a": 1}, headers={HEADER: "wrong"}) as r:
                    assert r.status == 403
            async with http.post(url, json={"a": 2}) as r:
                assert r.status == 403
            async with http.post(url, json={"a": 3}, headers={HEADER: "s3cret-token"}) as r:
                assert r.status == 200
    assert handled == [{"a": 3}]
    assert server.refused == 4
    assert caplog.text.count("refused a post with a wrong or missing signature") == 1


async def test_bad_bodies_get_4xx_and_the_server_keeps_serving(serve: Callable[..., Any]) -> None:
    handled: list[Any] = []

    async def handle(data: Any) -> None:
        if data == {"poison": True}:
            raise Malformed("not an event")
        handled.append(data)

    server, url = await serve(handle, max_body=1024)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=b"x" * 5000) as r:
            assert r.status == 400
        async with http.post(url, data=b"{not json") as r:
            assert r.status == 400
        async with http.post(url, json={"poison": True}) as r:
            assert r.status == 400
        async with http.post(url, json={"ok": 1}) as r:
            assert r.status == 200
    assert handled == [{"ok": 1}] and server.rejected == 3


async def test_not_stored_or_too_slow_is_503_so_the_platform_posts_again(
    serve: Callable[..., Any],
) -> None:
    release = asyncio.Event()
    done = asyncio.Event()
    finished: list[Any] = []

    async def handle(data: Any) -> None:
        if data.get("full"):
            raise IntakeUnavailable("intake full")
        await release.wait()
        finished.append(data)
        done.set()

    _, url = await serve(handle, deadline=0.2)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"full": True}) as r:
            assert r.status == 503 and r.headers["Retry-After"] == "5"
        async with http.post(url, json={"slow": True}) as r:
            assert r.status == 503
    release.set()
    # The late hand-over still completes (the platform's redelivery is then a duplicate).
    await asyncio.wait_for(done.wait(), 5)
    assert finished == [{"slow": True}]


async def test_the_verification_handshake_answers_the_challenge_only_to_the_right_token(
    serve: Callable[..., Any],
) -> None:
    async def handle(data: Any) -> None:
        return None

    def challenge(query: Any) -> str | None:
        return query.get("hub.challenge") if query.get("hub.verify_token") == "vt" else None

    _, url = await serve(handle, challenge=challenge)
    async with aiohttp.ClientSession() as http:
        ok = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "42"}
        async with http.get(url, params=ok) as r:
            assert r.status == 200 and await r.text() == "42"
        async with http.get(url, params={**ok, "hub.verify_token": "no"}) as r:
            assert r.status == 403
