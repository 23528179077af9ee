"""The console in a real browser: Debian's chromium driven by Playwright, against `botkit web`
serving the store that a `botkit run` filled. An officer logs in, labels a flagged message
(and `botkit labels export` has the label), acknowledges the incident and posts a scam in
the sandbox group; an admin rolls the model back and promotes it again.

No browser is downloaded: `.ci/run` installs Debian's `chromium` when it is missing, and the
test fails (it does not skip) when it is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from botkit.web.console import hash_password
from tests.conftest import ROOT
from tests.redis_server import free_port

BOTKIT = str(Path(sys.executable).with_name("botkit"))
PASSWORD = "mat-khau-dai-1"
ENV = {**os.environ, "BOTKIT_HASH_KEY": "browser-test-key-0123456789"}
HOAX = "Lan: CHIA SẺ GẤP!!! thôn 3 xã Cư Mgar có 15 ca covid, bệnh viện phong tỏa rồi\n"
SCAM = (
    "Chúc mừng số điện thoại của bạn đã trúng thưởng xe SH 150i, vui lòng nộp phí 2 triệu vào"
    " tài khoản 0987654321 để nhận giải trong hôm nay"
)
# Chromium as the probe of this machine runs it: no calls home, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Debian's chromium is not installed: apt-get install chromium (.ci/run does)")
    return found


@pytest.fixture
def console_url(tmp_path: Path) -> Iterator[str]:
    """`botkit run` on a hoax, then `botkit web` on its store, on a free loopback port."""
    shutil.copytree(ROOT / "models", tmp_path / "models")  # promotions write its registry
    port = free_port()
    hashed = hash_password(PASSWORD)
    users = (
        f'users = [{{ name = "thanh", role = "officer", officer = "thanh", '
        f'password_hash = "{hashed}" }}, {{ name = "admin", role = "admin", '
        f'password_hash = "{hashed}" }}]\n'
    )
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    config = config.replace("[web]\nenabled = false\n", "[web]\nenabled = false\n" + users, 1)
    assert users in config
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    cfg = str(tmp_path / "config.toml")
    run = subprocess.run(
        [BOTKIT, "run", "--config", cfg], input=HOAX, text=True, capture_output=True, env=ENV,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and "1 flag(s)" in run.stdout, run.stdout + run.stderr
    web = subprocess.Popen(
        [BOTKIT, "web", "--config", cfg, "--port", str(port)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if web.poll() is not None or time.monotonic() > deadline:
                    out = web.stdout.read() if web.stdout else ""
                    pytest.fail(f"botkit web did not come up: {out}")
                time.sleep(0.2)
        yield url
    finally:
        web.terminate()
        web.wait(timeout=20)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(page: Page, url: str, name: str) -> None:
    await page.goto(f"{url}/incidents")
    await expect(page).to_have_url(f"{url}/login")
    await page.get_by_label("Tên đăng nhập").fill(name)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page).to_have_url(f"{url}/incidents")


async def test_an_officer_labels_and_acknowledges_and_an_admin_promotes_in_a_browser(
    console_url: str, browser: Browser, tmp_path: Path
) -> None:
    officer = await browser.new_page()
    await log_in(officer, console_url, "thanh")
    # The review queue: the flagged message is labelled and leaves the queue.
    await officer.locator("#nav-review").click()
    row = officer.locator("#review-queue tr[data-flagged-id]")
    await expect(row).to_have_count(1)
    flagged = await row.get_attribute("data-flagged-id")
    await row.locator("select").select_option("fake_news")
    await row.get_by_role("button").click()
    await expect(officer.locator("#review-empty")).to_be_visible()
    await expect(officer.locator(f"#labelled-{flagged} td.label")).to_have_attribute(
        "data-label", "fake_news"
    )
    await officer.locator("#nav-incidents").click()
    await officer.get_by_role("link", name="#1").click()
    await expect(officer.get_by_role("heading", name="Vụ #1 · Tin giả")).to_be_visible()
    await officer.get_by_role("button", name="Tiếp nhận").click()
    await expect(officer.get_by_text("Trạng thái: Đã tiếp nhận")).to_be_visible()
    # The officer's own action is on the incident's timeline.
    await expect(officer.get_by_role("cell", name="thanh")).to_be_visible()

    # The sandbox: a scam posted as a resident opens a new incident, shown with its alerts.
    await officer.locator("#nav-sandbox").click()
    await officer.locator("#sandbox-text").fill(SCAM)
    await officer.locator("#sandbox-send").click()
    await expect(officer.locator("#post-1-incident")).to_contain_text("Mở vụ mới #2")
    await expect(officer.locator("#post-1")).to_contain_text("Lừa đảo")

    # The label is training data: the export has it.
    exported = tmp_path / "labels.csv"
    export = subprocess.run(
        [BOTKIT, "labels", "export", "--config", str(tmp_path / "config.toml"), "--output",
         str(exported)], capture_output=True, text=True, env=ENV, timeout=120,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert exported.read_text(encoding="utf-8").strip().endswith(",fake_news")

    admin = await (await browser.new_context()).new_page()
    await log_in(admin, console_url, "admin")
    await admin.goto(f"{console_url}/models")
    current = await admin.locator("tr", has_text="đang dùng").locator("td").first.inner_text()
    await admin.get_by_role("button", name="Quay lại phiên bản trước").click()
    await expect(admin.locator("tr", has_text="đang dùng")).not_to_contain_text(current)
    row = admin.locator("tr", has_text=current)
    await row.get_by_role("button", name="Đưa vào dùng").click()
    # Through the same gate as `botkit models promote`: promoted, or refused with the reason.
    await expect(
        admin.get_by_text(f"Đã đưa {current} vào dùng").or_(admin.get_by_text("Không đổi: refused"))
    ).to_be_visible()
