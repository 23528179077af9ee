"""Zalo OA webhook events as Zalo posts them, and their signature.

Shapes follow NOTES §3: `{"app_id", "user_id_by_app", "event_name", "timestamp" (ms, a
string), "sender": {"id"}, "recipient": {"id"}, "message": {"text", "msg_id"}}`; images carry
`message.attachments`. GMF group events put the group's id in one of three places, and which
one Zalo uses is unsure, so `GroupIdField` picks it and tests try all three.

The body is encoded the way a server would, not the way Python re-encodes it: Vietnamese
stays raw UTF-8 and separators have spaces, so an adapter that hashed a re-serialised body
instead of the bytes received would fail the signature.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

JSON = dict[str, Any]
GroupIdField = Literal["recipient.id", "recipient.group_id", "message.conversation_id"]
GROUP_ID_FIELDS: tuple[GroupIdField, ...] = (
    "recipient.id",
    "recipient.group_id",
    "message.conversation_id",
)
SIGNATURE_HEADER = "X-ZEvent-Signature"


def encode(event: JSON) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8")


def sign(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """hex(SHA-256(app_id + body + timestamp + OA secret key)): plain, not an HMAC."""
    return hashlib.sha256(
        app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()
    ).hexdigest()


def user_event(
    app_id: str,
    oa_id: str,
    event_name: str,
    user_id: str,
    message: JSON,
    timestamp: str,
) -> JSON:
    """A user wrote to the OA (`user_send_text`, `user_send_image`, …)."""
    return {
        "app_id": app_id,
        "user_id_by_app": f"app-{user_id}",
        "event_name": event_name,
        "timestamp": timestamp,
        "sender": {"id": user_id},
        "recipient": {"id": oa_id},
        "message": message,
    }


def group_event(
    app_id: str,
    oa_id: str,
    event_name: str,
    group_id: str,
    user_id: str,
    message: JSON,
    timestamp: str,
    id_field: GroupIdField,
) -> JSON:
    """A member wrote in a GMF group (`user_send_group_text`, …)."""
    event = user_event(app_id, oa_id, event_name, user_id, dict(message), timestamp)
    if id_field == "recipient.id":
        event["recipient"] = {"id": group_id}
    elif id_field == "recipient.group_id":
        event["recipient"] = {"id": oa_id, "group_id": group_id}
    else:
        event["message"]["conversation_id"] = group_id
    return event


def text_message(msg_id: str, text: str) -> JSON:
    return {"msg_id": msg_id, "text": text}


def image_message(msg_id: str, caption: str | None, url: str, thumbnail: str | None = None) -> JSON:
    """An image's `message`: the picture's URL and a smaller copy's (`thumbnail`) on Zalo's
    CDN; `text` is the caption, absent when there is none."""
    payload = {"thumbnail": thumbnail or url, "url": url}
    message: JSON = {"msg_id": msg_id, "attachments": [{"type": "image", "payload": payload}]}
    if caption is not None:
        message["text"] = caption
    return message


def other_event(app_id: str, oa_id: str, event_name: str, user_id: str, timestamp: str) -> JSON:
    """An event botkit ignores: `follow`, `user_seen_message`, …"""
    return {
        "app_id": app_id,
        "event_name": event_name,
        "timestamp": timestamp,
        "oa_id": oa_id,
        "follower": {"id": user_id},
        "sender": {"id": user_id},
        "recipient": {"id": oa_id},
        "message": {"msg_ids": []},
    }
