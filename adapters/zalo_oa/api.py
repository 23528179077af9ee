"""A small aiohttp client for the two Zalo hosts: the OA API and the OAuth token endpoint.

The OA API answers errors with HTTP 200 and `{"error": <negative code>, "message": …}`; the
OAuth endpoint answers a refused refresh the same way, with `error_name`/`error_description`.
Anything else (no answer, another status, no JSON) is `ZaloOAUnreachable`, which says whether
the request may have been carried out before the failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from adapters.kit.photos import fetch_bounded

SEND_TO_USER = "/v3.0/oa/message/cs"
SEND_TO_GROUP = "/v3.0/oa/group/message"
REFRESH = "/v4/oa/access_token"

ACCESS_TOKEN_HEADER = "access_token"
SECRET_KEY_HEADER = "secret_key"


class ZaloOAError(Exception):
    """Zalo answered and refused: `code` is its (negative) error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"error {code}: {message}" if message else f"error {code}")
        self.code = code
        self.description = message


class ZaloOAUnreachable(Exception):
    """No usable answer. `may_have_arrived`: the request left, so Zalo may have acted on it."""

    def __init__(self, message: str, *, may_have_arrived: bool) -> None:
        super().__init__(message)
        self.may_have_arrived = may_have_arrived


@dataclass(frozen=True, slots=True)
class Refreshed:
    """A refresh's answer. `expires_in` as sent: Zalo sends a string ("90000"), older
    guides a number; `tokens.lifetime` reads both."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: object


class OAClient:
    def __init__(self, api_base_url: str, oauth_base_url: str, timeout: float) -> None:
        self.api_base_url = api_base_url
        self.oauth_base_url = oauth_base_url
        self.timeout = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, path: str, body: dict[str, Any], access_token: str) -> dict[str, Any]:
        """An OA API call; its `data` on success."""
        answer = await self._request(
            self.api_base_url + path, headers={ACCESS_TOKEN_HEADER: access_token}, json_body=body
        )
        code = _code(answer.get("error", 0))
        if code != 0:
            raise ZaloOAError(code, str(answer.get("message") or ""))
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    async def download(self, url: str, max_bytes: int) -> bytes:
        """A picture from Zalo's CDN, at most `max_bytes` (`PhotoUnavailable` otherwise). No
        token goes with it: the CDN's URLs need none."""
        return await fetch_bounded(self._client(), url, max_bytes, timeout=self.timeout)

    async def refresh(self, refresh_token: str, app_id: str, app_secret: str) -> Refreshed:
        """Trade a refresh token (single-use) for a new access token and refresh token."""
        form = {"refresh_token": refresh_token, "app_id": app_id, "grant_type": "refresh_token"}
        answer = await self._request(
            self.oauth_base_url + REFRESH, headers={SECRET_KEY_HEADER: app_secret}, form=form
        )
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            code = _code(answer.get("error", 0)) or -1
            reason = answer.get("error_description") or answer.get("error_name") or "no token"
            raise ZaloOAError(code, str(reason))
        refresh = answer.get("refresh_token")
        return Refreshed(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_in=answer.get("expires_in"),
        )

    async def _request(
        self,
        url: str,
        *,
        headers: dict[str, str],
        json_body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            async with self._client().post(
                url, headers=headers, json=json_body, data=form
            ) as response:
                status = response.status
                raw = await response.read()
        except aiohttp.ClientConnectorError as exc:
            raise ZaloOAUnreachable(f"cannot connect: {exc}", may_have_arrived=False) from exc
        except TimeoutError as exc:
            raise ZaloOAUnreachable("no answer in time", may_have_arrived=True) from exc
        except aiohttp.ClientError as exc:  # dropped mid-request: Zalo may have acted
            raise ZaloOAUnreachable(
                f"connection lost: {type(exc).__name__}: {exc}", may_have_arrived=True
            ) from exc
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            answer = None
        if isinstance(answer, dict) and (status == 200 or "error" in answer):
            return answer  # Zalo's own answer (errors come with 200; other statuses tolerated)
        # Not Zalo's envelope (a proxy, an outage): a server error may hide a success.
        raise ZaloOAUnreachable(
            f"HTTP {status} without a Zalo answer", may_have_arrived=status >= 500
        )


def _code(value: object) -> int:
    """Zalo's error code; some answers carry it as a string."""
    try:
        return int(str(value))
    except ValueError:
        return -1
