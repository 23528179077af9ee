"""A small client of the Zalo Bot API: `POST {base}/bot{TOKEN}/{method}` with a JSON body.

Zalo answers `{"ok": true, "result": …}` or `{"ok": false, "error_code": N, "description": …}`.
Whether an error also sets the HTTP status is not documented (an empty long poll is known
only as "error_code 408"), so the code in the body wins and the HTTP status is the fallback.

The token is part of every URL: no error raised here carries a URL, and any text that could
hold the token is scrubbed first.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from adapters.kit.photos import fetch_bounded

EMPTY_POLL = 408  # getUpdates found nothing within its timeout
# Extra time the HTTP request gets over the long poll's own timeout.
POLL_GRACE_SECONDS = 10.0


class ZaloBotError(Exception):
    """The Bot API refused a call (`ok: false`, or an HTTP error without an envelope)."""

    def __init__(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        retry_after: float | None = None,
        enveloped: bool = True,
    ) -> None:
        super().__init__(f"{method}: {error_code} {description}")
        self.method = method
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        # False: the answer was not the API's JSON (a proxy's error page, a cut body), so
        # whether the call was carried out is unknown.
        self.enveloped = enveloped


class ZaloBotUnreachable(Exception):
    """No answer: the connection failed, dropped or timed out.

    `may_have_arrived` is False only when the request cannot have reached Zalo (the
    connection was never made).
    """

    def __init__(self, method: str, detail: str, *, may_have_arrived: bool) -> None:
        super().__init__(f"{method}: {detail}")
        self.method = method
        self.may_have_arrived = may_have_arrived


class ZaloBotClient:
    def __init__(self, base_url: str, token: str, *, request_timeout: float) -> None:
        self._url = f"{base_url.rstrip('/')}/bot{token}/"
        self._token = token
        self._timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """The method's `result`; raises `ZaloBotError` or `ZaloBotUnreachable`."""
        session = self._open()
        limit = aiohttp.ClientTimeout(total=timeout or self._timeout)
        try:
            async with session.post(self._url + method, json=params or {}, timeout=limit) as resp:
                status = resp.status
                reason = resp.reason or ""
                retry_header = resp.headers.get("Retry-After")
                raw = await resp.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise ZaloBotUnreachable(method, self._scrub(exc), may_have_arrived=False) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Sent, then the connection dropped or the answer was late: it may have arrived.
            raise ZaloBotUnreachable(method, self._scrub(exc), may_have_arrived=True) from None
        return _result(method, status, reason, retry_header, raw)

    async def get_updates(self, timeout: int) -> list[Any]:
        """What one long poll returned: Zalo gives one update object (an empty list when the
        poll ran out, error 408). A list is accepted too, in case the API starts batching."""
        try:
            # The docs type `timeout` as a string ("30").
            result = await self.call(
                "getUpdates", {"timeout": str(timeout)}, timeout=timeout + POLL_GRACE_SECONDS
            )
        except ZaloBotError as exc:
            if exc.error_code == EMPTY_POLL:
                return []
            raise
        if result is None or result == {}:
            return []
        return list(result) if isinstance(result, list) else [result]

    async def download(self, url: str, max_bytes: int) -> bytes:
        """A picture from Zalo's CDN (an image update's `photo_url`), at most `max_bytes`
        (`PhotoUnavailable` otherwise). The token is in no part of it."""
        return await fetch_bounded(self._open(), url, max_bytes, timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # trust_env: a deployment may have to reach Zalo through an HTTP(S) proxy.
            self._session = aiohttp.ClientSession(trust_env=True)
        return self._session

    def _scrub(self, exc: BaseException) -> str:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return detail.replace(self._token, "<token>")


def _result(method: str, status: int, reason: str, retry_header: str | None, raw: bytes) -> Any:
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        detail = f"not a Bot API answer (HTTP {status} {reason})"
        raise ZaloBotError(method, status if status >= 400 else 502, detail, enveloped=False)
    if body.get("ok") is True:
        return body.get("result")
    code = _code(body.get("error_code")) or (status if status >= 400 else 500)
    description = str(body.get("description") or reason or "error")
    raise ZaloBotError(method, code, description, retry_after=_retry_after(body, retry_header))


def _code(value: Any) -> int | None:
    """`error_code` as a number; a numeric string is accepted too (the type is not documented)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _retry_after(body: dict[str, Any], header: str | None) -> float | None:
    parameters = body.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    for candidate in (value, header):
        try:
            if candidate is not None and float(candidate) >= 0:
                return float(candidate)
        except (TypeError, ValueError):
            continue
    return None
