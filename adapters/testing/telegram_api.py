"""A loopback Telegram Bot API server for tests and benchmarks.

``FakeBotAPI`` speaks the wire protocol python-telegram-bot and aiogram use, keeps the
server-side state a moderation bot depends on (chats, admin rights, stored messages, the
update queue, webhooks) and records every call::

    async with FakeBotAPI(bot_token="123456:TEST-token", bot_username="botkit_test_bot") as api:
        ptb = telegram.Bot(api.bot_token, base_url=f"{api.base_url}/bot")
        aio = aiogram.Bot(api.bot_token, session=AiohttpSession(
            api=TelegramAPIServer.from_base(api.base_url)))

It never leaves loopback: it listens on 127.0.0.1 and refuses webhooks on other hosts.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import ipaddress
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from adapters.testing.telegram_errors import TelegramAPIError, default_description
from adapters.testing.telegram_methods import BotAPIMethods
from adapters.testing.telegram_params import coerce_params, read_params
from adapters.testing.telegram_state import (
    TOKEN_RE,
    Described,
    FloodLimits,
    RecordedCall,
    WebhookConfig,
    WebhookDelivery,
)
from botkit.waiting import cancel_and_wait, event_within

__all__ = ["SECRET_TOKEN_HEADER", "FakeBotAPI"]

log = logging.getLogger(__name__)

JSON = dict[str, Any]
T = TypeVar("T")
Handler = Callable[[dict[str, Any]], Any]

SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]+")
MAX_LONG_POLL_SECONDS = 50


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _Fault:
    method: str  # lower-case method name or "*"
    error: TelegramAPIError
    remaining: int
    when: Callable[[RecordedCall], bool] | None


@dataclass
class _Trouble:
    """A slow or broken connection: a stall before or after the call is carried out, or a
    connection dropped once the call was carried out (the client never hears of it)."""

    method: str
    remaining: int
    when: Callable[[RecordedCall], bool] | None
    seconds: float = 0.0
    accept_first: bool = False
    drop: bool = False


class FakeBotAPI(BotAPIMethods):
    """Telegram Bot API emulator on 127.0.0.1 (aiohttp), with recording and fault injection."""

    def __init__(
        self,
        bot_token: str = "123456:TEST-token",
        bot_username: str = "botkit_test_bot",
        *,
        bot_first_name: str = "Botkit Test",
        host: str = "127.0.0.1",
        port: int = 0,
        can_read_all_group_messages: bool = True,
        privacy_mode: bool = False,
        flood_control: bool = False,
        flood_limits: FloodLimits | None = None,
        first_update_id: int = 1,
        webhook_retry_delay: float = 0.05,
        webhook_max_retry_delay: float = 1.0,
        webhook_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"host must be a loopback address, not {host!r}")
        super().__init__(
            bot_token=bot_token,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            can_read_all_group_messages=can_read_all_group_messages,
            privacy_mode=privacy_mode,
            flood_control=flood_control,
            flood_limits=flood_limits or FloodLimits(),
            first_update_id=first_update_id,
            clock=clock,
        )
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_retry_delay = webhook_retry_delay
        self._webhook_max_retry_delay = webhook_max_retry_delay
        self._webhook_timeout = webhook_timeout
        self._closing = False
        self._poll_generation = 0
        self._faults: list[_Fault] = []
        self._troubles: list[_Trouble] = []
        self.dropped: list[RecordedCall] = []  # calls carried out but never answered
        self._handlers: dict[str, tuple[str, Handler]] = {}
        table: dict[str, Handler] = {
            **self.method_table(),
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }
        for name, handler in table.items():
            self.register_method(name, handler)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeBotAPI:
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
        """Start listening; ``base_url`` is valid afterwards."""
        if self._runner is not None:
            raise RuntimeError("FakeBotAPI is already running")
        self._changed = asyncio.Event()
        self._closing = False
        self._started_at = self._clock()
        app = web.Application(middlewares=[self._json_errors], client_max_size=64 * 1024**2)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        # handler_cancellation: a long poll whose client went away must not linger
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._session = aiohttp.ClientSession(
            trust_env=False, timeout=aiohttp.ClientTimeout(total=self._webhook_timeout)
        )
        if self.webhook is not None:
            self._start_webhook_task()

    async def close(self) -> None:
        """Stop the server, webhook delivery and wake every pending long poll."""
        self._closing = True
        self._notify()
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            await cancel_and_wait(task)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._port = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not running; use 'async with' or await start()")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (aiogram: ``TelegramAPIServer.from_base(base_url)``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """PTB's ``base_url``: ``{base_url}/bot`` (PTB appends the token)."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """PTB's ``base_file_url``: ``{base_url}/file/bot``."""
        return f"{self.base_url}/file/bot"

    def method_url(self, method: str) -> str:
        """Full URL of ``method`` for raw HTTP clients."""
        return f"{self.api_url}{self.bot_token}/{method}"

    # ------------------------------------------------------------------ configuration

    def register_method(self, name: str, handler: Handler) -> None:
        """Serve ``name`` (case-insensitive) with ``handler(params) -> result``.

        The handler may be async and may raise ``TelegramAPIError``; use it to stub methods
        the emulator does not implement.
        """
        self._handlers[name.lower()] = (name, handler)

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
        when: Callable[[RecordedCall], bool] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any) fail with ``error_code``.

        A 429 carries ``parameters.retry_after`` (default 1); ``migrate_to_chat_id`` adds that
        parameter. ``when`` restricts the fault to matching calls.
        """
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        if error_code == 429 and retry_after is None:
            retry_after = 1
        parameters: JSON = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if description is None:
            if migrate_to_chat_id is not None:
                description = "Bad Request: group chat was upgraded to a supergroup chat"
            else:
                description = default_description(error_code, retry_after)
        error = TelegramAPIError(error_code, description, parameters)
        self._faults.append(_Fault(method.lower(), error, times, when))

    def stall_next(
        self,
        method: str,
        seconds: float,
        *,
        accept_first: bool = False,
        times: int = 1,
        when: Callable[[RecordedCall], bool] | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ``seconds`` late.

        By default the call waits before it is carried out: a client that gives up meanwhile
        changed nothing. With ``accept_first`` it is carried out at once and only the answer
        is late: a client that gives up does not know its message was sent.
        """
        self._troubles.append(
            _Trouble(method.lower(), times, when, seconds=seconds, accept_first=accept_first)
        )

    def drop_next(
        self,
        method: str,
        *,
        times: int = 1,
        when: Callable[[RecordedCall], bool] | None = None,
    ) -> None:
        """Carry out the next ``times`` calls of ``method``, then close the connection
        without answering (the client sees a dropped connection, not the result)."""
        self._troubles.append(_Trouble(method.lower(), times, when, drop=True))

    def _take_trouble(self, call: RecordedCall) -> _Trouble | None:
        for trouble in self._troubles:
            if trouble.method not in ("*", call.method.lower()):
                continue
            if trouble.when is not None and not trouble.when(call):
                continue
            trouble.remaining -= 1
            if trouble.remaining <= 0:
                self._troubles.remove(trouble)
            return trouble
        return None

    def _take_fault(self, call: RecordedCall) -> TelegramAPIError | None:
        for fault in self._faults:
            if fault.method not in ("*", call.method.lower()):
                continue
            if fault.when is not None and not fault.when(call):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault.error
        return None

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Recorded calls of ``method`` (case-insensitive), oldest first."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def sent_messages(
        self, chat_id: int | None = None, *, include_deleted: bool = False
    ) -> list[JSON]:
        """Messages the bot sent (current state after edits), in sending order."""
        result: list[JSON] = []
        for sent_chat, message_id in self.sent_log:
            if chat_id is not None and sent_chat != chat_id:
                continue
            record = self.chats[sent_chat]
            message = record.messages.get(message_id)
            if message is None and include_deleted:
                message = record.deleted.get(message_id)
            if message is not None:
                result.append(copy.deepcopy(message))
        return result

    def sent_as_first(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent, as each first arrived (edits not applied), in sending order."""
        return [
            copy.deepcopy(self.first_versions[key])
            for key in self.sent_log
            if chat_id is None or key[0] == chat_id
        ]

    def messages(self, chat_id: int) -> list[JSON]:
        """Every message the server holds for ``chat_id`` (incoming and sent), by id."""
        record = self.chat(chat_id)
        return [copy.deepcopy(record.messages[i]) for i in sorted(record.messages)]

    def deleted_messages(self, chat_id: int) -> list[JSON]:
        """Messages deleted through deleteMessage(s), in deletion order."""
        return [copy.deepcopy(m) for m in self.chat(chat_id).deleted.values()]

    @property
    def pending_update_count(self) -> int:
        """Queued updates the current allowed_updates would deliver."""
        return sum(1 for update in self.pending_updates if self._update_allowed(update))

    # ------------------------------------------------------------------ waiting

    async def wait_until(
        self,
        condition: Callable[[], T | None],
        timeout: float = 5.0,
        *,
        description: str = "condition",
    ) -> T:
        """Re-check ``condition`` on every state change until it returns a truthy value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = condition()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{description} not met within {timeout}s")
            await self._wait_changed(remaining)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> RecordedCall:
        """First call of ``method`` at index >= ``since`` in ``calls`` matching ``predicate``.

        Returns at once when it was already recorded; pass ``since=len(api.calls)`` to wait
        for a new one.
        """
        wanted = method.lower()

        def find() -> RecordedCall | None:
            for call in self.calls[since:]:
                if call.method.lower() == wanted and (predicate is None or predicate(call)):
                    return call
            return None

        try:
            return await self.wait_until(find, timeout)
        except TimeoutError:
            seen = [call.method for call in self.calls[since:]]
            matching = " matching the predicate" if predicate else ""
            raise TimeoutError(
                f"no {method} call{matching} within {timeout}s; calls seen: {seen}"
            ) from None

    async def wait_for_confirmation(self, update_id: int, timeout: float = 5.0) -> None:
        """Wait until the bot acknowledged ``update_id``.

        Polling: a later getUpdates offset passed it; webhook: the webhook answered 2xx.
        """
        await self.wait_until(
            lambda: update_id in self._confirmed_ids,
            timeout,
            description=f"confirmation of update {update_id}",
        )

    async def _wait_changed(self, timeout: float | None) -> None:
        event = self._changed
        await event_within(event, timeout)

    # ------------------------------------------------------------------ HTTP

    @staticmethod
    def _reply(body: JSON, status: int = 200) -> web.Response:
        return web.json_response(body, status=status, dumps=_dumps)

    def _error(self, error: TelegramAPIError) -> web.Response:
        return self._reply(error.envelope(), status=error.error_code)

    @web.middleware
    async def _json_errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            # unmatched paths answer with an envelope too, like api.telegram.org
            return self._error(TelegramAPIError(exc.status, exc.reason))

    def _auth_error(self, token: str) -> TelegramAPIError | None:
        if TOKEN_RE.fullmatch(token) is None:
            return TelegramAPIError(404, "Not Found")  # Telegram: malformed token -> 404
        if token != self.bot_token:
            return TelegramAPIError(401, "Unauthorized")
        return None

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.method not in ("GET", "POST"):
            return self._error(TelegramAPIError(405, "Method Not Allowed"))
        auth_error = self._auth_error(request.match_info["token"])
        if auth_error is not None:
            return self._error(auth_error)
        name = request.match_info["method"]
        entry = self._handlers.get(name.lower())
        parse_error: TelegramAPIError | None = None
        try:
            params, content_type = await read_params(request)
        except TelegramAPIError as exc:
            params, content_type, parse_error = {}, request.content_type, exc
        call = RecordedCall(
            method=entry[0] if entry else name,
            params=params,
            at=self._clock(),
            http_method=request.method,
            content_type=content_type,
        )
        self.calls.append(call)
        self._notify()
        if parse_error is not None:
            return self._error(parse_error)
        if self.logged_out:
            return self._error(TelegramAPIError(400, "Logged out"))
        if entry is None:
            return self._error(TelegramAPIError(404, "Not Found"))
        fault = self._take_fault(call)
        if fault is not None:
            return self._error(fault)
        trouble = self._take_trouble(call)
        if trouble is not None and trouble.seconds and not trouble.accept_first:
            await asyncio.sleep(trouble.seconds)  # a client giving up meanwhile changed nothing
        try:
            result = await self._invoke(entry[1], params)
        except TelegramAPIError as exc:
            return self._error(exc)
        except Exception as exc:  # an emulator bug: keep it visible to the test
            log.exception("fake Bot API failed in %s", call.method)
            self.server_errors.append(exc)
            return self._error(TelegramAPIError(500, f"Internal Server Error: {exc!r}"))
        if trouble is not None and trouble.accept_first:
            await asyncio.sleep(trouble.seconds)  # done, but the answer is late
        if trouble is not None and trouble.drop:
            self.dropped.append(call)
            if request.transport is not None:
                request.transport.close()  # done, and the client never hears of it
        if isinstance(result, Described):
            return self._reply(
                {"ok": True, "result": result.result, "description": result.description}
            )
        return self._reply({"ok": True, "result": result})

    @staticmethod
    async def _invoke(handler: Handler, params: dict[str, Any]) -> Any:
        result = handler(params)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        auth_error = self._auth_error(request.match_info["token"])
        if auth_error is not None:
            return self._error(auth_error)
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None:
            return self._error(TelegramAPIError(404, "Not Found"))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # ------------------------------------------------------------------ getUpdates

    def _ensure_no_webhook(self) -> None:
        if self.webhook is not None:
            raise TelegramAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    async def _get_updates(self, params: dict[str, Any]) -> list[JSON]:
        self._ensure_no_webhook()
        self._set_allowed_updates(params.get("allowed_updates"))
        self._confirm(int(params.get("offset") or 0))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(int(params.get("timeout") or 0), 0), MAX_LONG_POLL_SECONDS)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting gets 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise TelegramAPIError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            self._ensure_no_webhook()
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return copy.deepcopy(batch)
            await self._wait_changed(remaining)

    # ------------------------------------------------------------------ webhooks

    def _set_webhook(self, params: dict[str, Any]) -> Described:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TelegramAPIError(400, "Bad Request: invalid webhook URL specified")
        if not _is_loopback(parts.hostname):
            # deliberate deviation: the real server needs public HTTPS; tests stay on loopback
            raise TelegramAPIError(
                400,
                f"Bad Request: bad webhook: the emulator only delivers to loopback hosts, "
                f"not {parts.hostname!r}",
            )
        secret = params.get("secret_token")
        secret = None if secret in (None, "") else str(secret)
        if secret is not None:
            if len(secret) > 256:
                raise TelegramAPIError(400, "Bad Request: secret token is too long")
            if not _SECRET_RE.fullmatch(secret):
                raise TelegramAPIError(
                    400, "Bad Request: secret token contains unallowed characters"
                )
        max_connections = int(params.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise TelegramAPIError(400, "Bad Request: invalid max_connections specified")
        self._set_allowed_updates(params.get("allowed_updates"))
        if params.get("drop_pending_updates"):
            self.pending_updates.clear()
        already = self.webhook is not None and self.webhook.url == url
        self.webhook = WebhookConfig(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            has_custom_certificate=params.get("certificate") is not None,
            ip_address=params.get("ip_address"),
        )
        self._start_webhook_task()
        self._notify()
        return Described(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, params: dict[str, Any]) -> Described:
        if params.get("drop_pending_updates"):
            self.pending_updates.clear()
        existed = self.webhook is not None
        self.webhook = None
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
        self._notify()
        return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _get_webhook_info(self, params: dict[str, Any]) -> JSON:
        config = self.webhook
        info: JSON = {
            "url": config.url if config else "",
            "has_custom_certificate": bool(config and config.has_custom_certificate),
            "pending_update_count": self.pending_update_count,
        }
        if config is not None:
            info["max_connections"] = config.max_connections
            if config.ip_address:
                info["ip_address"] = config.ip_address
            if config.last_error_date is not None:
                info["last_error_date"] = config.last_error_date
                info["last_error_message"] = config.last_error_message
            if self.allowed_updates:
                info["allowed_updates"] = list(self.allowed_updates)
        return info

    def _start_webhook_task(self) -> None:
        if self._session is None:
            return  # not running yet; start() picks the webhook up
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(
                self._deliver_webhooks(), name="fake-bot-api-webhook"
            )

    async def _deliver_webhooks(self) -> None:
        delay = self._webhook_retry_delay
        while not self._closing:
            config = self.webhook
            if config is None:
                return
            batch = self._deliverable(1)
            if not batch:
                await self._wait_changed(None)
                continue
            update = batch[0]
            status, error, reply = await self._post_update(config, update)
            self.webhook_deliveries.append(
                WebhookDelivery(
                    update_id=int(update["update_id"]),
                    url=config.url,
                    status=status,
                    error=error,
                    secret_token_sent=config.secret_token is not None,
                    at=self._clock(),
                )
            )
            if error is None:
                delay = self._webhook_retry_delay
                if update in self.pending_updates:
                    self.pending_updates.remove(update)
                self._confirmed_ids.add(int(update["update_id"]))
                self._notify()
                if reply is not None:
                    await self._run_webhook_reply(reply)
                continue
            config.last_error_date = int(self._clock())
            config.last_error_message = error
            self._notify()
            await asyncio.sleep(delay)  # retry backoff, as Telegram retries failed deliveries
            delay = min(delay * 2, self._webhook_max_retry_delay)

    async def _post_update(
        self, config: WebhookConfig, update: JSON
    ) -> tuple[int | None, str | None, JSON | None]:
        """POST one update; returns (HTTP status, error message or None, method reply)."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if config.secret_token is not None:
            headers[SECRET_TOKEN_HEADER] = config.secret_token
        try:
            async with self._session.post(
                config.url, data=_dumps(update).encode("utf-8"), headers=headers
            ) as response:
                body = await response.read()
                status, reason = response.status, response.reason
                is_json = response.content_type == "application/json"
        except TimeoutError:
            return None, "Read timeout expired", None
        except (aiohttp.ClientError, OSError) as exc:
            return None, f"Connection failed: {exc}", None
        if not 200 <= status < 300:
            return status, f"Wrong response from the webhook: {status} {reason}", None
        reply: JSON | None = None
        if is_json and body:
            with contextlib.suppress(ValueError):
                decoded = json.loads(body)
                if isinstance(decoded, dict) and isinstance(decoded.get("method"), str):
                    reply = decoded
        return status, None, reply

    async def _run_webhook_reply(self, reply: JSON) -> None:
        """Execute a method the webhook returned in its response body, as Telegram does."""
        body = dict(reply)
        name = str(body.pop("method"))
        entry = self._handlers.get(name.lower())
        params = coerce_params(body, {})
        self.calls.append(
            RecordedCall(
                method=entry[0] if entry else name,
                params=params,
                at=self._clock(),
                http_method="WEBHOOK-REPLY",
                content_type="application/json",
            )
        )
        self._notify()
        if entry is None:
            return
        # errors of webhook replies never reach the bot
        with contextlib.suppress(TelegramAPIError):
            await self._invoke(entry[1], params)

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not running"
        return f"<FakeBotAPI @{self.bot_username} {where}>"
