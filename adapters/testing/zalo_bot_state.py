"""What the Zalo Bot API emulator records: calls, messages the bot sent, webhook posts, and
the error behind every `{"ok": false, …}` answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.testing.telegram_errors import TelegramAPIError

# Descriptions Zalo is known to use where they differ from Telegram's defaults.
DESCRIPTIONS = {408: "Request timeout", 405: "Method Not Allowed"}


class ZaloAPIError(TelegramAPIError):
    """A method's failure: `{"ok": false, "error_code", "description"}` (Telegram's envelope,
    which the Zalo Bot API copies; a 429 may carry `parameters.retry_after`).

    `http_status`: the status it is answered with; by default the error code, 200 to send
    the error only in the body (Zalo's choice between the two is not documented).
    """

    def __init__(
        self,
        error_code: int,
        description: str | None = None,
        *,
        http_status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        super().__init__(error_code, description or DESCRIPTIONS.get(error_code), parameters)
        self.http_status = http_status or (error_code if 100 <= error_code <= 599 else 200)


@dataclass(frozen=True, slots=True)
class Call:
    """One API call as the emulator received it."""

    method: str
    params: dict[str, Any] = field(hash=False)
    content_type: str
    at: float


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the bot sent, as the recipient holds it."""

    chat_id: str
    message_id: str
    date: int  # milliseconds
    text: str
    method: str = "sendMessage"


@dataclass(frozen=True, slots=True)
class WebhookPost:
    """One attempt to POST an update to the webhook; `status` None: no answer."""

    event_id: str
    status: int | None
    error: str | None
    at: float


@dataclass
class Webhook:
    url: str
    secret_token: str
    updated_at: int


@dataclass
class Fault:
    """The next `remaining` matching calls fail with `error`."""

    method: str  # "*" for any
    error: ZaloAPIError
    remaining: int
    when: Callable[[Call], bool] | None = None


@dataclass
class Trouble:
    """A slow or broken connection: answered `seconds` late (before or after the call is
    carried out), or carried out and then the connection closed without an answer."""

    method: str
    remaining: int
    when: Callable[[Call], bool] | None = None
    seconds: float = 0.0
    accept_first: bool = False
    drop: bool = False


def take(rules: list[Any], call: Call) -> Any:
    """The first rule (`Fault` or `Trouble`) matching the call, used up by one."""
    for rule in rules:
        if rule.method not in ("*", call.method) or (rule.when and not rule.when(call)):
            continue
        rule.remaining -= 1
        if rule.remaining <= 0:
            rules.remove(rule)
        return rule
    return None
