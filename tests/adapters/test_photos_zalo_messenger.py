"""Pictures on Zalo OA, Zalo Bot and Messenger: an image event reaches the core with its
picture's URL as `photo_ref`, and `fetch_photo` downloads that URL from the emulator's CDN
over loopback, within the core's size limit, refusing what is not http(s).

Event shapes in detail are checked in each adapter's own tests; here images go the whole way
once per platform, and every fetching rule is checked for the three adapters.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.testing.media import MediaShelf
from adapters.testing.messenger_api import FakeMessenger
from adapters.testing.zalo_bot_api import FakeZaloBotAPI
from botkit.adapter import Adapter, PhotoUnavailable
from botkit.domain import Message
from tests.adapters import messenger_harness as fbh
from tests.adapters import zalo_bot_harness as zbh
from tests.adapters import zalo_oa_harness as zoh
from tests.adapters.telegram_harness import RecordingInbox, free_port

PLATFORMS = ("zalo_oa", "zalo_bot", "messenger")
PICTURE = random.Random(7).randbytes(200_000)  # what the CDN serves: bytes, whatever they hold
LIMIT = 100_000
CAPTION = "Ảnh hiện trường vụ tai nạn ở ngã tư"


def new_messenger() -> FakeMessenger:
    fake = FakeMessenger(
        page_id=fbh.PAGE_ID,
        page_token=fbh.PAGE_TOKEN,
        app_secret=fbh.APP_SECRET,
        verify_token=fbh.VERIFY_TOKEN,
    )
    fake.add_person(fbh.RESIDENT, "Nguyễn Văn An")
    return fake


async def fetch_all(adapter: Adapter, messages: list[Message]) -> list[bytes]:
    return [await adapter.fetch_photo(m.photo_ref or "", len(PICTURE)) for m in messages]


def as_seen(messages: list[Message]) -> list[tuple[str, str, bool, bool]]:
    return [(m.chat_id, m.text, m.is_caption, ("media", "photo") in m.extra) for m in messages]


# --------------------------------------------------------------------------- the whole way


async def test_zalo_oa_images_in_a_group_and_in_private_reach_the_core_and_are_fetched(
    tmp_path: Path,
) -> None:
    inbox = RecordingInbox()
    async with zoh.new_fake() as oa:
        adapter = zoh.make_adapter(oa, tmp_path, zoh.environ(oa))
        async with zoh.running(oa, adapter, inbox):
            assert await oa.group_sends_image(zoh.GROUP_ID, zoh.RESIDENT, photo=PICTURE) == [200]
            assert await oa.user_sends_image(zoh.RESIDENT, CAPTION, photo=PICTURE) == [200]
            messages = inbox.of(Message)
            got = await fetch_all(adapter, messages)
    assert as_seen(messages) == [
        (zoh.GROUP_CHAT, "", False, True),
        (zoh.RESIDENT, CAPTION, True, True),
    ]
    assert [m.private for m in messages] == [False, True]
    assert got == [PICTURE, PICTURE]
    assert "photos" in adapter.capabilities


async def test_zalo_bot_images_reach_the_core_and_are_fetched() -> None:
    inbox = RecordingInbox()
    async with FakeZaloBotAPI(zbh.TOKEN) as bot, zbh.serving(bot, inbox) as adapter:
        bot.push(bot.photo_update(zbh.RESIDENT, photo=PICTURE))
        bot.push(bot.photo_update(zbh.RESIDENT, CAPTION, photo=PICTURE))
        await inbox.wait_for(Message, lambda _: len(inbox.of(Message)) == 2)
        messages = inbox.of(Message)
        got = await fetch_all(adapter, messages)
    resident = zbh.RESIDENT["id"]
    assert as_seen(messages) == [(resident, "", False, True), (resident, CAPTION, True, True)]
    assert got == [PICTURE, PICTURE]
    assert "photos" in adapter.capabilities


async def test_messenger_images_reach_the_core_and_are_fetched() -> None:
    async with new_messenger() as fb, fbh.running(fb) as (adapter, inbox, _):
        bare = fb.sends_photo(fbh.RESIDENT, PICTURE)
        captioned = fb.sends_photo(fbh.RESIDENT, PICTURE, text=CAPTION)
        assert (await fb.deliver(bare, captioned, fb.sends_sticker(fbh.RESIDENT))).status == 200
        messages = inbox.of(Message)
        got = await fetch_all(adapter, messages)
    assert as_seen(messages) == [
        (fbh.RESIDENT, "", False, True),
        (fbh.RESIDENT, CAPTION, True, True),
    ]  # the sticker is no picture to read
    assert got == [PICTURE, PICTURE]
    assert "photos" in adapter.capabilities


# --------------------------------------------------------------------------- fetching


@dataclass
class Side:
    """One adapter beside its emulator's CDN; `secrets`: the adapter's credentials."""

    adapter: Adapter
    media: MediaShelf
    secrets: tuple[str, ...]

    def add(self, data: bytes = PICTURE, *, chunked: bool = False, endless: bool = False) -> str:
        return self.media.add(data, chunked=chunked, endless=endless)


@contextlib.asynccontextmanager
async def open_side(
    platform: str, tmp_path: Path, timeout: float | None = None
) -> AsyncIterator[Side]:
    """The platform's adapter, not receiving (fetching needs none of it), beside its
    emulator; `timeout`: its request timeout, else its default."""
    async with contextlib.AsyncExitStack() as stack:
        side: Side
        extra: dict[str, Any]
        if platform == "zalo_oa":
            oa = await stack.enter_async_context(zoh.new_fake())
            env = zoh.environ(oa)
            extra = {"request_timeout_seconds": timeout} if timeout else {}
            adapter: Adapter = zoh.make_adapter(oa, tmp_path, env, **extra)
            side = Side(adapter, oa.media, (*env.values(), zoh.APP_SECRET))
        elif platform == "zalo_bot":
            bot = await stack.enter_async_context(FakeZaloBotAPI(zbh.TOKEN))
            extra = {"request_timeout": timeout} if timeout else {}
            adapter = zbh.make_adapter(bot, **extra)
            side = Side(adapter, bot.media, (zbh.TOKEN,))
        else:
            fb = await stack.enter_async_context(new_messenger())
            extra = {"request_timeout_seconds": timeout} if timeout else {}
            adapter = fbh.make_adapter(fb, **extra)
            side = Side(adapter, fb.media, (fbh.PAGE_TOKEN, fbh.APP_SECRET))
        stack.push_async_callback(adapter.close)
        yield side


@pytest.fixture(params=PLATFORMS)
async def side(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Side]:
    async with open_side(request.param, tmp_path) as opened:
        yield opened


async def refused(side: Side, ref: str, max_bytes: int = LIMIT) -> str:
    """Why fetching `ref` failed: one line."""
    with pytest.raises(PhotoUnavailable) as caught:
        await side.adapter.fetch_photo(ref, max_bytes)
    reason = str(caught.value)
    assert reason and "\n" not in reason
    return reason


async def test_the_pictures_bytes_come_back_without_the_adapters_credentials(
    side: Side,
) -> None:
    url = side.add()
    assert await side.adapter.fetch_photo(url, len(PICTURE)) == PICTURE
    chunked = side.add(chunked=True)  # no Content-Length: read to the end, within the limit
    assert await side.adapter.fetch_photo(chunked, len(PICTURE)) == PICTURE
    assert [f.name for f in side.media.requests] == [u.rsplit("/", 1)[-1] for u in (url, chunked)]
    for fetch in side.media.requests:  # a CDN is no place for tokens or proofs
        sent = fetch.query + " ".join(f"{k}: {v}" for k, v in fetch.headers.items())
        assert not any(secret in sent for secret in side.secrets), sent
        assert "access_token" not in sent.lower() and "proof" not in sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "no-length"])
async def test_a_picture_over_the_limit_is_refused_naming_the_limit(
    side: Side, chunked: bool
) -> None:
    url = side.add(chunked=chunked)
    reason = await refused(side, url, max_bytes=LIMIT)
    assert f"{LIMIT:,}" in reason and "limit" in reason
    # At the limit exactly it passes.
    assert await side.adapter.fetch_photo(url, len(PICTURE)) == PICTURE


async def test_an_endless_body_is_cut_off_at_the_limit(side: Side) -> None:
    url = side.add(b"\xff" * 65_536, endless=True)
    started = time.monotonic()
    assert f"{LIMIT:,}" in await refused(side, url, max_bytes=LIMIT)
    assert time.monotonic() - started < 2.0  # stopped reading, not buffering on and on


@pytest.mark.parametrize(("status", "said"), [(404, "gone"), (410, "gone"), (500, "HTTP 500")])
async def test_a_picture_gone_or_a_failing_cdn_is_unavailable(
    side: Side, status: int, said: str
) -> None:
    url = side.add()
    side.media.fail(url, status)
    reason = await refused(side, url)
    assert said in reason and str(status) in reason


@pytest.mark.parametrize(
    "ref",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/photo.jpg",
        "data:image/png;base64,iVBORw0KGgo=",
        "AgACAgIAAxkBAAIBY2Zl",  # a file id of another platform, not a URL
        "/media/abc.jpg",
        "http://",
        "http://[::1",
    ],
)
async def test_only_http_urls_are_fetched(side: Side, ref: str) -> None:
    assert "only http(s)" in await refused(side, ref) or ref.startswith("http")
    assert side.media.requests == []


async def test_redirects_are_followed_to_http_only(side: Side) -> None:
    target = side.add()
    assert await side.adapter.fetch_photo(side.media.redirect(target), LIMIT * 3) == PICTURE
    away = side.media.redirect("file:///etc/passwd")
    assert "file" in await refused(side, away)
    loop = side.media.redirect(target)
    for _ in range(6):
        loop = side.media.redirect(loop)
    assert "redirects" in await refused(side, loop)


async def test_nobody_listening_is_unavailable(side: Side) -> None:
    reason = await refused(side, f"http://127.0.0.1:{free_port()}/media/x.jpg")
    assert "127.0.0.1" in reason


@pytest.mark.parametrize(
    ("platform", "timeout"), [("zalo_oa", 0.2), ("zalo_bot", 1.0), ("messenger", 0.5)]
)
async def test_a_slow_cdn_is_given_up_on_after_the_request_timeout(
    platform: str, timeout: float, tmp_path: Path
) -> None:
    """`timeout`: the smallest request timeout each adapter's settings allow."""
    async with open_side(platform, tmp_path, timeout) as slow:
        url = slow.add()
        slow.media.stall(url, 30)
        started = time.monotonic()
        assert "within" in await refused(slow, url)
        assert timeout <= time.monotonic() - started < timeout + 1.5
