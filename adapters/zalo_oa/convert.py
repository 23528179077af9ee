"""Zalo OA webhook events → botkit core events.

- `user_send_<kind>`: a user wrote to the OA. `/ack 12` typed, or `#ack 12` sent by a pressed
  button, is an `OfficerCommand` (the desk checks that the sender is an officer); any other
  text, or an image (its caption, if any, as `text` with `is_caption`), is a `Message` in the
  user's chat.
- `user_send_group_<kind>`: a member wrote in a GMF group the OA manages: a `Message` in the
  group's chat (`group:<id>`), an image too, with or without a caption. Commands there are
  not acted on: a group has no way to address the OA, and alerts are answered in the
  officer's own chat.
- Anything else (follow, user_seen_message, oa_send_*, …) is ignored.

The group's id turns up in different places (NOTES §3, unsure which Zalo uses): taken from
`recipient.group_id`, else `message.conversation_id`, else `recipient.id` unless that is the
OA's own id. `msg_id` identifies the event, so a redelivered one is recognised by the core.
An image's picture is `message.attachments[{"type": "image", "payload": {"url", "thumbnail"}}]`:
the first one's `url` (its `thumbnail` if it has none) becomes the message's `photo` extra,
fetched later by the adapter for the core; only http(s) URLs are taken.
An event that is JSON but lacks what its kind needs is `Malformed` (answered 400).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from adapters.kit.commands import Command, parse_command
from adapters.kit.text import clip
from adapters.kit.webhook import Malformed
from adapters.zalo_oa.buttons import parse_payload
from adapters.zalo_oa.chats import group_chat_id
from botkit.adapter import InboundEvent
from botkit.domain import Message, OfficerCommand
from botkit.domain.message import PHOTO

DIRECT = "user_send_"
GROUP = "user_send_group_"
_WEB = ("http", "https")


@dataclass(frozen=True, slots=True)
class ConvertContext:
    name: str  # the adapter's config name: the events' platform
    oa_id: str
    max_text_chars: int = 16_384


@dataclass(frozen=True, slots=True)
class UserEvent:
    """The parts of a user_send_* event botkit reads."""

    kind: str  # "text", "image", "link", …
    sender_id: str
    msg_id: str
    text: str | None
    sent_at: datetime
    group_id: str | None  # None: written to the OA directly
    photo_url: str | None = None  # an image's picture, on Zalo's CDN


def convert_event(data: Any, ctx: ConvertContext) -> tuple[InboundEvent, ...]:
    if not isinstance(data, dict):
        raise Malformed("an event must be a JSON object")
    name = data.get("event_name")
    if not isinstance(name, str) or not name:
        raise Malformed("event without event_name")
    if not name.startswith(DIRECT):
        return ()
    event = read_user_event(data, name, ctx)
    text = event.text or ""
    if not text.strip() and event.photo_url is None:
        return ()  # a sticker, a file, an image without a picture: nothing to read
    if event.group_id is not None:
        if event.kind == "text" and _command(text) is not None:
            return ()  # a command, not a resident's message, and not acted on in groups
        return (_message(event, group_chat_id(event.group_id), ctx, private=False),)
    command = _command(text) if event.kind == "text" else None
    if command is not None:
        return (_officer_command(event, command, ctx),) if command.name else ()
    # A person writing to the OA: a private conversation, whose chat is the person.
    return (_message(event, event.sender_id, ctx, private=True),)


def read_user_event(data: dict[str, Any], name: str, ctx: ConvertContext) -> UserEvent:
    grouped = name.startswith(GROUP)
    kind = name.removeprefix(GROUP if grouped else DIRECT)
    message = data.get("message")
    if not isinstance(message, dict):
        raise Malformed(f"{name} without a message object")
    msg_id = _ident(message.get("msg_id"))
    if msg_id is None:
        raise Malformed(f"{name} without message.msg_id")
    sender = data.get("sender")
    sender_id = _ident(sender.get("id")) if isinstance(sender, dict) else None
    if sender_id is None:
        raise Malformed(f"{name} {msg_id} without sender.id")
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        raise Malformed(f"{name} {msg_id}: message.text is not a string")
    group_id = _group_id(data, message, ctx.oa_id) if grouped else None
    if grouped and group_id is None:
        raise Malformed(f"{name} {msg_id} names no group")
    return UserEvent(
        kind,
        sender_id,
        msg_id,
        text,
        _when(data.get("timestamp"), name),
        group_id,
        _photo_url(message.get("attachments")),
    )


def _photo_url(attachments: object) -> str | None:
    """The first image attachment's URL (its thumbnail's if it has no `url`), if http(s)."""
    if not isinstance(attachments, list):
        return None
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("type") != "image":
            continue
        payload = attachment.get("payload")
        if not isinstance(payload, dict):
            continue
        for key in ("url", "thumbnail"):
            url = payload.get(key)
            if isinstance(url, str) and urlsplit(url.strip()).scheme.lower() in _WEB:
                return url.strip()
    return None


def _group_id(data: dict[str, Any], message: dict[str, Any], oa_id: str) -> str | None:
    recipient = data.get("recipient")
    recipient = recipient if isinstance(recipient, dict) else {}
    found = _ident(recipient.get("group_id")) or _ident(message.get("conversation_id"))
    if found is not None:
        return found
    candidate = _ident(recipient.get("id"))
    return candidate if candidate != oa_id else None


def _ident(value: object) -> str | None:
    """An id as text; Zalo's ids are strings, but numbers are tolerated."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _when(value: object, name: str) -> datetime:
    """`timestamp`: milliseconds since the epoch, as a string (a number is tolerated)."""
    try:
        millis = int(str(value))
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise Malformed(f"{name}: timestamp {value!r} is not milliseconds") from None


def _command(text: str) -> Command | None:
    return parse_command(text, None) or parse_payload(text)


def _officer_command(event: UserEvent, command: Command, ctx: ConvertContext) -> OfficerCommand:
    return OfficerCommand(
        platform=ctx.name,
        sender_id=event.sender_id,
        command=command.name,
        argument=command.argument,
        at=event.sent_at,
        chat_id=event.sender_id,
        reply_ref=event.msg_id,
        event_id=event.msg_id,
    )


def _message(event: UserEvent, chat_id: str, ctx: ConvertContext, *, private: bool) -> Message:
    body = event.text or ""
    text, cut = clip(body if body.strip() else "", ctx.max_text_chars)
    extra: list[tuple[str, str]] = []
    if event.photo_url is not None:
        extra += [("media", "photo"), (PHOTO, event.photo_url)]
    elif event.kind != "text":
        extra.append(("media", event.kind))
    if cut:
        extra.append(("truncated", "1"))
    return Message(
        platform=ctx.name,
        chat_id=chat_id,
        message_id=event.msg_id,
        text=text,
        sent_at=event.sent_at,
        sender_id=event.sender_id,
        is_caption=event.kind != "text" and bool(text),
        extra=tuple(extra),
        private=private,
    )
