"""Webhook bodies as Meta posts them for a Page, and their signature.

Meta posts `{"object":"page","entry":[{"id":PAGE,"time":ms,"messaging":[item, …]}, …]}`;
one post may batch several entries of several items. Meta's JSON escapes non-ASCII
characters (`\\u00e0`) and slashes; `encode` does the same by default, `escape=False` sends
plain UTF-8, so both spellings of one body are exercised. The signature is the app secret's
HMAC-SHA256 over the exact bytes sent (computed here independently of the adapter).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

JSON = dict[str, Any]

SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"  # SHA-1; Meta still sends it beside the SHA-256


def text_item(page_id: str, psid: str, text: str, mid: str, ms: int) -> JSON:
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": ms,
        "message": {"mid": mid, "text": text},
    }


def quick_reply_item(page_id: str, psid: str, title: str, payload: str, mid: str, ms: int) -> JSON:
    item = text_item(page_id, psid, title, mid, ms)  # the tapped title is posted as text
    item["message"]["quick_reply"] = {"payload": payload}
    return item


def postback_item(
    page_id: str, psid: str, title: str, payload: str, ms: int, mid: str | None = None
) -> JSON:
    postback: JSON = {"title": title, "payload": payload}
    if mid is not None:
        postback["mid"] = mid  # newer API versions add it; older ones did not
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": ms,
        "postback": postback,
    }


def attachment_item(
    page_id: str,
    psid: str,
    mid: str,
    ms: int,
    kind: str = "image",
    url: str = "https://example.invalid/a.jpg",
    *,
    text: str | None = None,
) -> JSON:
    """A message with one attachment (`image`, `video`, `audio`, `file`) at `url` on Meta's
    CDN; `text` beside it (Messenger mostly sends a picture's text as a message of its own)."""
    message: JSON = {"mid": mid, "attachments": [{"type": kind, "payload": {"url": url}}]}
    if text is not None:
        message["text"] = text
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": ms,
        "message": message,
    }


def sticker_item(
    page_id: str, psid: str, mid: str, ms: int, sticker_id: int = 369239263222822
) -> JSON:
    """A sticker (369239263222822: the thumbs-up): an image attachment with `sticker_id`."""
    url = "https://scontent.xx.fbcdn.net/v/t39.1997-6/39178562_1505197616293642_n.png"
    item = attachment_item(page_id, psid, mid, ms, "image", url)
    item["message"]["attachments"][0]["payload"]["sticker_id"] = sticker_id
    item["message"]["sticker_id"] = sticker_id
    return item


def echo_item(page_id: str, psid: str, mid: str, text: str, ms: int, app_id: str) -> JSON:
    return {
        "sender": {"id": page_id},
        "recipient": {"id": psid},
        "timestamp": ms,
        "message": {"is_echo": True, "app_id": int(app_id), "mid": mid, "text": text},
    }


def delivery_item(page_id: str, psid: str, mids: Sequence[str], ms: int) -> JSON:
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "delivery": {"mids": list(mids), "watermark": ms},
    }


def read_item(page_id: str, psid: str, ms: int) -> JSON:
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": ms,
        "read": {"watermark": ms},
    }


def page_body(page_id: str, items: Sequence[JSON], ms: int, per_entry: int | None = None) -> JSON:
    """A Page post; `per_entry` items to an entry (all in one by default)."""
    size = per_entry or max(len(items), 1)
    entries = [
        {"id": page_id, "time": ms, "messaging": list(items[i : i + size])}
        for i in range(0, len(items), size)
    ]
    return {"object": "page", "entry": entries}


def encode(body: Any, *, escape: bool = True) -> bytes:
    raw = json.dumps(body, ensure_ascii=escape, separators=(",", ":"))
    if escape:
        raw = raw.replace("/", "\\/")  # as Meta's serialiser writes it
    return raw.encode("utf-8")


def sign(app_secret: str, raw: bytes) -> dict[str, str]:
    """The signature headers Meta sends with `raw`."""
    key = app_secret.encode()
    return {
        SIGNATURE_HEADER: "sha256=" + hmac.new(key, raw, hashlib.sha256).hexdigest(),
        LEGACY_SIGNATURE_HEADER: "sha1=" + hmac.new(key, raw, hashlib.sha1).hexdigest(),
    }
