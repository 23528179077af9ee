"""Meta's webhook posts for a Page → botkit core events.

A post holds entries (one per Page and time slice), each with a list of `messaging` items;
Meta batches several of both into one post. Every item of one post is converted here and the
events are handed over together, so the post is answered 200 only once all are stored.

- A person's text message → `Message` (the chat is the person's conversation with the Page,
  keyed by their page-scoped id, PSID), or `OfficerCommand` when it is a typed `/ack 12`.
- A person's picture (`message.attachments[{"type": "image", "payload": {"url"}}]`) →
  `Message` with its URL as the `photo` extra (the first picture's, http(s) only; the adapter
  fetches it when the core asks) and its text, if any, as a caption. Messenger sends a
  picture's accompanying text as a message of its own, so the text is mostly "". A sticker
  is an image attachment too (with `sticker_id`): not a picture to read.
- A tapped quick reply or a pressed postback button carrying a botkit payload (`ack:12`) →
  `OfficerCommand`.
- Echoes of the Page's own messages, delivery and read receipts, reactions and the like are
  ignored; so are entries of other Pages the same Meta app serves.

Items that are JSON but unusable are skipped one by one (a log line each); a post that is not
a Page post at all is `Malformed` (400).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from adapters.kit.commands import (
    DIRECT_COMMANDS,
    Command,
    parse_button,
    parse_command,
)
from adapters.kit.text import clip
from adapters.kit.webhook import Malformed
from botkit.adapter import InboundEvent
from botkit.domain import Message, OfficerCommand
from botkit.domain.message import PHOTO

log = logging.getLogger(__name__)

_MAX_ID = 256  # PSIDs are ~17 digits, mids ~100 characters
_YEAR_3000_MS = 32_503_680_000_000


class Unusable(ValueError):
    """One messaging item that cannot be converted: skipped with a log line."""


@dataclass(frozen=True, slots=True)
class ConvertContext:
    name: str  # the adapter's config name: the events' `platform`
    page_id: str
    max_text_chars: int = 16_384


@dataclass(frozen=True, slots=True)
class Converted:
    """What one post yields: the events, and counts of what was left out."""

    events: tuple[InboundEvent, ...] = ()
    items: int = 0
    skipped: int = 0  # unusable items, each logged
    ignored: int = 0  # echoes, receipts, other Pages: nothing to do


def convert_post(body: Any, ctx: ConvertContext) -> Converted:
    """All events of one webhook post, in Meta's order."""
    if not isinstance(body, dict):
        raise Malformed(f"a webhook post is a JSON object, not {type(body).__name__}")
    kind = body.get("object")
    entries = body.get("entry")
    if kind != "page":
        # Another product of the same app (Instagram, WhatsApp) posting to this URL.
        log.info("messenger %s: a post for object %r ignored", ctx.name, kind)
        return Converted(ignored=1)
    if not isinstance(entries, list):
        raise Malformed("a Page post without an `entry` list")
    events: list[InboundEvent] = []
    items = skipped = ignored = 0
    for where, item in _items(entries, ctx):
        items += 1
        if item is None:
            ignored += 1
            continue
        try:
            if isinstance(item, Unusable):
                raise item
            event = convert_item(item, ctx)
        except Unusable as exc:
            skipped += 1
            log.warning("messenger %s: skipping an unusable event (%s): %s", ctx.name, where, exc)
            continue
        if event is None:
            ignored += 1
        else:
            events.append(event)
    return Converted(tuple(events), items, skipped, ignored)


def _items(entries: list[Any], ctx: ConvertContext) -> Iterator[tuple[str, Any]]:
    """(where, item) for each messaging item: None for what is ignored, `Unusable` for a
    broken entry (so that one bad entry costs only itself)."""
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            yield f"entry {i}", Unusable(f"an entry is an object, not {type(entry).__name__}")
            continue
        page = str(entry.get("id", ""))
        messaging = entry.get("messaging")
        if page != ctx.page_id:
            # One Meta app may serve several Pages through one webhook URL.
            log.info("messenger %s: an entry of Page %s ignored", ctx.name, page[:40] or "?")
            yield f"entry {i}", None
            continue
        if messaging is None:
            yield f"entry {i}", None  # `standby` (another app holds the thread) or `changes`
            continue
        if not isinstance(messaging, list):
            yield f"entry {i}", Unusable("`messaging` is not a list")
            continue
        for j, item in enumerate(messaging):
            yield f"entry {i} item {j}", item


def convert_item(item: Any, ctx: ConvertContext) -> InboundEvent | None:
    """One messaging item → an event, or None when it means nothing to botkit."""
    if not isinstance(item, dict):
        raise Unusable(f"a messaging item is an object, not {type(item).__name__}")
    message = item.get("message")
    if isinstance(message, dict) and message.get("is_echo"):
        return None  # the Page's own message, sent by botkit or by a Page admin
    postback = item.get("postback")
    if message is None and postback is None:
        # Delivery and read receipts, reactions, opt-ins, referrals, handovers: nothing to do.
        log.debug("messenger %s: an item %s ignored", ctx.name, sorted(item)[:5])
        return None
    sender = _psid(item.get("sender"))
    at = _time(item.get("timestamp"))
    if message is not None:
        if not isinstance(message, dict):
            raise Unusable("`message` is not an object")
        return _message(message, sender, at, ctx)
    if not isinstance(postback, dict):
        raise Unusable("`postback` is not an object")
    return _postback(postback, sender, at, item.get("timestamp"), ctx)


def _message(
    message: dict[str, Any], sender: str, at: datetime, ctx: ConvertContext
) -> InboundEvent | None:
    mid = _mid(message.get("mid"))
    quick = message.get("quick_reply")
    if isinstance(quick, dict):
        pressed = parse_button(_payload(quick.get("payload")))
        if pressed is not None:
            if pressed.name not in DIRECT_COMMANDS:
                return None  # `setup:` buttons belong to groups, which Messenger has none of
            return _command(ctx, sender, pressed, at, mid, mid)
    text = message.get("text")
    text = text if isinstance(text, str) and text.strip() else ""
    photo = _photo(message)
    if not text and photo is None:
        return None  # a sticker, a video, a like: nothing to read
    typed = parse_command(text, None) if text else None
    if typed is not None:
        if typed.name not in DIRECT_COMMANDS:
            return None  # /setup, another bot's command: not a resident's report
        return _command(ctx, sender, typed, at, mid, mid)
    body, cut = clip(text, ctx.max_text_chars)
    reply = message.get("reply_to")
    reply_to = reply.get("mid") if isinstance(reply, dict) else None
    extra: list[tuple[str, str]] = []
    if photo is not None:
        extra += [("media", "photo"), (PHOTO, photo)]
    if cut:
        extra.append(("truncated", "1"))
    return Message(
        platform=ctx.name,
        chat_id=sender,  # a private conversation: the person's PSID is the chat
        message_id=mid,
        text=body,
        sent_at=at,
        sender_id=sender,
        is_caption=photo is not None and bool(body),
        reply_to=reply_to if isinstance(reply_to, str) else None,
        extra=tuple(extra),
        private=True,
    )


def _photo(message: dict[str, Any]) -> str | None:
    """The URL of the message's first picture, if it has one (stickers are not pictures)."""
    attachments = message.get("attachments")
    if message.get("sticker_id") is not None or not isinstance(attachments, list):
        return None
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("type") != "image":
            continue
        payload = attachment.get("payload")
        if not isinstance(payload, dict) or payload.get("sticker_id") is not None:
            continue
        url = payload.get("url")
        if isinstance(url, str) and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
            return url.strip()
    return None


def _postback(
    postback: dict[str, Any], sender: str, at: datetime, timestamp: Any, ctx: ConvertContext
) -> InboundEvent | None:
    payload = _payload(postback.get("payload"))
    pressed = parse_button(payload)
    if pressed is None or pressed.name not in DIRECT_COMMANDS:
        return None  # "Get started" and other buttons that are not botkit's
    # A redelivered postback carries the same sender, time and payload: its identity.
    identity = f"{sender}:{timestamp}:{payload}".encode()
    event_id = "postback:" + hashlib.sha256(identity).hexdigest()[:32]
    return _command(ctx, sender, pressed, at, event_id, None)


def _command(
    ctx: ConvertContext,
    sender: str,
    pressed: Command,
    at: datetime,
    event_id: str,
    reply_ref: str | None,
) -> OfficerCommand:
    return OfficerCommand(
        platform=ctx.name,
        sender_id=sender,
        command=pressed.name,
        argument=pressed.argument,
        at=at,
        chat_id=sender,  # the reply goes back into the same conversation
        reply_ref=reply_ref,
        event_id=event_id,
    )


def _psid(sender: Any) -> str:
    raw = sender.get("id") if isinstance(sender, dict) else None
    # Meta sends ids as strings; a number is accepted too (never seen, harmless).
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip() or len(raw) > _MAX_ID:
        raise Unusable("no sender id")
    return raw.strip()


def _time(timestamp: Any) -> datetime:
    """Meta's `timestamp`: milliseconds since the epoch (a digit string is accepted too)."""
    if isinstance(timestamp, str) and timestamp.isdigit():
        timestamp = int(timestamp)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise Unusable("no timestamp")
    if not 0 < timestamp < _YEAR_3000_MS:
        raise Unusable(f"timestamp {timestamp!r} out of range")
    return datetime.fromtimestamp(timestamp / 1000, UTC)


def _mid(mid: Any) -> str:
    if not isinstance(mid, str) or not mid or len(mid) > _MAX_ID * 4:
        raise Unusable("a message without `mid`")
    return mid


def _payload(payload: Any) -> str | None:
    # Quick replies may carry a number as payload; botkit's are always strings.
    return payload if isinstance(payload, str) else None
