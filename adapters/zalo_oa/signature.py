"""Zalo's webhook signature: `X-ZEvent-Signature = hex(SHA-256(app_id + body + timestamp +
OA secret key))`.

A plain SHA-256, not an HMAC, keyed with the OA secret key (not the app secret), over the body
exactly as received; `timestamp` is the event's own `timestamp` field, as text. Some
integrators see the value prefixed `mac=`, so that prefix is tolerated (NOTES §5: unsure).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from adapters.kit.webhook import Verify

SIGNATURE_HEADER = "X-ZEvent-Signature"
_MAC_PREFIX = "mac="


def signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    digest = hashlib.sha256()
    digest.update(app_id.encode())
    digest.update(body)
    digest.update(timestamp.encode())
    digest.update(secret_key.encode())
    return digest.hexdigest()


def event_timestamp(body: bytes) -> str | None:
    """The event's `timestamp` as Zalo wrote it (a string of milliseconds; a number is
    tolerated); "" when absent; None when the body is no JSON object at all."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("timestamp")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def verifier(app_id: str, secret_key: str) -> Verify:
    """The webhook server's `verify` hook for one OA."""

    def verify(headers: Mapping[str, str], body: bytes) -> bool:
        given = headers.get(SIGNATURE_HEADER, "").strip()
        if given[: len(_MAC_PREFIX)].lower() == _MAC_PREFIX:
            given = given[len(_MAC_PREFIX) :].strip()
        if not given:
            return False
        timestamp = event_timestamp(body)
        if timestamp is None:
            # Not an event at all, so nothing can come of it: the server answers 400 (a
            # malformed post) instead of 401, and processes nothing either way.
            return True
        expected = signature(app_id, body, timestamp, secret_key)
        return hmac.compare_digest(given.lower().encode(), expected.encode())

    return verify
