"""A loopback emulator of what a Messenger bot talks to: Meta's Graph API for one Page (the
Send API, `/me`) and Meta's webhook deliveries to the bot.

    async with FakeMessenger(page_id="1000000000001") as fb:
        officer = fb.add_person("24000000000000555", "Y Thành")
        await fb.subscribe("http://127.0.0.1:8443/messenger")   # the GET handshake
        await fb.deliver(fb.writes(officer, "/incidents"))      # a signed POST
        await fb.wait_until(lambda: fb.sent_to(officer))        # what the Page sent back

It answers as NOTES.md §4 describes: `{"recipient_id","message_id"}` on success, Graph errors
(`{"error":{message,type,code,error_subcode,fbtrace_id}}`) for a bad token, an unknown
person, a closed 24-hour window (10/2018278), a person who blocked the Page (551), and
messages beyond Messenger's limits (2000 characters of text; quick replies ≤ 13 with titles
≤ 20; button templates of 640 characters and 1-3 buttons). It accepts the token in the query,
the body or an `Authorization: Bearer` header, and the body as JSON or as a form with JSON
values, and checks `appsecret_proof` when one is sent. Faults: a call fails with a given
error, stalls (before or after it is carried out), or its connection drops once carried out.

The pictures people send are served at `GET /media/<name>` as Meta's CDN would
(`messenger_media.py`: `add_photo`, `sends_photo`; gone, failing, slow or redirected).

It listens on 127.0.0.1 only and delivers webhooks to loopback addresses only. Nothing here
imports botkit or the adapter.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from adapters.testing import messenger_events as ev
from adapters.testing.media import PLACEHOLDER, ROUTE, MediaShelf
from adapters.testing.messenger_checks import check_message, read_body
from adapters.testing.messenger_state import (
    WINDOW_SECONDS,
    Delivered,
    Fault,
    GraphAPIError,
    Person,
    RecordedRequest,
    Trouble,
    WebhookDelivery,
    When,
    bad_param,
    new_mid,
    outside_window,
    take,
    token_invalid,
    unavailable,
)
from botkit.waiting import event_within

__all__ = ["FakeMessenger"]

JSON = dict[str, Any]
T = TypeVar("T")

MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
_VERSION = re.compile(r"^v[0-9]+\.[0-9]+$")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FakeMessenger:
    """Meta for one Page, on 127.0.0.1: Graph API server and webhook sender."""

    def __init__(
        self,
        *,
        page_id: str = "1000000000001",
        page_name: str = "Công an xã Cư M'gar",
        page_token: str = "EAAtest-page-token",
        app_id: str = "777000000000001",
        app_secret: str = "test-app-secret",
        verify_token: str = "test-verify-token",
        require_proof: bool = False,
        host: str = "127.0.0.1",
        webhook_timeout: float = 10.0,
        escape_unicode: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"host must be a loopback address, not {host!r}")
        self.page_id = page_id
        self.page_name = page_name
        self.page_token = page_token
        self.app_id = app_id
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.require_proof = require_proof
        self.host = host
        self.escape_unicode = escape_unicode
        self._webhook_timeout = webhook_timeout
        self._clock = clock
        self.people: dict[str, Person] = {}
        self.sent: list[Delivered] = []  # every message the Page sent, in order
        self.requests: list[RecordedRequest] = []
        self.deliveries: list[WebhookDelivery] = []
        self.dropped: list[RecordedRequest] = []  # carried out, never answered
        self.callback_url: str | None = None
        self._faults: list[Fault] = []
        self._troubles: list[Trouble] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None
        self._changed = asyncio.Event()
        self.media = MediaShelf(lambda: self.base_url)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeMessenger:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(middlewares=[self._graph_errors])
        app.router.add_get(ROUTE, self.media.handle)  # before /{version}/{page}, which it fits
        app.router.add_post("/{version}/{page}/messages", self._messages)
        app.router.add_get("/{version}/{page}", self._node)
        # handler_cancellation: a call whose client gave up during a stall is not carried out
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._session = aiohttp.ClientSession(
            trust_env=False, timeout=aiohttp.ClientTimeout(total=self._webhook_timeout)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """The adapter's `api_base_url`: `http://127.0.0.1:PORT`."""
        if self._port is None:
            raise RuntimeError("FakeMessenger is not running; use 'async with'")
        return f"http://{self.host}:{self._port}"

    def _ms(self) -> int:
        return int(self._clock() * 1000)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ people

    def add_person(self, psid: str, name: str = "", *, interacted: bool = True) -> str:
        """Someone who has a conversation with the Page; `interacted`: wrote just now."""
        self.people[psid] = Person(psid, name, self._clock() if interacted else None)
        return psid

    def block(self, psid: str) -> None:
        """They blocked the Page or turned its messages off: sends get error 551."""
        self.people[psid].available = False

    def age_window(self, psid: str, hours: float = 25.0) -> None:
        """They last wrote `hours` ago (past 24, RESPONSE messages get error 10/2018278)."""
        self.people[psid].last_interaction = self._clock() - hours * 3600

    def sent_to(self, psid: str) -> list[Delivered]:
        return [d for d in self.sent if d.psid == psid]

    # ------------------------------------------------------------------ what people do

    def _interacts(self, psid: str) -> Person:
        person = self.people[psid]
        person.last_interaction = self._clock()
        return person

    def writes(self, psid: str, text: str) -> JSON:
        """They type `text`; the messaging item to deliver."""
        person = self._interacts(psid)
        person.live_quick_replies = None  # any message of theirs dismisses quick replies
        return ev.text_item(self.page_id, psid, text, new_mid(), self._ms())

    def add_photo(self, data: bytes = PLACEHOLDER, **options: Any) -> str:
        """A picture on Meta's CDN (here: this server); its URL. `options`: `MediaShelf.add`'s."""
        return self.media.add(data, **options)

    def sends_photo(
        self, psid: str, photo: bytes | str = PLACEHOLDER, *, text: str | None = None
    ) -> JSON:
        """They send a picture (its bytes, put on the CDN, or its URL); the item to deliver."""
        self._interacts(psid).live_quick_replies = None
        url = photo if isinstance(photo, str) else self.add_photo(photo)
        return ev.attachment_item(
            self.page_id, psid, new_mid(), self._ms(), "image", url, text=text
        )

    def sends_sticker(self, psid: str) -> JSON:
        self._interacts(psid).live_quick_replies = None
        return ev.sticker_item(self.page_id, psid, new_mid(), self._ms())

    def taps(self, psid: str, title: str) -> JSON:
        """They tap a quick reply: only those under the Page's latest message are shown."""
        person = self._interacts(psid)
        live = person.live_quick_replies
        choice = next((q for q in live.quick_replies if q[0] == title), None) if live else None
        if choice is None:
            raise LookupError(f"no quick reply {title!r} is shown to {psid}")
        person.live_quick_replies = None
        return ev.quick_reply_item(self.page_id, psid, title, choice[1], new_mid(), self._ms())

    def presses(self, psid: str, title: str, message: Delivered | None = None) -> JSON:
        """They press a postback button (under `message`, or the latest one offering it)."""
        candidates = [message] if message is not None else reversed(self.sent_to(psid))
        for delivered in candidates:
            for button_title, payload in delivered.buttons:
                if button_title == title:
                    self._interacts(psid)
                    return ev.postback_item(
                        self.page_id, psid, title, payload, self._ms(), mid=new_mid()
                    )
        raise LookupError(f"no button {title!r} was sent to {psid}")

    def receipts(self, psid: str) -> list[JSON]:
        """The echo, delivery and read items Meta posts after the Page's messages to them."""
        sent = self.sent_to(psid)
        ms = self._ms()
        echoes = [ev.echo_item(self.page_id, psid, d.mid, d.text, ms, self.app_id) for d in sent]
        return [
            *echoes,
            ev.delivery_item(self.page_id, psid, [d.mid for d in sent], ms),
            ev.read_item(self.page_id, psid, ms),
        ]

    # ------------------------------------------------------------------ webhook

    async def handshake(
        self,
        url: str,
        *,
        verify_token: str | None = None,
        mode: str = "subscribe",
        challenge: str | None = None,
    ) -> tuple[int, str]:
        """Meta's GET verification of a callback URL: (status, body)."""
        _check_loopback(url)
        query = {
            "hub.mode": mode,
            "hub.verify_token": self.verify_token if verify_token is None else verify_token,
            "hub.challenge": challenge or secrets.token_hex(8),
        }
        async with self._http().get(url, params=query) as response:
            return response.status, await response.text()

    async def subscribe(self, url: str) -> None:
        """Set the callback URL, as the app dashboard does: only if it echoes the challenge."""
        challenge = secrets.token_hex(8)
        status, body = await self.handshake(url, challenge=challenge)
        if status != 200 or body != challenge:
            raise RuntimeError(f"callback URL not verified: {status} {body[:100]}")
        self.callback_url = url

    async def deliver(
        self,
        *items: JSON,
        per_entry: int | None = None,
        retries: int = 0,
        retry_delay: float = 0.05,
    ) -> WebhookDelivery:
        """POST items as one signed Page post; on failure post it again up to `retries`
        times, as Meta retries. The last attempt's outcome."""
        body = ev.page_body(self.page_id, items, self._ms(), per_entry)
        raw = ev.encode(body, escape=self.escape_unicode)
        delivery = await self.post(raw, items=len(items))
        for _ in range(retries):
            if delivery.status == 200:
                break
            await asyncio.sleep(retry_delay)  # Meta's back-off between retries
            retry_delay *= 2
            delivery = await self.post(raw, items=len(items))
        return delivery

    async def post(
        self,
        raw: bytes,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        items: int = 0,
    ) -> WebhookDelivery:
        """POST raw bytes to the callback URL, signed unless `signed=False`; `headers` add to
        or replace Meta's."""
        if self.callback_url is None:
            raise RuntimeError("no callback URL: subscribe() first")
        sent = {"Content-Type": "application/json"}
        if signed:
            sent |= ev.sign(self.app_secret, raw)
        sent |= headers or {}
        status: int | None = None
        error: str | None = None
        try:
            async with self._http().post(self.callback_url, data=raw, headers=sent) as response:
                await response.read()
                status = response.status
                if status != 200:
                    error = f"HTTP {status}"
        except TimeoutError:
            error = "timeout"
        except (aiohttp.ClientError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivery = WebhookDelivery(status, error, items, raw, self._clock())
        self.deliveries.append(delivery)
        self._notify()
        return delivery

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("FakeMessenger is not running; use 'async with'")
        return self._session

    # ------------------------------------------------------------------ faults

    def fail_next(self, error: GraphAPIError, *, times: int = 1, when: When | None = None) -> None:
        """The next `times` Send API calls (matching `when`) fail with `error`, not done."""
        self._faults.append(Fault(error, times, when))

    def stall_next(
        self,
        seconds: float,
        *,
        accept_first: bool = False,
        times: int = 1,
        when: When | None = None,
    ) -> None:
        """Answer the next Graph calls (matching `when`) late. By default a call waits before
        it is carried out (a client giving up changed nothing); `accept_first`: carried out
        at once, only the answer is late."""
        self._troubles.append(Trouble(times, when, seconds=seconds, accept_first=accept_first))

    def drop_next(self, *, times: int = 1, when: When | None = None) -> None:
        """Carry out the next calls, then close the connection without answering."""
        self._troubles.append(Trouble(times, when, drop=True))

    # ------------------------------------------------------------------ waiting

    async def wait_until(
        self, condition: Callable[[], T | None], timeout: float = 10.0, *, description: str = ""
    ) -> T:
        """Re-check `condition` whenever the emulator's state changes, until it is truthy."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            result = condition()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{description or 'condition'} not met within {timeout} s")
            await event_within(changed, remaining)

    async def next_message(
        self,
        psid: str,
        where: Callable[[Delivered], bool] = lambda d: True,
        *,
        skip: int = 0,
        timeout: float = 10.0,
    ) -> Delivered:
        """The (`skip`+1)-th message to `psid` matching `where`, once delivered."""

        def found() -> Delivered | None:
            matching = [d for d in self.sent_to(psid) if where(d)]
            return matching[skip] if len(matching) > skip else None

        return await self.wait_until(found, timeout, description=f"a message to {psid}")

    # ------------------------------------------------------------------ Graph API

    @web.middleware
    async def _graph_errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except GraphAPIError as exc:
            return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
        except web.HTTPNotFound:
            error = GraphAPIError(2500, "Unknown path components", status=404)
            return web.json_response(error.body(), status=404)

    async def _node(self, request: web.Request) -> web.Response:
        """GET /vX.Y/me (a Page token's /me is the Page) or /vX.Y/{page_id}."""
        query = dict(request.query)
        call = self._record(request, query, None)
        self._authorise(request, query, {})
        if request.match_info["page"] not in ("me", self.page_id):
            raise bad_param("Unsupported get request.", subcode=33)
        trouble: Trouble | None = take(self._troubles, call)
        if trouble is not None:
            await asyncio.sleep(trouble.seconds)  # a slow Graph API (a read: nothing to drop)
        return web.json_response({"id": self.page_id, "name": self.page_name})

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        body = await read_body(request)
        call = self._record(request, query, body)
        if not _VERSION.match(request.match_info["version"]):
            raise GraphAPIError(2500, "Unknown path components", status=400)
        self._authorise(request, query, body)
        if request.match_info["page"] not in ("me", self.page_id):
            raise bad_param("Unsupported post request.", subcode=33)
        fault = take(self._faults, call)
        if fault is not None:
            raise fault.error
        trouble: Trouble | None = take(self._troubles, call)
        if trouble is not None and trouble.seconds and not trouble.accept_first:
            await asyncio.sleep(trouble.seconds)  # a client giving up meanwhile changed nothing
        delivered = self._deliver(body)
        if trouble is not None and trouble.accept_first:
            await asyncio.sleep(trouble.seconds)  # done, but the answer is late
        if trouble is not None and trouble.drop:
            self.dropped.append(call)
            if request.transport is not None:
                request.transport.close()  # done, and the client never hears of it
        return web.json_response({"recipient_id": delivered.psid, "message_id": delivered.mid})

    def _record(self, request: web.Request, query: dict[str, str], body: Any) -> RecordedRequest:
        call = RecordedRequest(
            request.method, request.path, query, body, request.content_type, self._clock()
        )
        self.requests.append(call)
        self._notify()
        return call

    def _authorise(self, request: web.Request, query: dict[str, str], body: Any) -> None:
        fields = body if isinstance(body, dict) else {}
        bearer = request.headers.get("Authorization", "")
        token = (
            query.get("access_token")
            or fields.get("access_token")
            or (bearer[7:] if bearer.startswith("Bearer ") else None)
        )
        if token != self.page_token:
            raise token_invalid()
        proof = query.get("appsecret_proof") or fields.get("appsecret_proof")
        if proof is None and self.require_proof:
            raise bad_param("API calls from the server require an appsecret_proof argument")
        if proof is not None:
            want = hmac.new(
                self.app_secret.encode(), self.page_token.encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(str(proof), want):
                raise bad_param("Invalid appsecret_proof provided in the API argument")

    def _deliver(self, body: Any) -> Delivered:
        """Check a Send API body as Meta does; the message the person now holds."""
        if not isinstance(body, dict):
            raise bad_param("The parameter recipient is required")
        recipient = body.get("recipient")
        psid = str(recipient.get("id", "")) if isinstance(recipient, dict) else ""
        if not psid:
            raise bad_param("The parameter recipient is required")
        kind = body.get("messaging_type")
        if kind not in MESSAGING_TYPES:
            raise bad_param("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
        tag = body.get("tag")
        if kind == "MESSAGE_TAG" and not tag:
            raise bad_param("param tag is required for messaging_type MESSAGE_TAG")
        message = body.get("message")
        if not isinstance(message, dict):
            raise bad_param("param message must be a JSON object")
        check_message(message)
        person = self.people.get(psid)
        if person is None:
            raise bad_param("No matching user found", subcode=2018001)
        if not person.available:
            raise unavailable()
        last = person.last_interaction
        if kind != "MESSAGE_TAG" and (last is None or self._clock() - last > WINDOW_SECONDS):
            raise outside_window()
        delivered = Delivered(new_mid(), psid, message, str(kind), tag, self._clock())
        self.sent.append(delivered)
        person.live_quick_replies = delivered if delivered.quick_replies else None
        self._notify()
        return delivered

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not running"
        return f"<FakeMessenger Page {self.page_id} {where}>"


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not _is_loopback(host):
        raise ValueError(f"the emulator only delivers to loopback hosts, not {host!r}")
