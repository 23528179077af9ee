"""A loopback Zalo Bot API server for tests: `FakeZaloBotAPI`.

It speaks the API as the Zalo Bot Platform docs describe it: `POST /bot<TOKEN>/<method>` with
a JSON body, `{"ok": true, "result": …}` or `{"ok": false, "error_code", "description"}`;
getUpdates hands out ONE update per call and forgets it (no offset), an empty long poll is
error 408, getUpdates fails while a webhook is set, and webhook posts carry
`X-Bot-Api-Secret-Token`. Where Zalo's behaviour is not documented the emulator can play
both variants: 408 as the HTTP status or only in the body (`empty_poll`), form bodies
accepted or refused (`accept_form`). Codes the docs do not give (409 for getUpdates under a
webhook, 400 for an unknown chat, 403 for a user who blocked the bot) are the emulator's.

It keeps the messages delivered to each chat, can push updates (to a long poll or as webhook
posts), serves the pictures of image updates at `GET /media/<name>` as Zalo's CDN would
(`zalo_media.py`: `add_photo`, `photo_update`; gone, failing, slow or redirected) and injects
faults: a call failing with an error code, answering late, or carried out and then dropped
without an answer. It listens on 127.0.0.1 and posts only to loopback.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from adapters.testing.media import PLACEHOLDER, ROUTE, MediaShelf
from adapters.testing.zalo_bot_state import (
    Call,
    Fault,
    SentMessage,
    Trouble,
    Webhook,
    WebhookPost,
    ZaloAPIError,
    take,
)
from adapters.testing.zalo_bot_updates import TEXT, image_update, new_id
from botkit.waiting import cancel_and_wait, event_within

log = logging.getLogger(__name__)

T = TypeVar("T")
JSON = dict[str, Any]
Handler = Callable[[JSON], Awaitable[Any]]

SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT = 2000
MAX_POLL_SECONDS = 60
_NO_RESULT = object()  # sendChatAction answers `{"ok": true}` without a result


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _event_id(update: JSON) -> str:
    message = update.get("message") or {}
    return f"{update.get('event_name', TEXT)}:{message.get('message_id')}"


class FakeZaloBotAPI:
    """The Zalo Bot API on 127.0.0.1, with recording and fault injection."""

    def __init__(
        self,
        token: str = "1459232241454765289:TEST-zalo-secret",
        *,
        account_name: str = "bot.botkit_test",
        host: str = "127.0.0.1",
        port: int = 0,
        empty_poll: Literal["http", "body"] = "http",
        accept_form: bool = False,
        webhook_retry_delay: float = 0.05,
        webhook_max_retry_delay: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not _loopback(host):
            raise ValueError(f"host must be a loopback address, not {host!r}")
        self.token = token
        self.account_name = account_name
        self.host = host
        self.empty_poll = empty_poll
        self.accept_form = accept_form
        self._requested_port = port
        self._retry_delay = webhook_retry_delay
        self._max_retry_delay = webhook_max_retry_delay
        self._clock = clock
        self.calls: list[Call] = []
        self.users: dict[str, str] = {}  # id → display name: chats the bot can write to
        self.blocked: set[str] = set()
        self.delivered: list[SentMessage] = []
        self.pending: deque[JSON] = deque()  # updates not yet handed out
        self.consumed: list[JSON] = []  # handed out by getUpdates (Zalo forgets them)
        self.lost: list[JSON] = []  # handed out on a connection that dropped
        self.webhook: Webhook | None = None
        self.webhook_posts: list[WebhookPost] = []
        self._faults: list[Fault] = []
        self._troubles: list[Trouble] = []
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._closing = False
        self.media = MediaShelf(lambda: self.base_url)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeZaloBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024**2)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get(ROUTE, self.media.handle)
        # handler_cancellation: a long poll whose client went away must not linger
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self._requested_port).start()
        self._port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession(
            trust_env=False, timeout=aiohttp.ClientTimeout(total=10)
        )

    async def close(self) -> None:
        self._closing = True
        self._notify()
        await self._stop_webhook_task()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """The adapter's `api_base_url`."""
        if self._port is None:
            raise RuntimeError("FakeZaloBotAPI is not running")
        return f"http://{self.host}:{self._port}"

    @property
    def bot_id(self) -> str:
        return self.token.split(":", 1)[0]

    # ------------------------------------------------------------------ the test's side

    def add_user(self, user_id: str, name: str) -> None:
        """A user who has written to the bot: the bot may write to them."""
        self.users[user_id] = name

    def block(self, user_id: str) -> None:
        """The user blocked the bot: sends to them fail with 403."""
        self.blocked.add(user_id)

    def add_photo(self, data: bytes = PLACEHOLDER, **options: Any) -> str:
        """A picture on Zalo's CDN (here: this server); its URL. `options`: `MediaShelf.add`'s."""
        return self.media.add(data, **options)

    def photo_update(
        self,
        sender: JSON,
        caption: str | None = None,
        *,
        photo: bytes | str = PLACEHOLDER,
        **options: Any,
    ) -> JSON:
        """`message.image.received` from `sender` (not pushed yet); `photo`: the picture's bytes
        (put on the CDN) or its URL."""
        url = photo if isinstance(photo, str) else self.add_photo(photo)
        return image_update(sender, caption, photo_url=url, **options)

    def push(self, update: JSON) -> str:
        """Queue an update for getUpdates or the webhook; returns its event id."""
        message = update.get("message")
        if isinstance(message, dict):
            chat = message.get("chat")
            sender = message.get("from")
            if isinstance(chat, dict) and isinstance(sender, dict) and chat.get("id"):
                self.users.setdefault(str(chat["id"]), str(sender.get("display_name", "")))
        self.pending.append(copy.deepcopy(update))
        self._notify()
        return _event_id(update)

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        in_body: bool = False,
        retry_after: int | None = None,
        times: int = 1,
        when: Callable[[Call], bool] | None = None,
    ) -> None:
        """The next `times` calls of `method` ("*": any) fail; `in_body`: HTTP 200, the error
        only in the envelope."""
        error = ZaloAPIError(
            error_code, description, http_status=200 if in_body else None, retry_after=retry_after
        )
        self._faults.append(Fault(method, error, times, when))

    def stall_next(
        self,
        method: str,
        seconds: float,
        *,
        accept_first: bool = False,
        times: int = 1,
        when: Callable[[Call], bool] | None = None,
    ) -> None:
        """Answer `seconds` late: by default before the call is carried out (a client that
        gives up changed nothing); `accept_first`: carried out at once, only the answer late."""
        self._troubles.append(
            Trouble(method, times, when, seconds=seconds, accept_first=accept_first)
        )

    def drop_next(
        self, method: str, *, times: int = 1, when: Callable[[Call], bool] | None = None
    ) -> None:
        """Carry the call out, then close the connection without an answer."""
        self._troubles.append(Trouble(method, times, when, drop=True))

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, chat_id: str) -> list[SentMessage]:
        """What the chat received from the bot, in order."""
        return [m for m in self.delivered if m.chat_id == chat_id]

    def texts(self, chat_id: str) -> list[str]:
        return [m.text for m in self.messages(chat_id)]

    async def wait_until(
        self, condition: Callable[[], T | None], timeout: float = 5.0, *, what: str = "condition"
    ) -> T:
        """Check `condition` again on every change of the emulator's state."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                result = condition()
                if result:
                    return result
                await changed.wait()

    async def wait_for_message(
        self,
        chat_id: str,
        where: Callable[[SentMessage], bool] = lambda m: True,
        *,
        skip: int = 0,
        timeout: float = 10.0,
    ) -> SentMessage:
        """The chat's next delivered message matching `where`, after `skip` such ones."""

        def found() -> SentMessage | None:
            matching = [m for m in self.messages(chat_id) if where(m)]
            return matching[skip] if len(matching) > skip else None

        try:
            return await self.wait_until(found, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no message to {chat_id} as wanted within {timeout} s; it holds "
                f"{self.texts(chat_id)!r}"
            ) from None

    async def wait_for_call(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        *,
        since: int = 0,
        timeout: float = 10.0,
    ) -> Call:
        def found() -> Call | None:
            return next((c for c in self.calls[since:] if c.method == method and where(c)), None)

        return await self.wait_until(found, timeout)

    def _notify(self) -> None:
        # Waiters hold the old event: set it and give newcomers a fresh one.
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(ZaloAPIError(401, "Unauthorized: invalid bot token"))
        if request.method != "POST":
            return _error(ZaloAPIError(405, "Method Not Allowed: every method is a POST"))
        method = request.match_info["method"]
        try:
            params, content_type = await self._params(request)
        except ZaloAPIError as exc:
            self._record(Call(method, {}, request.content_type, self._clock()))
            return _error(exc)
        call = Call(method, params, content_type, self._clock())
        self._record(call)
        handler = self._handlers.get(method)
        if handler is None:
            return _error(ZaloAPIError(404, f"Not Found: no method {method}"))
        fault = take(self._faults, call)
        if fault is not None:
            return _error(fault.error)
        trouble: Trouble | None = take(self._troubles, call)
        if trouble is not None and trouble.seconds and not trouble.accept_first:
            await asyncio.sleep(trouble.seconds)
        try:
            result = await handler(params)
        except ZaloAPIError as exc:
            return _error(exc)
        if trouble is not None and trouble.accept_first:
            await asyncio.sleep(trouble.seconds)  # carried out; only the answer is late
        if trouble is not None and trouble.drop:
            if method == "getUpdates" and result is not None:
                self.lost.append(result)  # Zalo has forgotten it: at-most-once
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never reaches the client
        body: JSON = {"ok": True} if result is _NO_RESULT else {"ok": True, "result": result}
        return web.json_response(body, dumps=_dumps)

    async def _params(self, request: web.Request) -> tuple[JSON, str]:
        raw = await request.read()
        content_type = request.content_type
        if not raw:
            return {}, content_type
        if content_type == "application/json":
            try:
                data = json.loads(raw)
            except ValueError:
                raise ZaloAPIError(400, "Bad Request: the body is not JSON") from None
            if not isinstance(data, dict):
                raise ZaloAPIError(400, "Bad Request: the body must be a JSON object")
            return data, content_type
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # python-zalo-bot sends forms; whether Zalo accepts them is not documented.
            if not self.accept_form:
                raise ZaloAPIError(400, "Bad Request: the body must be JSON")
            form = await request.post()
            return {k: str(v) for k, v in form.items()}, content_type
        raise ZaloAPIError(400, f"Bad Request: unsupported content type {content_type}")

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._notify()

    # ------------------------------------------------------------------ methods

    async def _get_me(self, params: JSON) -> JSON:
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def _get_updates(self, params: JSON) -> JSON | None:
        try:
            timeout = min(max(float(params.get("timeout", 30)), 0.0), MAX_POLL_SECONDS)
        except (TypeError, ValueError):
            raise ZaloAPIError(400, "Bad Request: timeout must be a number") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.webhook is not None:
                raise ZaloAPIError(409, "Conflict: a webhook is set; call deleteWebhook first")
            if self.pending:
                update = self.pending.popleft()  # handed out once: there is no offset
                self.consumed.append(update)
                self._notify()
                return copy.deepcopy(update)
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                status = 408 if self.empty_poll == "http" else 200
                raise ZaloAPIError(408, "Request timeout", http_status=status)
            changed = self._changed
            await event_within(changed, remaining)

    async def _set_webhook(self, params: JSON) -> JSON:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ZaloAPIError(400, "Bad Request: url must be an HTTPS URL")
        if not _loopback(parts.hostname):
            # Deliberate deviation: Zalo wants public HTTPS; the emulator posts to loopback only.
            raise ZaloAPIError(400, "Bad Request: the emulator posts only to loopback hosts")
        if not 8 <= len(secret) <= 256:
            raise ZaloAPIError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = Webhook(url, secret, int(self._clock() * 1000))
        await self._stop_webhook_task()
        self._webhook_task = asyncio.get_running_loop().create_task(self._deliver())
        self._notify()
        return {"url": url, "updated_at": self.webhook.updated_at}

    async def _delete_webhook(self, params: JSON) -> JSON:
        self.webhook = None
        await self._stop_webhook_task()
        self._notify()
        return {"url": "", "updated_at": int(self._clock() * 1000)}

    async def _get_webhook_info(self, params: JSON) -> JSON:
        hook = self.webhook
        return {"url": hook.url if hook else "", "updated_at": hook.updated_at if hook else 0}

    async def _send_message(self, params: JSON) -> JSON:
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            raise ZaloAPIError(400, f"Bad Request: text must be 1-{MAX_TEXT} characters")
        return self._deliver_to(self._chat(params), text, "sendMessage")

    async def _send_photo(self, params: JSON) -> JSON:
        if not params.get("photo"):
            raise ZaloAPIError(400, "Bad Request: photo is required")
        caption = str(params.get("caption") or "")
        return self._deliver_to(self._chat(params), caption, "sendPhoto")

    async def _send_sticker(self, params: JSON) -> JSON:
        if not params.get("sticker"):
            raise ZaloAPIError(400, "Bad Request: sticker is required")
        return self._deliver_to(self._chat(params), "", "sendSticker")

    async def _send_chat_action(self, params: JSON) -> object:
        self._chat(params)
        if params.get("action") not in ("typing", "upload_photo"):
            raise ZaloAPIError(400, "Bad Request: unknown action")
        return _NO_RESULT

    def _chat(self, params: JSON) -> str:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, str | int) or not str(chat_id):
            raise ZaloAPIError(400, "Bad Request: chat_id is required")
        chat = str(chat_id)
        if chat not in self.users:
            raise ZaloAPIError(400, "Bad Request: chat not found")
        if chat in self.blocked:
            raise ZaloAPIError(403, "Forbidden: the user has blocked the bot")
        return chat

    def _deliver_to(self, chat_id: str, text: str, method: str) -> JSON:
        date = int(self._clock() * 1000)
        sent = SentMessage(chat_id, new_id(), date, text, method)
        self.delivered.append(sent)
        self._notify()
        return {"message_id": sent.message_id, "date": date}

    # ------------------------------------------------------------------ webhook posts

    async def _deliver(self) -> None:
        """Post pending updates to the webhook one by one, retrying failures with back-off
        (Zalo's retry policy is not documented)."""
        delay = self._retry_delay
        while not self._closing and self.webhook is not None:
            if not self.pending:
                await self._changed.wait()
                continue
            hook, update = self.webhook, self.pending[0]
            status, error = await self._post(hook, update)
            self.webhook_posts.append(WebhookPost(_event_id(update), status, error, self._clock()))
            if error is None:
                if self.pending and self.pending[0] is update:
                    self.pending.popleft()
                delay = self._retry_delay
                self._notify()
                continue
            self._notify()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_retry_delay)

    async def _post(self, hook: Webhook, update: JSON) -> tuple[int | None, str | None]:
        assert self._session is not None
        headers = {"Content-Type": "application/json", SECRET_HEADER: hook.secret_token}
        try:
            async with self._session.post(
                hook.url, data=_dumps(update).encode(), headers=headers
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            await cancel_and_wait(task)

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not running"
        return f"<FakeZaloBotAPI {self.account_name} {where}>"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _error(error: ZaloAPIError) -> web.Response:
    return web.json_response(error.envelope(), status=error.http_status, dumps=_dumps)
