"""The console's sandbox group chat: a post as a resident goes through the real pipeline
(here, or through the durable intake beside a running bot) and the page shows the verdict,
the incident and its alerts; demo posts stay marked as such."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from botkit.app import App
from botkit.sandbox import SANDBOX
from botkit.web.console import ConsolePages
from botkit.web.server import web_app
from botkit.worker import Worker
from tests.conftest import CU_MGAR, QUANG_PHU
from tests.core.assembled import console_app
from tests.core.test_console_web import client, csrf_of, login

HOAX = (
    "CHIA SẺ GẤP!!! Thôn 3 xã Cư M'gar đã có 15 ca nhiễm covid, bệnh viện huyện phong tỏa"
    " từ tối nay, ai có người nhà ở đó đừng về"
)


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    async with console_app(tmp_path, monkeypatch, flagged=False) as built:
        yield built


async def post(c: httpx.AsyncClient, text: str, commune: int = CU_MGAR) -> httpx.Response:
    token = await csrf_of(c, "/sandbox")
    return await c.post("/sandbox", data={"csrf": token, "text": text, "commune": str(commune)})


async def test_a_hoax_posted_in_the_sandbox_opens_an_incident_and_pages_the_officer(
    app: App,
) -> None:
    async with client(app) as c:
        await login(c, "thanh")
        page = await c.get("/sandbox")
        assert 'id="sandbox-form"' in page.text and "xử lý ngay tại đây" in page.text
        sent = await post(c, HOAX + " Gọi 0987654321")
        assert sent.status_code == 303
        page = await c.get(sent.headers["location"])
    [incident] = await app.store.incidents.query()
    assert [o.platform for o in await app.store.incidents.occurrences(incident.id)] == [SANDBOX]
    post_1 = re.search(r'<section class="sandbox-post" id="post-1">.*?</section>', page.text, re.S)
    assert post_1, page.text
    shown = post_1.group(0)
    assert "Gắn cờ: Tin giả" in shown and "Từ ngữ khiến tin bị gắn cờ" in shown
    assert f"Mở vụ mới #{incident.id}" in shown and "Y Thành" in shown
    assert "Đang chờ gửi" in shown  # no sender runs in this test: queued, not yet delivered
    assert "0987654321" not in page.text  # the console shows the redacted text only
    assert '<meta http-equiv="refresh"' in page.text  # until the alert has its outcome
    [alert] = await app.store.outbox.alerts(incident.id)
    assert alert.officer_id == "thanh" and f'id="post-1-alert-{alert.id}"' in shown
    # A demo post is no resident's message: not reviewed, not training data, marked.
    assert await app.store.reviews.pending() == []
    async with client(app) as c:
        await login(c, "thanh")
        detail = await c.get(f"/incidents/{incident.id}")
    assert 'id="incident-sandbox"' in detail.text
    assert any(e["action"] == "sandbox.post" for e in await app.store.audit.log())


async def test_empty_oversized_and_forged_posts_are_refused_cleanly(app: App) -> None:
    async with client(app) as c:
        await login(c, "thanh")
        empty = await post(c, "   ")
        assert empty.status_code == 400 and "Tin nhắn trống" in empty.text
        huge = await post(c, "Chúc mừng bạn trúng thưởng. " * 400)  # some 11 KB
        assert huge.status_code == 400 and "Tin nhắn quá dài (11.199 ký tự)" in huge.text
        elsewhere = await post(c, HOAX, commune=12345)
        assert elsewhere.status_code == 400 and "không thuộc địa bàn" in elsewhere.text
        forged = await c.post("/sandbox", data={"text": HOAX, "commune": str(CU_MGAR)})
        assert forged.status_code == 403
        normal = await post(c, "Chiều nay họp thôn lúc 5 giờ nhé bà con", commune=QUANG_PHU)
        page = await c.get(normal.headers["location"])
        assert "Không bị gắn cờ" in page.text and 'id="post-1"' in page.text
    async with client(app) as c:
        await login(c, "xem")
        assert (await c.get("/sandbox")).status_code == 403
        token = await csrf_of(c, "/incidents")
        data = {"csrf": token, "text": HOAX, "commune": str(CU_MGAR)}
        assert (await c.post("/sandbox", data=data)).status_code == 403
    assert await app.store.incidents.query() == []


async def test_beside_a_running_bot_a_post_goes_through_the_durable_intake(app: App) -> None:
    inbox = app.inbox()
    served = web_app(app.store, app.clock, console=ConsolePages(app, inbox))
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://botkit.example") as c:
        await login(c, "thanh")
        sent = await post(c, HOAX)
        assert sent.status_code == 303 and await app.store.intake.backlog() == 1
        page = await c.get("/sandbox")
        assert "Đang chờ bot xử lý" in page.text and "hàng đợi bền vững" in page.text
        worker = Worker(
            app.config, app.store, lambda: app.pipeline, inbox.sealer, inbox, app.clock, "w"
        )
        assert await worker.run_once() == 1
        page = await c.get("/sandbox")
    [incident] = await app.store.incidents.query()
    assert f"Mở vụ mới #{incident.id}" in page.text and "Đang chờ bot" not in page.text
