"""Meta's two webhook checks: the GET handshake (`hub.verify_token`) when the webhook is set
up, and the `X-Hub-Signature-256` HMAC on every post.

The HMAC is computed over the raw bytes as received: Meta escapes non-ASCII characters and
slashes in its JSON, so a body parsed and serialised again would no longer match.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from adapters.kit.webhook import Challenge, Verify

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends with `body`."""
    return _PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def hub_signature(app_secret: str) -> Verify:
    """A post is genuine when its `X-Hub-Signature-256` is the app secret's HMAC of it."""
    key = app_secret.encode()

    def verify(headers: Mapping[str, str], body: bytes) -> bool:
        given = headers.get(SIGNATURE_HEADER, "").strip()
        if not given.lower().startswith(_PREFIX):
            return False  # the legacy SHA-1 `X-Hub-Signature` alone is not accepted
        expected = hmac.new(key, body, hashlib.sha256).hexdigest()
        # Constant time: a forger learns nothing from how long the comparison took.
        return hmac.compare_digest(given[len(_PREFIX) :].lower().encode(), expected.encode())

    return verify


def hub_challenge(verify_token: str) -> Challenge:
    """The webhook handshake: echo `hub.challenge` when the mode and verify token match."""
    want = verify_token.encode()

    def challenge(query: Mapping[str, str]) -> str | None:
        if query.get("hub.mode") != "subscribe":
            return None
        if not hmac.compare_digest(query.get("hub.verify_token", "").encode(), want):
            return None
        return query.get("hub.challenge") or None

    return challenge
