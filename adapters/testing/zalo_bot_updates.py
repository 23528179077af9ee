"""Zalo Bot Platform updates as the API delivers them, for tests and the emulator.

Both spellings Zalo is known to use are offered: the sender's name as `display_name` (the
platform's pages) or `first_name` (the docs' sample), and updates with or without
`event_name` (the docs' sample has none). Ids are strings of hex digits, dates milliseconds.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

TEXT = "message.text.received"
IMAGE = "message.image.received"
STICKER = "message.sticker.received"
UNSUPPORTED = "message.unsupported.received"

NameField = Literal["display_name", "first_name"]


def new_id() -> str:
    """An id shaped like Zalo's (20 hex digits)."""
    return secrets.token_hex(10)


def user(user_id: str, name: str, *, name_field: NameField = "display_name") -> dict[str, Any]:
    return {"id": user_id, name_field: name, "is_bot": False}


def update(
    event_name: str,
    sender: dict[str, Any],
    fields: dict[str, Any],
    *,
    chat_id: str | None = None,
    chat_type: str = "PRIVATE",
    message_id: str | None = None,
    date_ms: int | None = None,
    with_event_name: bool = True,
) -> dict[str, Any]:
    """One update; in a private chat the chat id is the sender's id, as Zalo's sample shows."""
    message: dict[str, Any] = {
        "message_id": message_id or new_id(),
        "date": date_ms if date_ms is not None else int(time.time() * 1000),
        "chat": {"id": chat_id or sender["id"], "chat_type": chat_type},
        "from": dict(sender),
        **fields,
    }
    body: dict[str, Any] = {"message": message}
    if with_event_name:
        body = {"event_name": event_name, **body}
    return body


def text_update(sender: dict[str, Any], text: str, **options: Any) -> dict[str, Any]:
    return update(TEXT, sender, {"text": text}, **options)


def image_update(
    sender: dict[str, Any],
    caption: str | None = None,
    *,
    photo_url: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """`message.image.received`: the picture's URL (`FakeZaloBotAPI.add_photo` gives one the
    emulator serves) and the caption, absent when there is none."""
    url = photo_url or f"https://photo.example/{new_id()}.jpg"
    fields: dict[str, Any] = {"photo_url": url}
    if caption is not None:
        fields["caption"] = caption
    return update(IMAGE, sender, fields, **options)


def sticker_update(sender: dict[str, Any], **options: Any) -> dict[str, Any]:
    return update(STICKER, sender, {"sticker": "0e078a2fb66a5f34067b"}, **options)


def unsupported_update(sender: dict[str, Any], **options: Any) -> dict[str, Any]:
    return update(UNSUPPORTED, sender, {}, **options)


def event_id(body: dict[str, Any]) -> str:
    """What the adapter uses as the event's identity: event name and message id."""
    return f"{body.get('event_name', TEXT)}:{body['message']['message_id']}"
