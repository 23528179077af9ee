"""Pictures through the whole core: text read from a hoax picture is flagged; once an officer
confirms it, a re-shared copy is known by its fingerprint (even where nothing reads its
text), joins the incident and gets the correction, after a restart too; bad pictures cost
one log line each and the caption is still classified; nothing of a picture is stored."""

from __future__ import annotations

import functools
import itertools
import logging
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from botkit.app import App
from botkit.domain import Message, OfficerCommand
from botkit.domain.message import PHOTO
from botkit.images.known import is_image_claim
from botkit.outbound import SendText
from botkit.pipeline import Inbound
from tests.conftest import RecordingDispatcher
from tests.core.assembled import SCAM, T0, assembled
from tests.images.samples import HOAXES, bordered, notice, recompressed, resized, to_bytes
from tests.redis_server import fresh_prefix, shared_url

_ids = itertools.count(1)


@functools.cache
def hoax() -> Image.Image:
    return notice(HOAXES["lockdown"], style="screenshot", seed=3)


def pictures(app: App) -> RecordingDispatcher:
    assert isinstance(app.dispatcher, RecordingDispatcher)
    return app.dispatcher


def picture_message(ref: str, caption: str = "", chat: str = "g-cu-mgar") -> Message:
    extra = (("media", "photo"), (PHOTO, ref))
    return Message(
        "test", chat, f"p{next(_ids)}", caption, T0, sender_id="someone", extra=extra,
        is_caption=bool(caption),
    )  # fmt: skip


def texts_to(app: App, chat: str) -> list[str]:
    sent = pictures(app).sent
    return [a.text for _, a in sent if isinstance(a, SendText) and a.chat_id == chat]


async def handle(app: App, *events: Message | OfficerCommand) -> None:
    assert not await app.pipeline.process([Inbound(e) for e in events])
    await app.sender.run_once()


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_a_hoax_picture_is_read_flagged_and_known_again_after_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    storage: dict[str, str] = {}
    if backend == "redis":  # a real redis-server: image claims are shared by a fleet
        monkeypatch.setenv("BOTKIT_REDIS_URL", shared_url())
        storage = {"backend": "redis", "key_prefix": fresh_prefix()}
    async with assembled(tmp_path, monkeypatch, storage=storage) as app:
        assert app.store.backend == backend
        pictures(app).pictures["original"] = original = to_bytes(hoax(), "PNG")
        await handle(app, picture_message("original"))  # no caption: only the picture
        [incident] = await app.store.incidents.query()
        assert incident.category == "fake_news"
        assert "phong tỏa" in incident.excerpt  # the text read from the picture
        [alert] = texts_to(app, "u-thanh")
        assert "🖼" in alert and "OCR" in alert

        confirm = OfficerCommand("test", "u-thanh", "confirm", str(incident.id), T0, "u-thanh")
        await handle(app, confirm)
        stored = await app.store.incidents.claims()
        assert [c for _, c, _ in stored if is_image_claim(c)], stored

        # Re-shared in another commune's group: smaller, framed, recompressed. Nothing reads
        # its text this time: the fingerprint alone recognises it.
        copy = recompressed(bordered(resized(hoax(), 0.6), 30), 40)
        pictures(app).pictures["copy"] = to_bytes(copy, "JPEG", 40)
        assert app.pipeline.photos is not None
        app.pipeline.photos.ocr = None
        await handle(app, picture_message("copy", chat="g-quang-phu"))
        [joined] = await app.store.incidents.query()
        assert joined.id == incident.id and joined.occurrences == 2
        [correction] = texts_to(app, "g-quang-phu")
        assert "SAI SỰ THẬT" in correction

    # Nothing of the pictures is kept: not the bytes, not in any file of the store.
    stored_bytes = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert original[200:264] not in stored_bytes

    # After a restart the known picture is still known.
    async with assembled(tmp_path, monkeypatch, storage=storage) as again:
        assert again.pipeline.photos is not None
        again.pipeline.photos.ocr = None
        pictures(again).pictures["third"] = to_bytes(resized(hoax(), 0.5), "JPEG", 60)
        await handle(again, picture_message("third", chat="g-cu-mgar"))
        [same] = await again.store.incidents.query()
        assert same.id == incident.id and same.occurrences == 3


def bomb() -> bytes:
    """A PNG that says it is 20,000 × 20,000 pixels (1.2 GB decoded) in a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff" * 60_000)  # the first row: the rest is promised
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            to_bytes(Image.effect_noise((300, 200), 60).convert("RGB"))[:3000],
            "corrupt or truncated",
        ),
        (b"%PDF-1.7\n" + b"0" * 2000, "not a picture"),
        (bomb(), "decompression bomb"),
        (b"\xff\xd8" + b"x" * 3_000_000, "over the limit"),
        (None, "no such file"),
    ],
    ids=["truncated", "pdf-named-jpg", "decompression-bomb", "too-big", "gone"],
)
async def test_a_bad_picture_costs_one_line_and_its_caption_is_still_classified(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    data: bytes | None,
    said: str,
) -> None:
    async with assembled(tmp_path, monkeypatch, images={"max_bytes": 2_000_000}) as app:
        if data is not None:
            pictures(app).pictures["bad.jpg"] = data
        message = picture_message("bad.jpg", caption=SCAM)
        with caplog.at_level(logging.WARNING, logger="botkit.images"):
            await handle(app, message)
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("botkit.images")]
        assert len(lines) == 1 and message.message_id in lines[0] and said in lines[0], lines
        [incident] = await app.store.incidents.query()
        assert incident.category == "scam"  # from the caption


async def test_ocr_over_its_time_limit_keeps_the_fingerprint_and_the_caption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with assembled(tmp_path, monkeypatch, images={"ocr_timeout_seconds": 0.01}) as app:
        pictures(app).pictures["slow"] = to_bytes(hoax(), "PNG")
        with caplog.at_level(logging.WARNING, logger="botkit.images"):
            await handle(app, picture_message("slow", caption=SCAM))
        [line] = [r.getMessage() for r in caplog.records if r.name.startswith("botkit.images")]
        assert "OCR gave up after 0.01 s" in line
        [incident] = await app.store.incidents.query()
        assert incident.category == "scam"
        evidence = await app.store.incidents.evidence(incident.id, limit=64)
        assert [k for k, _ in evidence].count("image") == 1


async def test_without_the_ocr_model_one_warning_at_start_and_pictures_are_fingerprinted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with assembled(tmp_path, monkeypatch, images={"language": "qqq"}) as app:
            assert app.ocr_missing is not None and "qqq" in app.ocr_missing
            pictures(app).pictures["p"] = to_bytes(hoax(), "PNG")
            await handle(app, picture_message("p", caption=SCAM))
            [incident] = await app.store.incidents.query()
            assert incident.category == "scam" and "phong tỏa" not in incident.excerpt
            evidence = await app.store.incidents.evidence(incident.id, limit=64)
            assert [k for k, _ in evidence].count("image") == 1
    warned = [r.getMessage() for r in caplog.records if "pictures" in r.getMessage()]
    assert warned == [f"text in pictures will not be read: {app.ocr_missing}"]


async def test_a_batch_of_pictures_commits_every_few_and_shows_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with assembled(tmp_path, monkeypatch) as app:
        assert app.pipeline.photos is not None
        app.pipeline.photos.ocr = None  # only fingerprints: fast, the runs are what counts
        pictures(app).pictures["p"] = to_bytes(hoax(), "PNG")
        batch = [picture_message("p", caption=SCAM) for _ in range(9)]
        before = app.pipeline.progress
        await handle(app, *batch)
        # 4 + 4 + 1 pictures: three runs, each committed before the next is read.
        assert app.pipeline.runs == 3
        assert app.pipeline.progress - before == 3 + 9
        [incident] = await app.store.incidents.query()
        assert incident.occurrences == 9
