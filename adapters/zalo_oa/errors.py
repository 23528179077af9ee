"""Zalo OA send failures → the port's `DeliveryError`.

Zalo answers with HTTP 200 and a negative `error` (NOTES §3):
- -216 (invalid or expired token) is handled before this: refreshed once, retried once.
- -32 (rate limited): retried after a pause, which Zalo does not state.
- -230 (the user has not written to the OA for 7 days), -305/-311 (outside the reply window
  or its quota), -211 (out of quota) and -213 (the recipient does not follow the OA): no
  retry can deliver it. Permanent, so the core
  sends the alert to the officer's next contact or moves the escalation chain on at once.
- Any other code: retried (an unknown code is no proof that retrying is useless; the core
  gives up after its attempts and then moves on as well).
A dropped connection or no answer in time may hide a delivered message: ambiguous.
"""

from __future__ import annotations

from typing import Final

from adapters.zalo_oa.api import ZaloOAError, ZaloOAUnreachable
from adapters.zalo_oa.tokens import TokenUnavailable
from botkit.adapter import DeliveryError

TOKEN_INVALID: Final = -216
RATE_LIMITED: Final = -32
PERMANENT: Final = {
    -230: "the officer has not written to the OA for 7 days; they must send it a message",
    -305: "outside the OA's reply window",
    -311: "the reply window's quota is used up",
    -211: "the OA's message quota is used up",
    # Someone who does not follow the OA cannot be written to until they follow it again.
    -213: "the recipient does not follow the OA",
}


def delivery_error(
    exc: ZaloOAError | ZaloOAUnreachable | TokenUnavailable,
    *,
    partly_sent: bool,
    rate_limited_pause: float,
) -> DeliveryError:
    """`partly_sent`: earlier pieces of a split text arrived, so a retry repeats them."""
    if isinstance(exc, TokenUnavailable):
        return DeliveryError(f"zalo_oa: no access token: {exc}", ambiguous=partly_sent)
    if isinstance(exc, ZaloOAUnreachable):
        return DeliveryError(f"zalo_oa: {exc}", ambiguous=exc.may_have_arrived or partly_sent)
    if exc.code in PERMANENT:
        return DeliveryError(
            f"zalo_oa: {exc} ({PERMANENT[exc.code]})", permanent=True, ambiguous=partly_sent
        )
    if exc.code == RATE_LIMITED:
        return DeliveryError(
            f"zalo_oa: {exc} (rate limited)",
            retry_after=rate_limited_pause,
            ambiguous=partly_sent,
        )
    if exc.code == TOKEN_INVALID:
        return DeliveryError(
            f"zalo_oa: {exc} (a freshly refreshed access token was refused too)",
            ambiguous=partly_sent,
        )
    return DeliveryError(f"zalo_oa: {exc}", ambiguous=partly_sent)
