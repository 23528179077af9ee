"""Graph API errors → the adapter port's `DeliveryError`.

Meta answers a failed call with `{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id", "is_transient"?}}`. What decides the core's next move is whether trying again
can help: a bad token or a person out of reach cannot (the core tries the officer's next
contact at once), a rate limit or a passing fault can (the outbox retries later).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botkit.adapter import DeliveryError

TOKEN_INVALID = 190
# 4: app calls, 17: user calls, 32: Page calls, 613: calls per hour; 80000-80014: the
# business use case limits (80006 is Messenger's).
RATE_LIMITED = frozenset({4, 17, 32, 613, *range(80000, 80015)})
PERMISSION_DENIED = 10
OUTSIDE_WINDOW = 2018278  # a subcode of 10 (older answers carry it as the code)
PERSON_UNAVAILABLE = 551
TEMPORARY = frozenset({1, 2})  # "unknown error" and "service temporarily unavailable"
# Meta gives no retry time with a rate limit unless the business use case header says so.
RATE_LIMIT_PAUSE = 60.0
USAGE_HEADER = "X-Business-Use-Case-Usage"


@dataclass(frozen=True, slots=True)
class GraphError:
    status: int
    code: int | None = None
    subcode: int | None = None
    message: str = ""
    type: str | None = None
    trace: str | None = None
    transient: bool = False

    @classmethod
    def parse(cls, status: int, body: Any) -> GraphError:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(status, message=f"HTTP {status} without a Graph error")
        return cls(
            status=status,
            code=_int(error.get("code")),
            subcode=_int(error.get("error_subcode")),
            message=str(error.get("message") or "")[:300],
            type=str(error["type"]) if error.get("type") else None,
            trace=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
            transient=error.get("is_transient") is True,
        )

    def describe(self) -> str:
        parts = [f"code {self.code}" if self.code is not None else f"HTTP {self.status}"]
        if self.subcode is not None:
            parts.append(f"subcode {self.subcode}")
        if self.trace:
            parts.append(f"fbtrace_id {self.trace}")
        return f"{self.message or 'error'} ({', '.join(parts)})"


def delivery_error(
    error: GraphError, *, setting: str, token_env: str, headers: Mapping[str, str]
) -> DeliveryError:
    """`setting` is `adapters.<name>.page_token_env`, named when the token is refused."""
    what = f"messenger: {error.describe()}"
    if error.code == TOKEN_INVALID:
        return DeliveryError(
            f"messenger: the Page access token in {token_env} ({setting}) was refused: "
            f"{error.describe()}; put a valid Page access token in {token_env}",
            permanent=True,
        )
    if error.code in RATE_LIMITED:
        return DeliveryError(f"{what}; rate limited", retry_after=regain_seconds(headers))
    if OUTSIDE_WINDOW in (error.code, error.subcode):
        return DeliveryError(
            f"{what}; the person has not written to the Page in 24 hours", permanent=True
        )
    if error.code == PERSON_UNAVAILABLE:
        return DeliveryError(f"{what}; the person cannot be reached", permanent=True)
    if error.code in TEMPORARY or error.transient or error.status >= 500:
        return DeliveryError(what)  # answered, not carried out: retry, no doubt
    return DeliveryError(what, permanent=True)  # the request can never succeed as it is


def regain_seconds(headers: Mapping[str, str]) -> float:
    """When the business use case limit lifts (`estimated_time_to_regain_access`, minutes)."""
    try:
        usage = json.loads(headers.get(USAGE_HEADER, ""))
    except ValueError:
        return RATE_LIMIT_PAUSE
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in (usage.values() if isinstance(usage, dict) else ())
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    known = [m for m in minutes if isinstance(m, int | float) and not isinstance(m, bool)]
    if not known:
        return RATE_LIMIT_PAUSE
    return max(1.0, max(known) * 60.0)  # "0 minutes": soon, but not at once


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
