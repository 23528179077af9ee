"""A small Graph API client on aiohttp: one Send API call, and the Page the token belongs to.

The access token travels in the query string as Meta documents it, with `appsecret_proof`
(HMAC-SHA256 of the token with the app secret) so that apps set to require it work too.
The token is therefore part of every URL: errors are described without URLs, and anything
that might quote one is scrubbed before it is logged or raised. Pictures are fetched from
the URL the webhook gave (Meta's CDN) with neither the token nor the proof (`photos.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

from adapters.kit.pacing import pace
from adapters.kit.photos import fetch_bounded
from adapters.messenger.errors import GraphError, delivery_error
from adapters.messenger.settings import MessengerSettings
from botkit.adapter import DeliveryError
from botkit.waiting import event_within

JSON = dict[str, Any]


class GraphClient:
    def __init__(self, config: MessengerSettings) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._calls = 0  # under way; `close` lets them finish rather than cut them off
        self._idle = asyncio.Event()
        self._idle.set()
        # This process's calls, paced; a split alert is several calls for one action.
        self._pace: AsyncLimiter = pace(config.calls_per_second)
        proof = hmac.new(
            config.app_secret.encode(), config.page_token.encode(), hashlib.sha256
        ).hexdigest()
        self._auth = {"access_token": config.page_token, "appsecret_proof": proof}

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop; made again after `close` (the sender
        # may still deliver what is due while botkit stops).
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.config.request_timeout_seconds)
            # trust_env: a deployment behind an HTTPS proxy names it in HTTPS_PROXY.
            self._session = aiohttp.ClientSession(timeout=timeout, trust_env=True)
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        # A call cut off by a closing session would be an ambiguous send for no reason.
        await event_within(self._idle, self.config.request_timeout_seconds)
        await session.close()

    async def send_message(self, psid: str, message: JSON) -> str | None:
        """One Send API call; the new message's id. Raises `DeliveryError`."""
        body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message}
        async with self._pace:
            answer = await self._call("POST", self.config.messages_url, body)
        mid = answer.get("message_id")
        return mid if isinstance(mid, str) else None

    async def page(self) -> JSON:
        """The Page the token speaks for (`/me` with a Page token is the Page)."""
        return await self._call("GET", self.config.page_url, None, {"fields": "id,name"})

    async def download(self, url: str, max_bytes: int) -> bytes:
        """A picture of a resident's message, at most `max_bytes` (`PhotoUnavailable`
        otherwise). Not waited for by `close`, unlike a send: cutting it off loses nothing."""
        timeout = self.config.request_timeout_seconds
        return await fetch_bounded(self._client(), url, max_bytes, timeout=timeout)

    async def _call(
        self, method: str, url: str, body: JSON | None, query: dict[str, str] | None = None
    ) -> JSON:
        self._calls += 1
        self._idle.clear()
        try:
            return await self._request(method, url, body, query)
        finally:
            self._calls -= 1
            if not self._calls:
                self._idle.set()

    async def _request(
        self, method: str, url: str, body: JSON | None, query: dict[str, str] | None
    ) -> JSON:
        try:
            async with self._client().request(
                method, url, params={**(query or {}), **self._auth}, json=body
            ) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            # Not connected: nothing was sent, a retry cannot repeat anything.
            raise DeliveryError(f"messenger: cannot connect: {self._scrub(exc)}") from None
        except TimeoutError:
            raise DeliveryError(
                f"messenger: no answer within {self.config.request_timeout_seconds:g} s",
                ambiguous=True,  # Meta may have delivered it
            ) from None
        except aiohttp.ClientError as exc:  # dropped mid-call: it may have arrived
            raise DeliveryError(
                f"messenger: connection lost: {type(exc).__name__}: {self._scrub(exc)}",
                ambiguous=True,
            ) from None
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = None
        if status == 200 and isinstance(answer, dict) and "error" not in answer:
            return answer
        if status == 200:  # accepted, perhaps: a retry is marked as a possible repeat
            raise DeliveryError("messenger: an answer that is not Graph JSON", ambiguous=True)
        error = GraphError.parse(status, answer)
        raise delivery_error(
            error,
            setting=f"{self.config.key}.page_token_env",
            token_env=self.config.page_token_env,
            headers=headers,
        )

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc)
        for value in self._auth.values():
            text = text.replace(value, "***")
        return text[:300]
