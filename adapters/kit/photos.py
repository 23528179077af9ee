"""Fetching a message's picture from the URL the platform put in its event, within a limit.

The URL is the platform CDN's, taken from a signed event; it is still a stranger's address,
so only http(s) is fetched (also after each redirect, followed by hand, at most
`MAX_REDIRECTS`), the whole fetch is bounded in time, and the body is refused as soon as
its declared length or the bytes actually received exceed the limit: an endless or lying
body is never buffered. Nothing is kept: the bytes go to the core, which decodes them (and
refuses what is not a picture, whatever its content type). Used by the Zalo OA, Zalo Bot
and Messenger adapters (Telegram fetches through getFile).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin, urlsplit

import aiohttp

from botkit.adapter import PhotoUnavailable

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
GONE = frozenset({404, 410})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A picture is compressed already: asking for no transfer encoding keeps the size limit a
# limit on what arrives, not on what a compressed body would expand to.
HEADERS = {"Accept-Encoding": "identity"}


def checked_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host; else `PhotoUnavailable`."""
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:
        scheme, host = "", None
    if not scheme:
        raise PhotoUnavailable("refused: not a URL; only http(s) URLs are fetched")
    if scheme not in ("http", "https"):
        raise PhotoUnavailable(f"refused: a {scheme}: URL; only http(s) URLs are fetched")
    if not host:
        raise PhotoUnavailable("refused: an http(s) URL without a host")
    return url


async def fetch_bounded(
    session: aiohttp.ClientSession, ref: str, max_bytes: int, *, timeout: float
) -> bytes:
    """The body at `ref`, at most `max_bytes` long, within `timeout` seconds in all."""
    url = checked_url(ref)
    host = urlsplit(url).hostname
    try:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_REDIRECTS + 1):
                async with session.get(url, headers=HEADERS, allow_redirects=False) as response:
                    if response.status in REDIRECTS:
                        location = response.headers.get("Location")
                        if not location:
                            raise PhotoUnavailable(f"HTTP {response.status} without a Location")
                        url = checked_url(urljoin(url, location))
                        host = urlsplit(url).hostname
                        continue
                    return await _body(response, max_bytes, host)
            raise PhotoUnavailable(f"more than {MAX_REDIRECTS} redirects")
    except TimeoutError:
        raise PhotoUnavailable(f"no picture from {host} within {timeout:g} s") from None
    except ValueError as exc:  # a URL aiohttp cannot use (its InvalidURL is one too)
        raise PhotoUnavailable(f"refused: {type(exc).__name__}: not a usable URL") from None
    except aiohttp.ClientError as exc:
        detail = " ".join(str(exc).split())[:200]
        raise PhotoUnavailable(
            f"cannot fetch from {host}: {type(exc).__name__}" + (f": {detail}" if detail else "")
        ) from None


async def _body(response: aiohttp.ClientResponse, max_bytes: int, host: str | None) -> bytes:
    status = response.status
    if status in GONE:
        raise PhotoUnavailable(f"gone: HTTP {status} from {host}")
    if not 200 <= status < 300:
        raise PhotoUnavailable(f"HTTP {status} from {host}")
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise PhotoUnavailable(f"{declared:,} bytes, over the limit of {max_bytes:,}")
    body = bytearray()
    while chunk := await response.content.read(min(CHUNK, max_bytes + 1 - len(body))):
        body += chunk
        if len(body) > max_bytes:
            # Stopped at the first byte too many, whatever the length said (or did not).
            raise PhotoUnavailable(f"more bytes than the limit of {max_bytes:,}")
    return bytes(body)
