"""What the Messenger emulator keeps: the Page's people, the messages delivered to them,
recorded Graph API requests, webhook deliveries, and Graph API errors as Meta shapes them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

# A person may be messaged with messaging_type RESPONSE/UPDATE for 24 hours after they last
# wrote to the Page (or pressed a button); later only with a message tag.
WINDOW_SECONDS = 24 * 3600


class GraphAPIError(Exception):
    """A Graph API error answer: `{"error": {message, type, code, error_subcode, fbtrace_id}}`."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        status: int = 400,
        type: str = "OAuthException",
        transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.status = status
        self.type = type
        self.transient = transient
        self.headers = headers or {}

    def body(self) -> JSON:
        error: JSON = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient is not None:
            error["is_transient"] = self.transient
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(8)
        return {"error": error}


def token_invalid() -> GraphAPIError:
    return GraphAPIError(190, "Invalid OAuth access token - Cannot parse access token")


def bad_param(message: str, subcode: int | None = None) -> GraphAPIError:
    return GraphAPIError(100, f"(#100) {message}", subcode=subcode)


def outside_window() -> GraphAPIError:
    return GraphAPIError(
        10,
        "(#10) This message is sent outside of allowed window.",
        subcode=2018278,
    )


def unavailable() -> GraphAPIError:
    return GraphAPIError(551, "(#551) This person isn't available right now.", subcode=1545041)


def rate_limited(page_id: str, regain_minutes: int = 0) -> GraphAPIError:
    usage = (
        f'{{"{page_id}":[{{"type":"messenger","call_count":100,"total_cputime":1,'
        f'"total_time":1,"estimated_time_to_regain_access":{regain_minutes}}}]}}'
    )
    return GraphAPIError(
        613,
        "(#613) Calls to this api have exceeded the rate limit.",
        headers={"X-Business-Use-Case-Usage": usage},
    )


def service_error() -> GraphAPIError:
    return GraphAPIError(
        2,
        "An unexpected error has occurred. Please retry your request later.",
        status=500,
        transient=True,
    )


def new_mid() -> str:
    return "m_" + secrets.token_urlsafe(48)


@dataclass
class Person:
    """Someone who talks to the Page, known by their page-scoped id (PSID)."""

    psid: str
    name: str
    last_interaction: float | None  # when they last wrote or pressed (epoch seconds)
    available: bool = True  # False: they blocked the Page or turned its messages off
    live_quick_replies: Delivered | None = None  # shown only under the latest message


@dataclass(frozen=True)
class Delivered:
    """A message the Page sent and the person now holds (Messenger cannot edit it)."""

    mid: str
    psid: str
    message: JSON
    messaging_type: str
    tag: str | None
    at: float

    @property
    def template(self) -> JSON | None:
        attachment = self.message.get("attachment")
        if isinstance(attachment, dict) and attachment.get("type") == "template":
            payload = attachment.get("payload")
            return payload if isinstance(payload, dict) else None
        return None

    @property
    def text(self) -> str:
        template = self.template
        if template is not None:
            return str(template.get("text", ""))
        return str(self.message.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(title, payload) of a button template's postback buttons."""
        template = self.template or {}
        return [
            (b["title"], b["payload"])
            for b in template.get("buttons", [])
            if b.get("type") == "postback"
        ]

    @property
    def quick_replies(self) -> list[tuple[str, str]]:
        return [(q["title"], str(q["payload"])) for q in self.message.get("quick_replies", [])]

    @property
    def actions(self) -> list[str]:
        """The payloads an officer can press under this message, whatever the kind."""
        return [payload for _, payload in self.buttons + self.quick_replies]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    content_type: str
    at: float

    @property
    def recipient(self) -> str | None:
        recipient = self.body.get("recipient") if isinstance(self.body, dict) else None
        return str(recipient.get("id")) if isinstance(recipient, dict) else None


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of a webhook body to the adapter, and how it was answered."""

    status: int | None
    error: str | None
    items: int
    body: bytes
    at: float


When = Callable[[RecordedRequest], bool]


@dataclass
class Fault:
    """The next matching Send API calls fail with `error` and are not carried out."""

    error: GraphAPIError
    remaining: int
    when: When | None


@dataclass
class Trouble:
    """A slow or broken connection: a stall before (nothing done) or after the call is carried
    out, or a connection dropped once it was carried out."""

    remaining: int
    when: When | None
    seconds: float = 0.0
    accept_first: bool = False
    drop: bool = False


def take(queue: list[Any], request: RecordedRequest) -> Any:
    """The first fault or trouble matching `request`, used once."""
    for item in queue:
        if item.when is not None and not item.when(request):
            continue
        item.remaining -= 1
        if item.remaining <= 0:
            queue.remove(item)
        return item
    return None
