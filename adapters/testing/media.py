"""Pictures an emulator serves on its own loopback server, as the platform's CDN would.

An image event names its picture by URL (Zalo: `attachments[].payload.url` or `photo_url`;
Messenger: `attachments[].payload.url`); the emulator answers `GET /media/<name>` with the
bytes registered there, or as a failing CDN does: a status (404/410 gone, 500), a late
answer, a redirect (to anywhere, `file:` included), a body without `Content-Length`, or one
that never ends. Every request is recorded, so a test can tell a picture was not fetched.

    url = fake.add_photo(jpeg_bytes)            # on any of the emulators
    fake.media.fail(url, 404)

The Zalo OA, Zalo Bot and Messenger emulators each hold a `MediaShelf`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

ROUTE = "/media/{name}"
CHUNK = 16 * 1024
# A 1×1 PNG: what an image event shows when the test did not say which picture it holds.
PLACEHOLDER = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True)
class Fetch:
    """One request for a picture: what a test checks carried no credentials."""

    name: str
    query: str
    headers: dict[str, str]


@dataclass
class Media:
    """A picture on the CDN and how its URL answers."""

    data: bytes
    content_type: str = "image/jpeg"
    status: int = 200  # other than 200: answered with it, without the picture
    delay: float = 0.0  # seconds before the answer starts
    chunked: bool = False  # sent without Content-Length
    endless: bool = False  # the bytes again and again, until the client hangs up
    location: str | None = None  # answered 302 to here


class MediaShelf:
    """The pictures of one emulator; `base_url` is read when a URL is made."""

    def __init__(self, base_url: Callable[[], str]) -> None:
        self._base_url = base_url
        self.items: dict[str, Media] = {}
        self.requests: list[Fetch] = []  # in order

    def add(
        self,
        data: bytes = PLACEHOLDER,
        *,
        content_type: str = "image/jpeg",
        chunked: bool = False,
        endless: bool = False,
    ) -> str:
        """Put a picture on the CDN; its URL."""
        if endless and not data:
            raise ValueError("an endless body needs bytes to repeat")
        name = f"{secrets.token_hex(10)}.jpg"
        self.items[name] = Media(data, content_type, chunked=chunked or endless, endless=endless)
        return f"{self._base_url()}/media/{name}"

    def redirect(self, location: str) -> str:
        """A URL answering 302 to `location`."""
        name = secrets.token_hex(10)
        self.items[name] = Media(b"", status=302, location=location)
        return f"{self._base_url()}/media/{name}"

    def copy(self, url: str) -> str:
        """Another URL of the same picture (a platform's thumbnail), if `url` is on this
        shelf; else `url` itself."""
        item = self.items.get(url.rsplit("/", 1)[-1]) if url.startswith(self._base_url()) else None
        return self.add(item.data, content_type=item.content_type) if item and item.data else url

    def fail(self, url: str, status: int) -> None:
        """From now on `url` answers `status` (404 or 410: the picture is gone)."""
        self._item(url).status = status

    def stall(self, url: str, seconds: float) -> None:
        """From now on `url` answers `seconds` late."""
        self._item(url).delay = seconds

    def fetched(self, url: str) -> int:
        """How many times `url` was requested."""
        name = url.rsplit("/", 1)[-1]
        return sum(1 for fetch in self.requests if fetch.name == name)

    def _item(self, url: str) -> Media:
        return self.items[url.rsplit("/", 1)[-1]]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append(Fetch(name, request.query_string, dict(request.headers)))
        item = self.items.get(name)
        if item is None:
            return web.Response(status=404, text="Not Found")
        if item.delay:
            await asyncio.sleep(item.delay)
        if item.location is not None:
            return web.Response(status=302, headers={"Location": item.location})
        if item.status != 200:
            return web.Response(status=item.status, text=f"HTTP {item.status}")
        if not item.chunked:
            return web.Response(body=item.data, content_type=item.content_type)
        response = web.StreamResponse(headers={"Content-Type": item.content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client stopped reading
            while True:
                for start in range(0, len(item.data), CHUNK):
                    await response.write(item.data[start : start + CHUNK])
                if not item.endless:
                    break
            await response.write_eof()
        return response
