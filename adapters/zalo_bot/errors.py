"""Zalo Bot API failures → the port's `DeliveryError`.

Zalo documents no error codes for sendMessage, so the HTTP meanings of the codes are used:
a request Zalo refuses (400, 404), a user out of reach (403) or a rejected token (401) cannot
succeed by retrying, so the core tries the officer's next contact at once; 429 and server
errors are retried; a late or lost answer (408, 502, 504, a dropped connection, a timeout) may
hide a message that did arrive, so the retry is marked ambiguous.
"""

from __future__ import annotations

from adapters.zalo_bot.api import ZaloBotError, ZaloBotUnreachable
from botkit.adapter import DeliveryError

PERMANENT = frozenset({400, 401, 403, 404})
UNKNOWN_OUTCOME = frozenset({408, 502, 504})
DEFAULT_RETRY_AFTER = 5.0  # a 429 without a hint: Zalo's limits are not published

_HINTS = {
    401: " (Zalo rejected the bot token: check token_env)",
    403: " (the officer must open a chat with the bot and send it a message first)",
}


def delivery_error(exc: ZaloBotError | ZaloBotUnreachable, *, partly_sent: bool) -> DeliveryError:
    """`partly_sent`: earlier pieces of a split text arrived, so a retry repeats them."""
    if isinstance(exc, ZaloBotUnreachable):
        return DeliveryError(f"zalo_bot: {exc}", ambiguous=exc.may_have_arrived or partly_sent)
    code = exc.error_code
    message = f"zalo_bot: {exc}{_HINTS.get(code, '')}"
    if code in PERMANENT:
        return DeliveryError(message, permanent=True, ambiguous=partly_sent)
    if code == 429:
        return DeliveryError(
            message,
            retry_after=exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER,
            ambiguous=partly_sent,
        )
    unknown = code in UNKNOWN_OUTCOME or not exc.enveloped
    return DeliveryError(message, ambiguous=unknown or partly_sent)
