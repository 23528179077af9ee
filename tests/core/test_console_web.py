"""The console's pages: login with roles, CSRF, officers scoped to their unit, actions
through the same desk as a chat."""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

import httpx
import pytest

from botkit.app import App
from botkit.domain import IncidentState, Message
from botkit.pipeline import Inbound
from botkit.web.console import ConsolePages
from botkit.web.server import web_app
from tests.conftest import BASE_CONFIG, ROOT, make_config
from tests.core.assembled import SCAM, T0, WEB_PASSWORD, console_app

PASSWORD = WEB_PASSWORD


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    async with console_app(tmp_path, monkeypatch) as built:
        yield built


def client(app: App) -> httpx.AsyncClient:
    served = web_app(app.store, app.clock, console=ConsolePages(app))
    transport = httpx.ASGITransport(app=served)
    return httpx.AsyncClient(transport=transport, base_url="http://botkit.example")


async def csrf_of(c: httpx.AsyncClient, path: str = "/login") -> str:
    page = await c.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def login(c: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    token = await csrf_of(c)
    return await c.post("/login", data={"csrf": token, "name": name, "password": password})


async def test_an_officer_logs_in_sees_their_incident_and_acknowledges_it(app: App) -> None:
    [incident] = await app.store.incidents.query()
    async with client(app) as c:
        assert (await c.get("/incidents")).headers["location"] == "/login"
        response = await login(c, "thanh")
        assert response.status_code == 303 and response.headers["location"] == "/incidents"
        listing = await c.get("/incidents")
        assert f"#{incident.id}" in listing.text and "Lừa đảo" in listing.text
        page = await c.get(f"/incidents/{incident.id}")
        assert "Tiếp nhận" in page.text and "0987654321" not in page.text
        forged = await c.post(f"/incidents/{incident.id}/ack", data={})
        assert forged.status_code == 403
        guessed = await c.post(f"/incidents/{incident.id}/ack", data={"csrf": "a" * 32})
        assert guessed.status_code == 403
        token = await csrf_of(c, f"/incidents/{incident.id}")
        done = await c.post(f"/incidents/{incident.id}/ack", data={"csrf": token})
        assert done.status_code == 303
        detail = await app.store.incidents.get(incident.id)
        assert detail is not None and detail.incident.state is IncidentState.ACKNOWLEDGED
        page = await c.get(f"/incidents/{incident.id}")
        assert "officer.ack" in page.text and "Đã tiếp nhận" in page.text


async def test_another_units_officer_gets_not_found(app: App) -> None:
    [incident] = await app.store.incidents.query()
    async with client(app) as c:
        await login(c, "hoa")
        assert f"#{incident.id}" not in (await c.get("/incidents")).text
        assert (await c.get(f"/incidents/{incident.id}")).status_code == 404
        token = await csrf_of(c, "/incidents")
        acted = await c.post(f"/incidents/{incident.id}/confirm", data={"csrf": token})
        assert acted.status_code == 404
    detail = await app.store.incidents.get(incident.id)
    assert detail is not None and detail.incident.state is IncidentState.OPENED


async def test_a_viewer_reads_but_may_not_act(app: App) -> None:
    [incident] = await app.store.incidents.query()
    async with client(app) as c:
        await login(c, "xem")
        page = await c.get(f"/incidents/{incident.id}")
        assert page.status_code == 200 and "/ack" not in page.text
        token = await csrf_of(c, "/incidents")
        refused = await c.post(f"/incidents/{incident.id}/ack", data={"csrf": token})
        assert refused.status_code == 403


async def test_wrong_passwords_are_refused_then_slowed_down(app: App) -> None:
    async with client(app) as c:
        for _ in range(5):
            assert (await login(c, "thanh", "sai-mat-khau")).status_code == 401
        blocked = await login(c, "thanh")  # even the right one, for a while
        assert blocked.status_code == 429 and "thử lại sau" in blocked.text
        assert (await login(c, "nobody", "x")).status_code == 429  # the same address
        forged = await c.post("/login", data={"name": "admin", "password": PASSWORD})
        assert forged.status_code == 403
    log = await app.store.audit.log()
    assert sum(e["action"] == "web.login_refused" for e in log) == 5


async def test_models_are_listed_and_only_an_admin_changes_them_through_the_gate(
    app: App, tmp_path: Path
) -> None:
    registry = tmp_path / "models"
    shutil.copytree(ROOT / "models", registry)
    config = app.config.model_copy(
        update={"model": app.config.model.model_copy(update={"registry": str(registry)})}
    )
    app.reload(config)
    current = json.loads((registry / "registry.json").read_text())["current"]
    async with client(app) as c:
        await login(c, "xem")
        page = await c.get("/models")
        assert current in page.text and "đang dùng" in page.text and "/promote" not in page.text
        token = await csrf_of(c, "/models")
        assert (await c.post("/models/rollback", data={"csrf": token})).status_code == 403
    async with client(app) as c:
        await login(c, "admin")
        token = await csrf_of(c, "/models")
        assert (await c.post("/models/rollback", data={})).status_code == 403  # no CSRF
        done = await c.post("/models/rollback", data={"csrf": token})
        assert done.status_code == 303
        back = json.loads((registry / "registry.json").read_text())["current"]
        assert back != current
        # The same gate as `botkit models promote`, held-out scores compared (the shipped
        # model was promoted with --force: the gate may refuse it over the one before).
        promoted = await c.post(f"/models/{current}/promote", data={"csrf": token})
        assert promoted.status_code == 303, promoted.text
        page = await c.get("/models")
        now = json.loads((registry / "registry.json").read_text())["current"]
        if now == current:
            assert f"Đã đưa {current} vào dùng: macro-F1" in page.text
        else:
            assert now == back and "Không đổi: refused" in page.text
            assert "below the current model" in page.text


async def test_a_version_shows_its_metrics_beside_the_current_models_with_a_plot(
    app: App,
) -> None:
    registry = ROOT / "models"
    versions = json.loads((registry / "registry.json").read_text())
    current, older = versions["current"], versions["history"][0]
    async with client(app) as c:
        await login(c, "xem")  # a viewer may look
        listing = await c.get("/models")
        assert f'href="/models/{older}"' in listing.text
        page = await c.get(f"/models/{older}")
        assert page.status_code == 200
        assert "F1 của mô hình đang dùng" in page.text and current in page.text
        row = re.search(r'<tr data-label="scam">(.*?)</tr>', page.text, re.S)
        card = json.loads((registry / older / "card.json").read_text())
        scam = card["metrics"]["per_class"]["scam"]
        now = json.loads((registry / current / "card.json").read_text())
        shown = [f"{scam[m]:.3f}" for m in ("precision", "recall", "f1")]
        shown += [str(scam["support"]), f"{now['metrics']['per_class']['scam']['f1']:.3f}"]
        assert row and re.findall(r"<td>([^<]*)</td>", row.group(1)) == ["Lừa đảo", *shown]
        plot = await c.get(f"/models/{older}/plot.png")
        assert plot.headers["content-type"] == "image/png" and plot.content[:4] == b"\x89PNG"
        for missing in ("no-such-version", ".hidden", "%2e%2e"):
            assert (await c.get(f"/models/{missing}")).status_code == 404
            assert (await c.get(f"/models/{missing}/plot.png")).status_code == 404
    async with client(app) as c:
        assert (await c.get(f"/models/{older}/plot.png")).status_code == 401  # logged out


async def test_an_incident_lists_where_it_was_seen(app: App) -> None:
    [incident] = await app.store.incidents.query()
    again = Message("test", "g-quang-phu", "2", SCAM, T0, sender_id="s2")
    await app.pipeline.process([Inbound(again)])
    async with client(app) as c:
        await login(c, "admin")
        page = await c.get(f"/incidents/{incident.id}")
    table = re.search(r'<table id="occurrences">(.*?)</table>', page.text, re.S)
    assert table is not None
    rows = re.findall(r"<tr><td>.*?</tr>", table.group(1))
    assert len(rows) == 2
    assert "Cư M’gar" in rows[0] and "Quảng Phú" in rows[1]


async def test_rosters_show_who_is_on_duty_and_the_gaps(app: App) -> None:
    async with client(app) as c:
        await login(c, "xem")
        page = await c.get("/rosters")
    assert page.status_code == 200
    row = re.search(r"<td>Công an xã Cư M&#39;gar</td><td><b>([^<]*)</b>", page.text)
    assert row and row.group(1) == "Y Thành"  # on duty all day in the test config
    assert "Không có khoảng trống" in page.text
    units = copy.deepcopy(BASE_CONFIG["units"])
    units[0]["shifts"] = [{"officers": ["thanh"], "start": time(7), "end": time(18, 59, 59)}]
    app.reload(app.config.model_copy(update={"units": make_config(units=units).units}))
    async with client(app) as c:
        await login(c, "xem")
        page = await c.get("/rosters")
    assert "<li>units.cu-mgar: mon 19:00–24:00 nobody on duty</li>" in page.text
