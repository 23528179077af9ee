"""Library-free parts shared by the python-telegram-bot and aiogram adapters.

Settings, command and button parsing, membership changes, text limits and the answers to
button presses. Nothing here imports a Telegram library, so either adapter can use it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiolimiter import AsyncLimiter

from botkit.config import AdapterSettings, ConfigError
from botkit.domain.commands import COMMANDS
from botkit.outbound import Button

log = logging.getLogger(__name__)

DEFAULT_API = "https://api.telegram.org"
OFFICER_COMMANDS = frozenset(COMMANDS)
SETUP_COMMAND = "setup"
# Buttons botkit puts under messages: the alert lifecycle, and picking a group's commune.
BUTTON_ACTIONS = frozenset({"ack", "confirm", "false", "resolve", SETUP_COMMAND})

# Updates botkit needs; chat_member is left out (it needs admin rights and is not used).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")

# Methods that post a message into a chat; these are paced per chat.
PACED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendAudio",
        "sendVoice",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)

PACE_MARGIN = 1.1  # pace 10% under each limit: Telegram counts arrivals, not departures

MAX_MESSAGE_UTF16 = 4096  # Telegram's limit for one text message, in UTF-16 code units
MAX_CALLBACK_ANSWER = 200
MAX_CALLBACK_DATA_BYTES = 64
BUTTONS_PER_ROW = 2

# Shown to a group member who is not an admin and tries /setup. Core texts cover the rest.
SETUP_ADMIN_ONLY = "Xin lỗi, chỉ quản trị viên của nhóm mới gắn được nhóm với xã/phường (/setup)."

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)
_CALLBACK = re.compile(r"^([a-z_]{1,20}):(.{0,40})$", re.DOTALL)
_CALLBACK_REF = "cb"

JOINED_STATUSES = frozenset({"member", "administrator", "creator"})
ADMIN_STATUSES = frozenset({"administrator", "creator"})


class TelegramConfigError(ConfigError):
    """An `[adapters.<name>]` setting is missing or wrong; the message names it."""


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """Validated settings of one Telegram adapter (either library)."""

    name: str
    token: str
    api_base_url: str = DEFAULT_API
    mode: Literal["polling", "webhook"] = "polling"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_path: str = "/telegram"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    poll_timeout: int = 25
    overall_per_second: float = 30.0
    group_per_minute: float = 20.0
    chat_per_second: float = 1.0
    max_retries: int = 2
    max_retry_after: float = 5.0
    max_text_chars: int = 16_384
    callback_answer_seconds: float = 10.0

    @property
    def token_id(self) -> str:
        """The bot id part of the token: safe to log, unlike the token."""
        return self.token.split(":", 1)[0]

    @classmethod
    def from_adapter(
        cls,
        name: str,
        settings: AdapterSettings,
        environ: Mapping[str, str] | None = None,
        *,
        require_token: bool = True,
    ) -> TelegramSettings:
        """Read and check `[adapters.<name>]`; an embedded adapter uses its host's token."""
        env = os.environ if environ is None else environ
        key = f"adapters.{name}"
        token_env = _env_name(
            settings.option("token_env", "BOTKIT_TELEGRAM_TOKEN"), key, "token_env"
        )
        token = env.get(token_env, "").strip()
        if not require_token:
            token = token or "embedded:host-token"
        if not token:
            raise TelegramConfigError(
                f"{key}.token_env: environment variable {token_env} is not set; "
                "put the bot token from @BotFather in it"
            )
        if ":" not in token:
            raise TelegramConfigError(
                f"{key}.token_env: {token_env} does not hold a bot token (expected '<id>:<secret>')"
            )
        mode = settings.option("mode", "polling")
        if mode not in ("polling", "webhook"):
            raise TelegramConfigError(f"{key}.mode = {mode!r}: must be 'polling' or 'webhook'")
        base = str(settings.option("api_base_url", DEFAULT_API)).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise TelegramConfigError(f"{key}.api_base_url = {base!r}: must be an http(s) URL")
        path = str(settings.option("webhook_path", "/telegram"))
        if not path.startswith("/"):
            path = "/" + path
        url = settings.option("webhook_url")
        secret: str | None = None
        secret_env = settings.option("webhook_secret_env")
        if mode == "webhook":
            if not url:
                raise TelegramConfigError(
                    f"{key}.webhook_url is required in webhook mode (the public HTTPS address "
                    "Telegram posts to)"
                )
            if not secret_env:
                raise TelegramConfigError(
                    f"{key}.webhook_secret_env is required in webhook mode, so that forged "
                    "updates are refused"
                )
            secret_env = _env_name(secret_env, key, "webhook_secret_env")
            secret = env.get(secret_env, "").strip()
            if not secret:
                raise TelegramConfigError(
                    f"{key}.webhook_secret_env: environment variable {secret_env} is not set"
                )
            if not _SECRET.match(secret):
                raise TelegramConfigError(
                    f"{key}.webhook_secret_env: {secret_env} must be 1-256 characters of "
                    "A-Z, a-z, 0-9, _ and - (Telegram's rule for secret tokens)"
                )
        return cls(
            name=name,
            token=token,
            api_base_url=base,
            mode=mode,
            webhook_listen=str(settings.option("webhook_listen", "127.0.0.1")),
            webhook_port=_int(settings, key, "webhook_port", 8443, 1, 65535),
            webhook_path=path,
            webhook_url=str(url) if url else None,
            webhook_secret=secret,
            poll_timeout=_int(settings, key, "poll_timeout", 25, 0, 50),
            overall_per_second=_number(settings, key, "rate_overall_per_second", 30.0, 1, 1000),
            group_per_minute=_number(settings, key, "rate_group_per_minute", 20.0, 0, 1000),
            chat_per_second=_number(settings, key, "rate_chat_per_second", 1.0, 0, 100),
            max_retries=_int(settings, key, "max_retries", 2, 0, 20),
            # Longer pauses go back to the outbox, which retries after them: a send never
            # sleeps long inside the adapter.
            max_retry_after=_number(settings, key, "max_retry_after", 5.0, 0, 3600),
            max_text_chars=_int(settings, key, "max_text_chars", 16_384, 256, 1_000_000),
            callback_answer_seconds=_number(
                settings, key, "callback_answer_seconds", 10.0, 0.1, 60
            ),
        )


def _env_name(value: object, key: str, option: str) -> str:
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise TelegramConfigError(
            f"{key}.{option} = {value!r}: must name an environment variable (A-Z, 0-9, _), "
            "not hold a secret"
        )
    return value


def _number(
    settings: AdapterSettings, key: str, option: str, default: float, low: float, high: float
) -> float:
    raw = settings.option(option, default)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise TelegramConfigError(f"{key}.{option} = {raw!r}: not a number")
    try:
        value = float(raw)
    except ValueError:
        raise TelegramConfigError(f"{key}.{option} = {raw!r}: not a number") from None
    if not low <= value <= high:
        raise TelegramConfigError(f"{key}.{option} = {raw!r}: must be between {low} and {high}")
    return value


def _int(
    settings: AdapterSettings, key: str, option: str, default: int, low: int, high: int
) -> int:
    value = _number(settings, key, option, default, low, high)
    if value != int(value):
        raise TelegramConfigError(f"{key}.{option} = {value!r}: must be a whole number")
    return int(value)


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    argument: str | None
    addressed: bool = False  # `/cmd@this_bot`: meant for this bot among several


def parse_command(text: str | None, bot_username: str | None) -> Command | None:
    """`/ack 12` or `/ack@this_bot 12` → Command; not a command → None.

    A command addressed to another bot (`/start@other_bot`) comes back with `name` "" so that
    callers skip it without taking it for a resident's message.
    """
    if not text or not text.startswith("/"):
        return None
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name, target, argument = match.groups()
    argument = (argument or "").strip() or None
    if target:
        if bot_username is None or target.lower() != bot_username.lower():
            return Command("", argument)
        return Command(name.lower(), argument, addressed=True)
    return Command(name.lower(), argument)


def parse_button(data: str | None) -> Command | None:
    """Callback data `ack:12` of a botkit button → Command; anything else → None."""
    if not data:
        return None
    match = _CALLBACK.match(data)
    if match is None or match.group(1) not in BUTTON_ACTIONS:
        return None
    return Command(match.group(1), match.group(2).strip() or None)


def callback_ref(query_id: str, message_id: int | None) -> str:
    """A reply_ref that lets `send` answer the button press and reply under the alert."""
    return f"{_CALLBACK_REF}:{message_id or 0}:{query_id}"


def parse_callback_ref(ref: str | None) -> tuple[str, int | None] | None:
    """(query id, message id) from a `callback_ref`, or None for an ordinary message id."""
    if not ref or not ref.startswith(_CALLBACK_REF + ":"):
        return None
    parts = ref.split(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2]:
        return None
    message_id = int(parts[1])
    return parts[2], message_id or None


# --------------------------------------------------------------------------- membership


def is_present(status: str, is_member: bool | None = None) -> bool:
    """Whether a ChatMember status means the user is in the chat."""
    if status == "restricted":
        return bool(is_member)
    return status in JOINED_STATUSES


def membership_change(
    old_status: str,
    new_status: str,
    *,
    old_is_member: bool | None = None,
    new_is_member: bool | None = None,
) -> Literal["joined", "left"] | None:
    """Joined or left, from a my_chat_member update; rights changes are neither."""
    before = is_present(old_status, old_is_member)
    after = is_present(new_status, new_is_member)
    if after and not before:
        return "joined"
    if before and not after:
        return "left"
    return None


def clip(text: str, limit: int) -> tuple[str, bool]:
    """Text cut to `limit` characters; True when it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True


# --------------------------------------------------------------------------- outbound


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Pieces of at most `limit` UTF-16 units, cut at line ends where possible."""
    if utf16_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        for chunk in _hard_split(line, limit):
            if current and utf16_len(current) + utf16_len(chunk) > limit:
                pieces.append(current)
                current = ""
            current += chunk
    if current:
        pieces.append(current)
    return pieces


def _hard_split(text: str, limit: int) -> Iterator[str]:
    start = 0
    units = 0
    for i, ch in enumerate(text):
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > limit:
            yield text[start:i]
            start, units = i, 0
        units += width
    if start < len(text):
        yield text[start:]


def truncate_utf16(text: str, limit: int) -> str:
    """Text cut to `limit` UTF-16 units, with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    return next(_hard_split(text, limit - 1)) + "…"


def keyboard_rows(buttons: Sequence[Button]) -> list[list[Button]]:
    """Buttons laid out two per row; callback data checked against Telegram's 64 bytes."""
    for button in buttons:
        if len(button.action.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise ValueError(
                f"button {button.label!r}: action {button.action!r} exceeds Telegram's "
                f"{MAX_CALLBACK_DATA_BYTES}-byte callback data"
            )
    return [list(buttons[i : i + BUTTONS_PER_ROW]) for i in range(0, len(buttons), BUTTONS_PER_ROW)]


def chat_id_param(chat_id: str) -> int | str:
    """Telegram wants numeric chat ids as numbers; `@channel` names stay strings."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def message_id_param(ref: str) -> int:
    try:
        return int(ref)
    except ValueError:
        raise ValueError(f"{ref!r} is not a Telegram message id") from None


def pace(per_second: float, margin: float = PACE_MARGIN) -> AsyncLimiter:
    """A limiter of `per_second` acquisitions (below 1/s: one per 1/`per_second` seconds).

    The period is stretched by `margin` because Telegram counts arrivals, and two requests
    released exactly one period apart can arrive a little closer together.
    """
    if per_second >= 1:
        return AsyncLimiter(per_second, margin)
    return AsyncLimiter(1, margin / per_second)


# --------------------------------------------------------------------------- button answers


AnswerFn = Callable[[str, str | None], Awaitable[None]]


class PendingCallbacks:
    """Button presses waiting for the core's reply.

    The reply becomes the answer to the press; if none comes in time, an empty answer stops
    the spinner on the officer's phone.
    """

    def __init__(self, answer: AnswerFn, timeout: float) -> None:
        self._answer = answer
        self._timeout = timeout
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, query_id: str) -> None:
        loop = asyncio.get_running_loop()
        self._pending[query_id] = loop.call_later(self._timeout, self._expire, query_id)

    def take(self, query_id: str) -> bool:
        """True (once) when the press is still unanswered."""
        handle = self._pending.pop(query_id, None)
        if handle is None:
            return False
        handle.cancel()
        return True

    def __len__(self) -> int:
        return len(self._pending)

    def _expire(self, query_id: str) -> None:
        if self._pending.pop(query_id, None) is None:
            return
        task = asyncio.get_running_loop().create_task(self._safe_answer(query_id, None))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _safe_answer(self, query_id: str, text: str | None) -> None:
        try:
            await self._answer(query_id, text)
        except Exception as exc:  # an unanswered press only leaves a spinner
            log.warning("answering button press %s failed: %s", query_id, exc)

    async def close(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()


# --------------------------------------------------------------------------- polling


@dataclass
class AdapterStats:
    """Counters for monitoring and tests (mutable; never crosses into the core)."""

    updates: int = 0
    events: int = 0
    skipped: int = 0
    failed: int = 0


async def run_until(receiver: Awaitable[Any], stop: asyncio.Event) -> None:
    """Run `receiver` until it ends or `stop` is set; its errors propagate."""
    task = asyncio.ensure_future(receiver)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        task.cancel()
        await asyncio.gather(stopper, return_exceptions=True)
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Backoff:
    """Exponential back-off for the update loop after network or server errors."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first = first
        self.cap = cap
        self.current = 0.0

    def reset(self) -> None:
        self.current = 0.0

    def next(self) -> float:
        self.current = min(self.cap, self.current * 2 if self.current else self.first)
        return self.current
