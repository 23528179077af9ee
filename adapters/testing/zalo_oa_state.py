"""What the Zalo OA emulator remembers: users, GMF groups, messages, tokens, faults."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class ZaloError(Exception):
    """An answer with a Zalo error code (HTTP 200, as Zalo answers errors)."""

    def __init__(self, code: int, message: str, extra: JSON | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.extra = extra or {}


@dataclass
class User:
    user_id: str
    name: str
    # Zalo lets an OA message a user only within 7 days of the user's last message (-230);
    # False models a user who has been silent that long, until they write again.
    window_open: bool = True


@dataclass
class Group:
    group_id: str
    name: str
    members: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    params: JSON  # the JSON body, or the form fields
    at: float


@dataclass(frozen=True)
class Delivered:
    """A message the OA sent and Zalo accepted."""

    message_id: str
    kind: str  # "user" or "group"
    to: str
    text: str
    buttons: tuple[JSON, ...]
    at: float


@dataclass(frozen=True)
class Incoming:
    """A message a user sent to the OA or to a group (what the emulator posted)."""

    msg_id: str
    user_id: str
    group_id: str | None
    text: str | None
    event: JSON


@dataclass
class Fault:
    """What goes wrong with the next `remaining` requests to `target` (a path's end, "*")."""

    target: str
    remaining: int
    when: Callable[[RecordedRequest], bool] | None
    code: int | None = None  # answer this Zalo error instead of carrying the call out
    message: str = ""
    stall: float = 0.0  # seconds late
    accept_first: bool = False  # carry the call out, then stall or drop
    drop: bool = False  # close the connection without an answer

    def matches(self, request: RecordedRequest) -> bool:
        if self.target != "*" and not request.path.endswith(self.target):
            return False
        return self.when is None or self.when(request)


@dataclass(frozen=True)
class Delivery:
    """One webhook post of an event and the adapter's answer (None: no answer)."""

    msg_id: str | None
    event_name: str
    status: int | None


class Tokens:
    """OAuth state: single-use refresh tokens and expiring access tokens."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.refresh_tokens: set[str] = set()  # valid, unused
        self.spent: set[str] = set()
        self.access: dict[str, float] = {}  # token → expiry (unix time)

    def issue_refresh(self) -> str:
        token = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens.add(token)
        return token

    def refresh(self, token: str, lifetime: float) -> tuple[str, str]:
        if token in self.spent:
            raise ZaloError(-14014, "Invalid refresh token", {"error_reason": "already used"})
        if token not in self.refresh_tokens:
            raise ZaloError(-14014, "Invalid refresh token", {"error_reason": "unknown"})
        self.refresh_tokens.discard(token)
        self.spent.add(token)
        access = "at-" + secrets.token_urlsafe(16)
        self.access[access] = self._clock() + lifetime
        return access, self.issue_refresh()

    def valid(self, access_token: str) -> bool:
        expiry = self.access.get(access_token)
        return expiry is not None and self._clock() < expiry

    def expire_all(self) -> None:
        for token in self.access:
            self.access[token] = 0.0
