"""The pipeline's picture stage: each message with a picture gets the text read from it
after its caption, and the picture's fingerprint.

fetch (through the message's adapter) → decode (limits) → OCR (a thread, a time limit) and
fingerprint. Any step failing skips the picture with one log line naming the message; the
caption is classified anyway and the batch goes on. Nothing of the picture is kept here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from botkit.adapter import PhotoUnavailable, Unsupported
from botkit.config import ImageSettings
from botkit.domain import Message
from botkit.domain.message import PHOTO_TEXT
from botkit.images.decode import BadImage, ImageLimits, decode
from botkit.images.fingerprint import fingerprint
from botkit.images.ocr import OcrFailed, TesseractReader

log = logging.getLogger(__name__)


@runtime_checkable
class PhotoFetcher(Protocol):
    async def fetch_photo(self, adapter_name: str, ref: str, max_bytes: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class PhotoRead:
    """What a message's picture gave: the message with the text read after its caption,
    and the picture's fingerprint (None when the picture was skipped)."""

    message: Message
    fingerprint: str | None = None


class PhotoReader:
    def __init__(
        self,
        settings: ImageSettings,
        fetcher: PhotoFetcher,
        ocr: TesseractReader | None,
        concurrency: int = 1,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.ocr = ocr  # None: OCR unavailable here, pictures are only fingerprinted
        self.limits = ImageLimits(settings.max_bytes, settings.max_pixels)
        # Tesseract takes a core for most of a second a picture (bench/bench_images.py); one
        # at a time leaves the other core to classification, and one decoded picture (up to
        # `max_pixels`) in memory.
        self._slots = asyncio.Semaphore(concurrency)
        self.read_count = 0
        self.skipped = 0

    async def read(self, messages: Sequence[Message]) -> list[PhotoRead]:
        return list(await asyncio.gather(*(self._one(m) for m in messages)))

    async def _one(self, message: Message) -> PhotoRead:
        ref = message.photo_ref
        if ref is None or not self.settings.enabled:
            return PhotoRead(message)
        try:
            async with asyncio.timeout(self.settings.fetch_timeout_seconds):
                data = await self.fetcher.fetch_photo(
                    message.platform, ref, self.settings.max_bytes
                )
            async with self._slots:
                text, print_, failed = await asyncio.to_thread(self._examine, data)
        except (PhotoUnavailable, Unsupported, BadImage) as exc:
            return self._skip(message, str(exc))
        except TimeoutError:
            waited = self.settings.fetch_timeout_seconds
            return self._skip(message, f"fetching took over {waited:g} s")
        except Exception as exc:  # a decoder or binding bug must not stop the batch either
            return self._skip(message, f"{type(exc).__name__}: {exc}")
        self.read_count += 1
        if failed is not None:  # the fingerprint still recognises a known hoax picture
            self._skip(message, failed, part="text")
        if not text:
            return PhotoRead(message, print_)
        joined = f"{message.text}\n{text}" if message.text else text
        extra = (*message.extra, (PHOTO_TEXT, "1"))
        return PhotoRead(replace(message, text=joined, extra=extra), print_)

    def _examine(self, data: bytes) -> tuple[str, str, str | None]:
        """(text read, fingerprint, why no text was read)."""
        image = decode(data, self.limits)
        print_ = fingerprint(image)
        if self.ocr is None:
            return "", print_, None
        try:
            return self.ocr.read(image), print_, None
        except OcrFailed as exc:
            return "", print_, str(exc)

    def _skip(self, message: Message, why: str, part: str = "picture") -> PhotoRead:
        self.skipped += 1
        log.warning(
            "%s of message %s:%s:%s skipped: %s",
            "text in the picture" if part == "text" else "picture",
            message.platform,
            message.chat_id,
            message.message_id,
            why,
        )
        return PhotoRead(message)
