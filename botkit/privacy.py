"""Personal data handling: keyed hashes, redacted excerpts, redacting log filter.

Messages are citizens' personal data. The store keeps a keyed hash of the
normalised text (for de-duplication) and a short redacted excerpt, never the
sender's id in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

log = logging.getLogger(__name__)

_URL = re.compile(
    r"(?i)\b(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|vn|net|org|info|xyz|top|site|online|shop|me|link|click|cc)(?:/\S*)?\b"
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# Phones, bank accounts, CCCD numbers: any run of 6+ digits, possibly split by spaces/dots/dashes.
_DIGITS = re.compile(r"(?<!\w)\+?\d(?:[\s.\-]?\d){5,}(?!\w)")
_PLATE = re.compile(r"\b\d{2}[A-Za-zĐđ]{1,2}\d?[\s\-.]*\d{3}[.\s]?\d{2}\b")


def redact(text: str, limit: int = 280) -> str:
    """Mask contact details and identifiers, then cut to `limit` characters."""
    text = _EMAIL.sub("[email]", text)
    text = _URL.sub("[link]", text)
    text = _PLATE.sub("[biển số]", text)
    text = _DIGITS.sub("[số]", text)
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    """Collapse white space and cut at a word boundary, marking the cut with `…`."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


class Pseudonymizer:
    """HMAC-SHA256 with a secret key: stable ids for de-duplication, useless without the key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the hash key must be at least 16 bytes")
        self._key = key

    def hash(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]


# Telegram-style bot tokens (`123456:AA…`) appear in API URLs that libraries log or raise.
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


# What operators must read in a log line and no resident writes: ISO times ("retrying at
# 2026-11-30T08:54:13+00:00"), hosts with a port ("127.0.0.1:6379", a Redis URL) and model
# versions ("20261130-104645-75ca559a"). They are kept out of the digit masking; a phone
# number has neither a "T", a port, nor a date, time and hash.
_OPERATIONAL = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?"
    r"|(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?=:\d{2,5}\b)"
    r"|\b20\d{6}-\d{6}-[0-9a-f]{8}\b"
)


def redact_log(text: str, limit: int) -> str:
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    text = redact(_BOT_TOKEN.sub("[token]", _OPERATIONAL.sub(keep, text)), limit=limit)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)


class RedactingFilter(logging.Filter):
    """Redacts every log record's message, so no handler writes contact details or tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        record.msg = redact_log(str(record.msg), limit=2000)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later from exc_info; fold them in now, redacted.
            text = logging.Formatter().formatException(record.exc_info)
            record.msg = f"{record.msg}\n{redact_log(text, limit=20000)}"
            record.exc_info = None
            record.exc_text = None
        return True
