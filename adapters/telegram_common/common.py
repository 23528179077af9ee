"""Telegram's rules, shared by the python-telegram-bot and aiogram adapters.

Settings, membership changes, Telegram's text and button limits. Nothing here imports a
Telegram library, so either adapter can use it alone; what every platform needs (commands,
webhook server, back-off, text splitting) is in `adapters.kit`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from adapters.kit import text as text_kit
from adapters.kit.commands import (
    BUTTON_ACTIONS,
    OFFICER_COMMANDS,
    SETUP_COMMAND,
    Command,
    parse_button,
    parse_command,
)
from adapters.kit.settings import AdapterConfigError, env_name, integer, number
from adapters.kit.text import clip
from botkit.config import AdapterSettings
from botkit.outbound import Button

__all__ = [
    "BUTTON_ACTIONS",
    "OFFICER_COMMANDS",
    "SETUP_COMMAND",
    "Command",
    "clip",
    "parse_button",
    "parse_command",
]

DEFAULT_API = "https://api.telegram.org"

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

MAX_MESSAGE_UTF16 = 4096  # Telegram's limit for one text message, in UTF-16 code units
MAX_CALLBACK_ANSWER = 200
MAX_CALLBACK_DATA_BYTES = 64
BUTTONS_PER_ROW = 2

# Shown to a group member who is not an admin and tries /setup. Core texts cover the rest.
SETUP_ADMIN_ONLY = "Xin lỗi, chỉ quản trị viên của nhóm mới gắn được nhóm với xã/phường (/setup)."

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CALLBACK_REF = "cb"

JOINED_STATUSES = frozenset({"member", "administrator", "creator"})
ADMIN_STATUSES = frozenset({"administrator", "creator"})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


# One error type for every adapter's settings; the old name stays for callers.
TelegramConfigError = AdapterConfigError


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
        token_env = env_name(
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
            secret_env = env_name(secret_env, key, "webhook_secret_env")
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
            webhook_port=integer(settings, key, "webhook_port", 8443, 1, 65535),
            webhook_path=path,
            webhook_url=str(url) if url else None,
            webhook_secret=secret,
            poll_timeout=integer(settings, key, "poll_timeout", 25, 0, 50),
            overall_per_second=number(settings, key, "rate_overall_per_second", 30.0, 1, 1000),
            group_per_minute=number(settings, key, "rate_group_per_minute", 20.0, 0, 1000),
            chat_per_second=number(settings, key, "rate_chat_per_second", 1.0, 0, 100),
            max_retries=integer(settings, key, "max_retries", 2, 0, 20),
            # Longer pauses go back to the outbox, which retries after them: a send never
            # sleeps long inside the adapter.
            max_retry_after=number(settings, key, "max_retry_after", 5.0, 0, 3600),
            max_text_chars=integer(settings, key, "max_text_chars", 16_384, 256, 1_000_000),
            callback_answer_seconds=number(settings, key, "callback_answer_seconds", 10.0, 0.1, 60),
        )


# --------------------------------------------------------------------------- commands


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


# --------------------------------------------------------------------------- outbound


def split_text(text: str, limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Pieces of at most `limit` UTF-16 units (Telegram's measure), cut at line ends."""
    return text_kit.split_text(text, limit, utf16=True)


def truncate_utf16(text: str, limit: int) -> str:
    return text_kit.truncate(text, limit, utf16=True)


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
