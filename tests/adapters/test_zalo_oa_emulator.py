"""The Zalo OA emulator keeps Zalo's rules, checked with a bare HTTP client (not the
adapter), so that the adapter's tests rest on an emulator that refuses what Zalo refuses."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.testing.zalo_oa_api import CS, GROUP, REFRESH, FakeZaloOA
from tests.adapters.zalo_oa_harness import (
    APP_ID,
    APP_SECRET,
    GROUP_ID,
    OA_SECRET_KEY,
    RESIDENT,
    THANH,
    zalo,
)

__all__ = ["zalo"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def refresh(
    http: aiohttp.ClientSession, zalo: FakeZaloOA, token: str, secret: str = APP_SECRET
) -> dict[str, Any]:
    form = {"refresh_token": token, "app_id": APP_ID, "grant_type": "refresh_token"}
    async with http.post(zalo.base_url + REFRESH, data=form, headers={"secret_key": secret}) as r:
        assert r.status == 200  # Zalo answers refusals with 200 too
        answer: dict[str, Any] = await r.json()
        return answer


async def call(
    http: aiohttp.ClientSession, zalo: FakeZaloOA, path: str, body: dict[str, Any], token: str
) -> dict[str, Any]:
    async with http.post(zalo.base_url + path, json=body, headers={"access_token": token}) as r:
        assert r.status == 200
        answer: dict[str, Any] = await r.json()
        return answer


def to_user(user_id: str, text: str, **message: Any) -> dict[str, Any]:
    return {"recipient": {"user_id": user_id}, "message": {"text": text, **message}}


async def test_a_refresh_token_works_once_and_the_app_secret_is_checked(
    zalo: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    token = zalo.issue_refresh_token()
    assert (await refresh(http, zalo, token, secret="wrong"))["error"] == -14003
    granted = await refresh(http, zalo, token)
    assert granted["expires_in"] == "90000"  # a string, as Zalo sends it
    assert granted["refresh_token"] != token
    reused = await refresh(http, zalo, token)
    assert reused["error"] == -14014 and "access_token" not in reused
    assert "access_token" in await refresh(http, zalo, granted["refresh_token"])


async def test_messages_need_a_live_token_and_keep_zalos_limits(
    zalo: FakeZaloOA, http: aiohttp.ClientSession
) -> None:
    token = (await refresh(http, zalo, zalo.issue_refresh_token()))["access_token"]
    assert (await call(http, zalo, CS, to_user(THANH, "x"), "forged"))["error"] == -216
    sent = await call(http, zalo, CS, to_user(THANH, "Xin chào"), token)
    assert sent["error"] == 0
    assert sent["data"]["message_id"] == zalo.messages_to(THANH)[0].message_id
    assert (await call(http, zalo, CS, to_user(THANH, "x" * 2001), token))["error"] == -201
    six = [{"title": f"B{i}", "type": "oa.query.show", "payload": "#ack 1"} for i in range(6)]
    many = {"attachment": {"type": "template", "payload": {"buttons": six}}}
    assert (await call(http, zalo, CS, to_user(THANH, "x", **many), token))["error"] == -201
    zalo.close_reply_window(THANH)
    assert (await call(http, zalo, CS, to_user(THANH, "x"), token))["error"] == -230
    group = {"recipient": {"group_id": GROUP_ID}, "message": {"text": "Thông báo"}}
    assert (await call(http, zalo, GROUP, group, token))["error"] == 0
    unknown = {"recipient": {"group_id": "nope"}, "message": {"text": "x"}}
    assert (await call(http, zalo, GROUP, unknown, token))["error"] == -201
    zalo.expire_access_tokens()
    assert (await call(http, zalo, CS, to_user(RESIDENT, "x"), token))["error"] == -216
    assert [m.text for m in zalo.delivered] == ["Xin chào", "Thông báo"]


@pytest.mark.parametrize("mac_prefix", [False, True])
async def test_events_are_signed_as_zalo_signs_them_and_redelivered_until_answered(
    zalo: FakeZaloOA, mac_prefix: bool
) -> None:
    seen: list[tuple[bytes, str]] = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append((await request.read(), request.headers["X-ZEvent-Signature"]))
        return web.Response(status=503 if len(seen) < 3 else 200)

    app = web.Application()
    app.router.add_post("/hook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    zalo.webhook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        event = zalo.text_event(RESIDENT, "Tin nhắn có dấu")
        assert await zalo.deliver(event, mac_prefix=mac_prefix) == [503, 503, 200]
    finally:
        await runner.cleanup()
    body, header = seen[0]
    assert "Tin nhắn có dấu".encode() in body  # raw UTF-8, as sent
    mac = hashlib.sha256(
        APP_ID.encode() + body + str(event["timestamp"]).encode() + OA_SECRET_KEY.encode()
    ).hexdigest()
    assert header == (f"mac={mac}" if mac_prefix else mac)
    assert {s for _, s in seen} == {header}  # the same post each time
