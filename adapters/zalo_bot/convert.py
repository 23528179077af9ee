"""Zalo Bot updates → botkit core events.

An update is `{"event_name": "message.text.received", "message": {"message_id", "date" (ms),
"chat": {"id", "chat_type": "PRIVATE"|"GROUP"}, "from": {"id", "display_name"}, "text"}}`;
images carry `photo_url` and `caption`. The docs' own sample has no `event_name` and names the
sender `first_name`, so both spellings are read and a missing event name is inferred from the
content. The bot cannot join groups, so what arrives are direct messages: an officer's typed
command (`/ack 12`) becomes an `OfficerCommand`, anything else a resident's `Message` whose chat
is the private chat; the core decides what to do with it.

An image's `photo_url` becomes the message's `photo` extra (http(s) only; the adapter fetches
it when the core asks) and its caption the text ("" without one, `is_caption` with one), so
a picture without a caption reaches the core too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from adapters.kit.commands import OFFICER_COMMANDS, parse_command
from adapters.kit.text import clip
from adapters.kit.webhook import Malformed
from botkit.adapter import InboundEvent
from botkit.domain import Message, OfficerCommand
from botkit.domain.message import PHOTO

TEXT = "message.text.received"
IMAGE = "message.image.received"
STICKER = "message.sticker.received"
UNSUPPORTED = "message.unsupported.received"
PRIVATE = "PRIVATE"
GROUP = "GROUP"
# Dates below this are taken for seconds, not milliseconds (10^11 ms is in 1973).
_SECONDS_BELOW = 10**11


@dataclass(frozen=True, slots=True)
class ZaloUpdate:
    """The parts of an update botkit reads."""

    event_name: str
    message_id: str
    chat_id: str
    chat_type: str
    date: datetime
    sender_id: str | None = None
    sender_name: str | None = None
    text: str | None = None
    caption: str | None = None
    photo_url: str | None = None

    @property
    def event_id(self) -> str:
        """Zalo's identity of the event: a redelivered update has the same one."""
        return f"{self.event_name}:{self.message_id}"


def unwrap(raw: Any) -> Any:
    """A webhook body is the update itself; one wrapped like a getUpdates answer
    (`{"ok": true, "result": {…}}`) is accepted too, since the docs show only the latter."""
    if isinstance(raw, dict) and "message" not in raw and isinstance(raw.get("result"), dict):
        return raw["result"]
    return raw


def parse_update(raw: Any, now: datetime | None = None) -> ZaloUpdate:
    """The update's fields; `Malformed` when it is not an update at all."""
    raw = unwrap(raw)
    if not isinstance(raw, dict):
        raise Malformed(f"an update is a JSON object, not {type(raw).__name__}")
    message = raw.get("message")
    if not isinstance(message, dict):
        raise Malformed("an update without a message object")
    message_id = _identifier(message.get("message_id"))
    chat = message.get("chat")
    chat_id = _identifier(chat.get("id")) if isinstance(chat, dict) else None
    if message_id is None or chat_id is None:
        raise Malformed("a message without message_id or chat.id")
    assert isinstance(chat, dict)
    sender = message.get("from")
    sender = sender if isinstance(sender, dict) else {}
    text = _text(message.get("text"))
    caption = _text(message.get("caption"))
    photo_url = _text(message.get("photo_url"))
    event_name = raw.get("event_name")
    if not isinstance(event_name, str) or not event_name:
        event_name = _inferred_event(text, photo_url, message)
    return ZaloUpdate(
        event_name=event_name,
        message_id=message_id,
        chat_id=chat_id,
        chat_type=str(chat.get("chat_type") or PRIVATE).upper(),
        date=_date(message.get("date"), now),
        sender_id=_identifier(sender.get("id")),
        sender_name=_text(sender.get("display_name")) or _text(sender.get("first_name")),
        text=text,
        caption=caption,
        photo_url=photo_url,
    )


def to_events(
    update: ZaloUpdate, name: str, *, bot_name: str | None = None, max_text_chars: int = 16_384
) -> tuple[InboundEvent, ...]:
    """The core events of one update: none for stickers, unsupported messages, images without
    a picture or a caption and commands that are not botkit's."""
    body = update.text if update.text is not None else update.caption
    body = body if body and body.strip() else ""
    photo = _web_url(update.photo_url) if update.text is None else None
    if not body and photo is None:
        return ()
    command = parse_command(body, bot_name) if body else None
    if command is not None:
        if not command.name:
            return ()  # addressed to another bot
        if update.chat_type != PRIVATE and command.name not in OFFICER_COMMANDS:
            return ()  # a command typed in a group is not a resident's report
        return (
            OfficerCommand(
                platform=name,
                # In a private chat the chat id is the user's id (the docs' sample).
                sender_id=update.sender_id or update.chat_id,
                command=command.name,
                argument=command.argument,
                at=update.date,
                chat_id=update.chat_id,
                reply_ref=update.message_id,
                event_id=update.event_id,
            ),
        )
    text, cut = clip(body, max_text_chars)
    extra: list[tuple[str, str]] = []
    if update.text is None:
        extra.append(("media", "photo"))
    if photo is not None:
        extra.append((PHOTO, photo))
    if cut:
        extra.append(("truncated", "1"))
    return (
        Message(
            platform=name,
            chat_id=update.chat_id,
            message_id=update.message_id,
            text=text,
            sent_at=update.date,
            sender_id=update.sender_id,
            sender_name=update.sender_name,
            is_caption=update.text is None and bool(text),
            extra=tuple(extra),
            private=update.chat_type == PRIVATE,
        ),
    )


def _inferred_event(text: str | None, photo_url: str | None, message: dict[str, Any]) -> str:
    if photo_url is not None:
        return IMAGE
    if text is not None:
        return TEXT
    if message.get("sticker") is not None:
        return STICKER
    return UNSUPPORTED


def _web_url(value: str | None) -> str | None:
    """An http(s) URL, stripped; anything else is no picture botkit will fetch."""
    url = value.strip() if value else ""
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def _identifier(value: Any) -> str | None:
    """Zalo's ids are strings; numbers are accepted too. Empty or other types: None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _date(value: Any, now: datetime | None) -> datetime:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        seconds = value / 1000 if value >= _SECONDS_BELOW else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return now or datetime.now(UTC)
