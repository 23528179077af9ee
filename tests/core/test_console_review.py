"""The console's review queue: flagged messages labelled by reviewers, whose labels go to
the training export ahead of the incidents' verdicts; scoped like the incidents."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botkit.app import App
from tests.core.assembled import console_app
from tests.core.test_console_web import client, csrf_of, login


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    async with console_app(tmp_path, monkeypatch) as built:
        yield built


async def test_a_label_leaves_the_queue_is_audited_and_wins_in_the_export(app: App) -> None:
    [item] = await app.store.reviews.pending()
    [incident] = await app.store.incidents.query()
    assert await app.store.incidents.labelled_verdicts() == []  # never judged: not exported
    async with client(app) as c:
        await login(c, "thanh")
        page = await c.get("/review")
        row = re.search(rf'<tr id="flagged-{item.id}".*?</tr>', page.text, re.S)
        assert row, page.text
        assert "Lừa đảo" in row.group(0) and f"{item.score:.2f}" in row.group(0)
        assert f'href="/incidents/{incident.id}"' in row.group(0) and "Mới" in row.group(0)
        assert "0987654321" not in page.text  # the redacted excerpt only
        assert f'id="label-{item.id}"' in page.text and 'value="fake_news"' in page.text
        token = await csrf_of(c, "/review")
        done = await c.post(f"/review/{item.id}/label", data={"csrf": token, "label": "normal"})
        assert done.status_code == 303 and done.headers["location"] == "/review"
        page = await c.get("/review")
        assert f'id="flagged-{item.id}"' not in page.text and "Không còn tin nào" in page.text
        assert f'id="labelled-{item.id}"' in page.text and "Bình thường" in page.text
        # The officer then confirms the incident: the reviewer's label still wins.
        confirmed = await c.post(f"/incidents/{incident.id}/confirm", data={"csrf": token})
        assert confirmed.status_code == 303
        listing = await c.get("/review?done=1")
        assert f'id="labelled-{item.id}"' in listing.text and "web:thanh" in listing.text
    assert await app.store.incidents.labelled_verdicts() == [
        (item.message_key, item.excerpt, "normal")
    ]
    [audited] = [e for e in await app.store.audit.log() if e["action"] == "review.label"]
    assert audited["actor"] == "web:thanh" and audited["subject"] == f"flagged:{item.id}"


async def test_another_unit_sees_nothing_and_a_viewer_may_only_look(app: App) -> None:
    [item] = await app.store.reviews.pending()
    async with client(app) as c:
        await login(c, "hoa")
        page = await c.get("/review")
        assert page.status_code == 200 and f'id="flagged-{item.id}"' not in page.text
        token = await csrf_of(c, "/review")
        refused = await c.post(f"/review/{item.id}/label", data={"csrf": token, "label": "scam"})
        assert refused.status_code == 404
    async with client(app) as c:
        await login(c, "xem")
        page = await c.get("/review")
        assert f'id="flagged-{item.id}"' in page.text and "/label" not in page.text
        token = await csrf_of(c, "/review")
        refused = await c.post(f"/review/{item.id}/label", data={"csrf": token, "label": "scam"})
        assert refused.status_code == 403
    assert [i.id for i in await app.store.reviews.pending()] == [item.id]


async def test_forged_forms_and_unknown_labels_are_refused(app: App) -> None:
    [item] = await app.store.reviews.pending()
    async with client(app) as c:
        assert (await c.get("/review")).headers["location"] == "/login"
        await login(c, "admin")
        forged = await c.post(f"/review/{item.id}/label", data={"label": "scam"})
        assert forged.status_code == 403
        token = await csrf_of(c, "/review")
        wrong = await c.post(f"/review/{item.id}/label", data={"csrf": token, "label": "spam"})
        assert wrong.status_code == 400
        assert "Nhãn «spam» không có trong cấu hình" in wrong.text
        assert "Lừa đảo (scam)" in wrong.text and "Bình thường (normal)" in wrong.text
        empty = await c.post(f"/review/{item.id}/label", data={"csrf": token, "label": ""})
        assert empty.status_code == 400
        missing = await c.post("/review/999/label", data={"csrf": token, "label": "scam"})
        assert missing.status_code == 404
    assert [i.id for i in await app.store.reviews.pending()] == [item.id]
