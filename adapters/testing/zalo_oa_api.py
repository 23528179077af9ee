"""A loopback Zalo Official Account for tests: the OA API v3, the OAuth refresh and the
webhook sender.

``FakeZaloOA`` serves, on 127.0.0.1:
- ``POST /v3.0/oa/message/cs`` (also ``/transaction`` and ``/promotion``): text, optionally
  with template buttons, to a user; ``POST /v3.0/oa/group/message``: text to a GMF group. Both
  need the header ``access_token`` and answer errors as Zalo does, with HTTP 200 and a
  negative ``error`` (-216 invalid or expired token, -230 user silent for 7 days, …).
- ``POST /v4/oa/access_token``: form-encoded, header ``secret_key``; refresh tokens are
  single-use (a reused one is refused) and ``expires_in`` is a string like Zalo's.
- ``GET /media/<name>``: the pictures of image events, as Zalo's CDN serves them
  (`zalo_media.py`: registered with ``add_photo``; gone, failing, slow or redirected).
It signs and posts events to the adapter's webhook as Zalo does (optionally with ``mac=``),
redelivering until answered 200, and lets users press the buttons they were sent. Faults:
an error code on the next calls, slow answers, dropped connections, expired tokens::

    async with FakeZaloOA(app_id=..., oa_id=..., app_secret=..., oa_secret_key=...) as zalo:
        zalo.add_user("2512000000000001", "Y Thành")
        token = zalo.issue_refresh_token()   # for the adapter's refresh_token_env
        zalo.webhook_url = f"http://127.0.0.1:{port}/zalo-oa"
        await zalo.user_says("2512000000000001", "/ack 12")

Nothing here imports botkit; it never leaves loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, TypeVar

import aiohttp
from aiohttp import web

from adapters.testing import zalo_oa_events as ev
from adapters.testing.media import PLACEHOLDER, ROUTE, MediaShelf
from adapters.testing.zalo_oa_state import (
    JSON,
    Delivered,
    Delivery,
    Fault,
    Group,
    Incoming,
    RecordedRequest,
    Tokens,
    User,
    ZaloError,
)

T = TypeVar("T")

CS = "/v3.0/oa/message/cs"
USER_PATHS = (CS, "/v3.0/oa/message/transaction", "/v3.0/oa/message/promotion")
GROUP = "/v3.0/oa/group/message"
REFRESH = "/v4/oa/access_token"
MAX_TEXT = 2000
MAX_BUTTONS = 5
BUTTON_TYPES = frozenset({"oa.open.url", "oa.query.show", "oa.query.hide", "oa.open.phone"})
QUERY_BUTTONS = frozenset({"oa.query.show", "oa.query.hide"})
Signature = Literal["valid", "wrong", "none"]


class FakeZaloOA:
    def __init__(
        self,
        *,
        app_id: str,
        oa_id: str,
        app_secret: str,
        oa_secret_key: str,
        host: str = "127.0.0.1",
        access_token_lifetime: float = 90_000,
        expires_in_as_text: bool = True,
        redelivery_delay: float = 0.05,
        max_deliveries: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"host must be a loopback address, not {host!r}")
        self.app_id, self.oa_id = app_id, oa_id
        self.app_secret, self.oa_secret_key = app_secret, oa_secret_key
        self.host = host
        self.access_token_lifetime = access_token_lifetime
        self.expires_in_as_text = expires_in_as_text  # Zalo: "90000"; older guides: 90000
        self.redelivery_delay = redelivery_delay
        self.max_deliveries = max_deliveries
        self._clock = clock
        self.tokens = Tokens(clock)
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.requests: list[RecordedRequest] = []
        self.delivered: list[Delivered] = []
        self.incoming: list[Incoming] = []
        self.deliveries: list[Delivery] = []
        self.dropped: list[RecordedRequest] = []
        self.webhook_url: str | None = None
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port: int | None = None
        self.media = MediaShelf(lambda: self.base_url)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeZaloOA:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        for path in USER_PATHS:
            app.router.add_post(path, self._send_to_user)
        app.router.add_post(GROUP, self._send_to_group)
        app.router.add_post(REFRESH, self._refresh)
        app.router.add_get(ROUTE, self.media.handle)
        # handler_cancellation: a stalled call whose client gave up is never carried out.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """Both `api_base_url` and `oauth_base_url` of the adapter."""
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ set-up

    def add_user(self, user_id: str, name: str) -> User:
        user = self.users[user_id] = User(user_id, name)
        return user

    def add_group(self, group_id: str, name: str, members: list[str]) -> Group:
        group = self.groups[group_id] = Group(group_id, name, set(members))
        return group

    def add_photo(self, data: bytes = PLACEHOLDER, **options: Any) -> str:
        """A picture on Zalo's CDN (here: this server); its URL. `options`: `MediaShelf.add`'s."""
        return self.media.add(data, **options)

    def issue_refresh_token(self) -> str:
        """A valid refresh token, as the OA's consent screen would give one."""
        return self.tokens.issue_refresh()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is expired from now on (-216)."""
        self.tokens.expire_all()

    def close_reply_window(self, user_id: str) -> None:
        """The user has been silent for 7 days: messages to them get -230 until they write."""
        self.users[user_id].window_open = False

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        target: str,
        code: int,
        message: str = "",
        *,
        times: int = 1,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """The next `times` requests to `target` (a path's end, "*": any) answer `code`:
        -216 expired token, -32 rate limit, -230 silent user, -14014 refused refresh, …"""
        self._faults.append(Fault(target, times, when, code=code, message=message or "fault"))

    def stall_next(
        self,
        target: str,
        seconds: float,
        *,
        accept_first: bool = False,
        times: int = 1,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Answer late. `accept_first`: carried out at once, only the answer is late (a client
        giving up does not know it was sent); otherwise nothing happens before the answer."""
        self._faults.append(Fault(target, times, when, stall=seconds, accept_first=accept_first))

    def drop_next(
        self,
        target: str,
        *,
        times: int = 1,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Carry the request out, then close the connection without answering."""
        self._faults.append(Fault(target, times, when, accept_first=True, drop=True))

    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        for fault in self._faults:
            if fault.matches(request):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------ inspection

    def messages_to(self, user_id: str) -> list[Delivered]:
        return [m for m in self.delivered if m.kind == "user" and m.to == user_id]

    def group_messages(self, group_id: str) -> list[Delivered]:
        return [m for m in self.delivered if m.kind == "group" and m.to == group_id]

    def calls_to(self, target: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(target)]

    @property
    def refreshes(self) -> list[RecordedRequest]:
        return self.calls_to(REFRESH)

    async def wait_until(
        self, condition: Callable[[], T | None], timeout: float = 10.0, *, description: str = ""
    ) -> T:
        """Re-check `condition` on every change of the emulator's state until it holds."""

        async def holds() -> T:
            while not (result := condition()):
                await self._changed.wait()  # taken right after the check: no change is missed
            return result

        # As a task, so a call yields to the bot at least once even when the condition
        # already holds: tests written against this emulator expect that turn.
        checking = asyncio.ensure_future(holds())
        try:
            async with asyncio.timeout(timeout):
                return await checking  # cancelled with the wait when the time is up
        except TimeoutError:
            raise TimeoutError(f"{description or 'condition'} not met within {timeout} s") from None

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ HTTP

    async def _record(self, request: web.Request, *, form: bool) -> RecordedRequest:
        params: JSON = {}
        if form:
            params = dict(await request.post())
        else:
            with contextlib.suppress(ValueError):
                body = json.loads(await request.read())
                params = body if isinstance(body, dict) else {"_": body}
        headers = {k.lower(): v for k, v in request.headers.items()}
        recorded = RecordedRequest(request.path, headers, params, self._clock())
        self.requests.append(recorded)
        self._notify()
        return recorded

    async def _answer(
        self,
        request: web.Request,
        recorded: RecordedRequest,
        carry_out: Callable[[RecordedRequest], JSON],
        error: Callable[[ZaloError], JSON],
    ) -> web.StreamResponse:
        fault = self._take_fault(recorded)
        if fault is not None and fault.code is not None:
            return web.json_response(error(ZaloError(fault.code, fault.message)))
        if fault is not None and fault.stall and not fault.accept_first:
            await asyncio.sleep(fault.stall)  # nothing done yet: a client giving up lost nothing
        try:
            body = carry_out(recorded)
        except ZaloError as exc:
            return web.json_response(error(exc))
        self._notify()
        if fault is not None and fault.drop:
            self.dropped.append(recorded)
            if request.transport is not None:
                request.transport.close()  # done, and the client never hears of it
            return web.Response()
        if fault is not None and fault.stall:
            await asyncio.sleep(fault.stall)  # done, but the answer is late
        return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False))

    @staticmethod
    def _api_error(exc: ZaloError) -> JSON:
        return {"error": exc.code, "message": exc.message}

    @staticmethod
    def _oauth_error(exc: ZaloError) -> JSON:
        return {
            "error": exc.code,
            "error_name": exc.message,
            "error_reason": exc.extra.get("error_reason", ""),
            "error_description": f"{exc.message} ({exc.extra.get('error_reason', 'fault')})",
        }

    async def _send_to_user(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request, form=False)
        return await self._answer(request, recorded, self._deliver_to_user, self._api_error)

    async def _send_to_group(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request, form=False)
        return await self._answer(request, recorded, self._deliver_to_group, self._api_error)

    async def _refresh(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request, form=True)
        return await self._answer(request, recorded, self._grant, self._oauth_error)

    # ------------------------------------------------------------------ the API's rules

    def _authorise(self, recorded: RecordedRequest) -> None:
        if not self.tokens.valid(recorded.headers.get("access_token", "")):
            raise ZaloError(-216, "Access token is invalid or expired")

    def _message(self, recorded: RecordedRequest, key: str) -> tuple[str, str, tuple[JSON, ...]]:
        """(recipient id, text, buttons) of a send, checked as Zalo checks them."""
        recipient = recorded.params.get("recipient")
        message = recorded.params.get("message")
        if not isinstance(recipient, dict) or not isinstance(message, dict):
            raise ZaloError(-201, "Parameters are invalid: recipient and message are required")
        to = recipient.get(key)
        text = message.get("text")
        if not isinstance(to, str) or not to:
            raise ZaloError(-201, f"Parameters are invalid: recipient.{key} is required")
        if not isinstance(text, str) or not text:
            raise ZaloError(-201, "Parameters are invalid: message.text is required")
        if len(text) > MAX_TEXT:
            raise ZaloError(-201, f"Parameters are invalid: text exceeds {MAX_TEXT} characters")
        return to, text, _buttons(message.get("attachment"))

    def _deliver_to_user(self, recorded: RecordedRequest) -> JSON:
        self._authorise(recorded)
        user_id, text, buttons = self._message(recorded, "user_id")
        user = self.users.get(user_id)
        if user is None:
            raise ZaloError(-213, "User has not followed the OA")
        if not user.window_open:
            raise ZaloError(-230, "User has not interacted with the OA in the last 7 days")
        sent = self._store("user", user_id, text, buttons)
        quota = {"quota_type": "reply", "remain": "7", "total": "8"}
        return {
            "error": 0,
            "message": "Success",
            "data": {"message_id": sent.message_id, "user_id": user_id, "quota": quota},
        }

    def _deliver_to_group(self, recorded: RecordedRequest) -> JSON:
        self._authorise(recorded)
        group_id, text, buttons = self._message(recorded, "group_id")
        if group_id not in self.groups:
            raise ZaloError(-201, "Parameters are invalid: the OA has no such group")
        if buttons:
            raise ZaloError(-201, "Parameters are invalid: group messages carry no buttons")
        sent = self._store("group", group_id, text, ())
        return {"error": 0, "message": "Success", "data": {"message_id": sent.message_id}}

    def _store(self, kind: str, to: str, text: str, buttons: tuple[JSON, ...]) -> Delivered:
        sent = Delivered(f"oa{next(self._ids):018x}", kind, to, text, buttons, self._clock())
        self.delivered.append(sent)
        return sent

    def _grant(self, recorded: RecordedRequest) -> JSON:
        form = recorded.params
        if recorded.headers.get("secret_key") != self.app_secret:
            raise ZaloError(-14003, "Invalid secret key", {"error_reason": "secret_key"})
        if form.get("app_id") != self.app_id:
            raise ZaloError(-14002, "Invalid app id", {"error_reason": "app_id"})
        if form.get("grant_type") != "refresh_token":
            raise ZaloError(-14001, "Invalid grant type", {"error_reason": "grant_type"})
        access, refresh = self.tokens.refresh(
            str(form.get("refresh_token") or ""), self.access_token_lifetime
        )
        lifetime = int(self.access_token_lifetime)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": str(lifetime) if self.expires_in_as_text else lifetime,
        }

    # ------------------------------------------------------------------ the webhook

    def _timestamp(self) -> str:
        return str(int(self._clock() * 1000))

    def _msg_id(self) -> str:
        return f"{next(self._ids):020x}"

    def text_event(self, user_id: str, text: str) -> JSON:
        """`user_send_text` from a user to the OA (not posted yet)."""
        return self._event("text", user_id, text, None, "recipient.id")

    def image_event(
        self,
        user_id: str,
        caption: str | None,
        group_id: str | None = None,
        *,
        photo: bytes | str | None = None,
        id_field: ev.GroupIdField = "recipient.group_id",
    ) -> JSON:
        """`user_send_image` (or `user_send_group_image`), with a caption or none. `photo`: the
        picture's bytes (put on the CDN) or its URL; by default a placeholder on the CDN."""
        url = photo if isinstance(photo, str) else self.add_photo(photo or PLACEHOLDER)
        return self._event("image", user_id, caption, group_id, id_field, url)

    def group_text_event(
        self,
        group_id: str,
        user_id: str,
        text: str,
        id_field: ev.GroupIdField = "recipient.group_id",
    ) -> JSON:
        """`user_send_group_text` in a GMF group; `id_field`: where the group's id goes."""
        return self._event("text", user_id, text, group_id, id_field)

    def _event(
        self,
        kind: str,
        user_id: str,
        text: str | None,
        group_id: str | None,
        id_field: ev.GroupIdField,
        photo_url: str | None = None,
    ) -> JSON:
        msg_id = self._msg_id()
        if kind == "image":
            assert photo_url is not None
            # Zalo sends a smaller copy's URL beside the picture's: the same bytes here.
            thumbnail = self.media.copy(photo_url)
            body = ev.image_message(msg_id, text, photo_url, thumbnail)
        else:
            body = ev.text_message(msg_id, text or "")
        stamp = self._timestamp()
        if group_id is None:
            event = ev.user_event(
                self.app_id, self.oa_id, f"user_send_{kind}", user_id, body, stamp
            )
            if user_id in self.users:
                self.users[user_id].window_open = True  # writing reopens the 7-day window
        else:
            if user_id not in self.groups[group_id].members:
                raise ValueError(f"{user_id} is not a member of group {group_id}")
            name = f"user_send_group_{kind}"
            event = ev.group_event(
                self.app_id, self.oa_id, name, group_id, user_id, body, stamp, id_field
            )
        self.incoming.append(Incoming(msg_id, user_id, group_id, text, event))
        return event

    def other_event(self, event_name: str, user_id: str) -> JSON:
        return ev.other_event(self.app_id, self.oa_id, event_name, user_id, self._timestamp())

    def signed(
        self, event: JSON, *, signature: Signature = "valid", mac_prefix: bool = False
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers Zalo would post for `event`."""
        body = ev.encode(event)
        headers = {"Content-Type": "application/json"}
        if signature != "none":
            secret = self.oa_secret_key if signature == "valid" else "not-the-secret"
            mac = ev.sign(self.app_id, body, str(event.get("timestamp", "")), secret)
            headers[ev.SIGNATURE_HEADER] = f"mac={mac}" if mac_prefix else mac
        return body, headers

    async def post(self, body: bytes, headers: dict[str, str]) -> int | None:
        """POST raw bytes to the webhook once; the status, or None without an answer."""
        if self.webhook_url is None or self._session is None:
            raise RuntimeError("set webhook_url (and start the emulator) before posting events")
        try:
            async with self._session.post(self.webhook_url, data=body, headers=headers) as r:
                await r.read()
                return r.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def post_event(
        self, event: JSON, *, signature: Signature = "valid", mac_prefix: bool = False
    ) -> int | None:
        """Post `event` once, as Zalo signs it (or with a wrong or no signature)."""
        body, headers = self.signed(event, signature=signature, mac_prefix=mac_prefix)
        status = await self.post(body, headers)
        message = event.get("message")
        msg_id = message.get("msg_id") if isinstance(message, dict) else None
        self.deliveries.append(Delivery(msg_id, str(event.get("event_name")), status))
        self._notify()
        return status

    async def deliver(self, event: JSON, *, mac_prefix: bool = False) -> list[int | None]:
        """Post `event` until answered 200, as Zalo retries (`max_deliveries` at most);
        the statuses of every try."""
        statuses: list[int | None] = []
        delay = self.redelivery_delay
        for _ in range(self.max_deliveries):
            status = await self.post_event(event, mac_prefix=mac_prefix)
            statuses.append(status)
            if status == 200:
                break
            await asyncio.sleep(delay)  # Zalo's pause before redelivering, shortened
            delay *= 2
        return statuses

    async def user_says(self, user_id: str, text: str) -> list[int | None]:
        return await self.deliver(self.text_event(user_id, text))

    async def group_says(
        self,
        group_id: str,
        user_id: str,
        text: str,
        id_field: ev.GroupIdField = "recipient.group_id",
    ) -> list[int | None]:
        return await self.deliver(self.group_text_event(group_id, user_id, text, id_field))

    async def user_sends_image(
        self, user_id: str, caption: str | None = None, *, photo: bytes | str | None = None
    ) -> list[int | None]:
        return await self.deliver(self.image_event(user_id, caption, photo=photo))

    async def group_sends_image(
        self,
        group_id: str,
        user_id: str,
        caption: str | None = None,
        *,
        photo: bytes | str | None = None,
        id_field: ev.GroupIdField = "recipient.group_id",
    ) -> list[int | None]:
        event = self.image_event(user_id, caption, group_id, photo=photo, id_field=id_field)
        return await self.deliver(event)

    async def press(self, user_id: str, message: Delivered, title: str) -> list[int | None]:
        """The user presses a query button of a message they got: Zalo sends its payload
        to the OA as the user's text message."""
        if message.kind != "user" or message.to != user_id:
            raise ValueError("only the user a message went to can press its buttons")
        for button in message.buttons:
            if button.get("title") == title and button.get("type") in QUERY_BUTTONS:
                return await self.user_says(user_id, str(button["payload"]))
        raise ValueError(f"no query button {title!r} under message {message.message_id}")


def _buttons(attachment: object) -> tuple[JSON, ...]:
    if attachment is None:
        return ()
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        raise ZaloError(-201, "Parameters are invalid: attachment must be a template")
    payload = attachment.get("payload")
    buttons = payload.get("buttons") if isinstance(payload, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise ZaloError(-201, f"Parameters are invalid: 1 to {MAX_BUTTONS} buttons")
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") not in BUTTON_TYPES:
            raise ZaloError(-201, "Parameters are invalid: unknown button type")
        title = button.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 100:
            raise ZaloError(-201, "Parameters are invalid: button title of 1 to 100 characters")
        if button["type"] in QUERY_BUTTONS:
            data = button.get("payload")
            if not isinstance(data, str) or not 1 <= len(data) <= 1000:
                raise ZaloError(-201, "Parameters are invalid: query payload of 1-1000 chars")
    return tuple(buttons)
