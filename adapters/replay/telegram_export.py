"""Telegram Desktop chat exports (`result.json`), in the format the app really writes.

`text` is a string or a list of strings and entity objects; service messages have
`"type": "service"`; photos without their file say "(File not included. …)";
`"from": null` marks a deleted account. A whole-account export nests chats under
`chats.list`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from adapters.replay.errors import ReplayError
from botkit.domain import Message

PLATFORM = "telegram"


def flatten_text(value: Any) -> str:
    """`text` as plain text: strings and the `text` of entity objects, in order."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return ""


def read_export(path: Path, tz: ZoneInfo) -> Iterator[Message | ReplayError]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        yield ReplayError(str(path), f"byte {exc.start}", f"not UTF-8: {exc.reason}")
        return
    except json.JSONDecodeError as exc:
        yield ReplayError(
            str(path), f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}"
        )
        return
    if not isinstance(data, dict):
        yield ReplayError(str(path), "top level", "expected a JSON object (a Telegram export)")
        return
    chats = data.get("chats", {}).get("list") if isinstance(data.get("chats"), dict) else None
    for chat in chats if isinstance(chats, list) else [data]:
        yield from _read_chat(path, chat, tz)


def _read_chat(path: Path, chat: dict[str, Any], tz: ZoneInfo) -> Iterator[Message | ReplayError]:
    messages = chat.get("messages")
    if not isinstance(messages, list):
        yield ReplayError(str(path), "top level", "no `messages` list: not a Telegram chat export")
        return
    chat_id = str(chat.get("id", path.stem))
    title = chat.get("name") if isinstance(chat.get("name"), str) else None
    for index, raw in enumerate(messages):
        where = f"messages[{index}]" + (f" (id {raw.get('id')})" if isinstance(raw, dict) else "")
        if not isinstance(raw, dict):
            yield ReplayError(str(path), where, "not an object")
            continue
        if raw.get("type", "message") != "message":
            continue  # service messages: joins, pins, title changes
        try:
            yield _message(raw, chat_id, title, tz)
        except (KeyError, TypeError, ValueError) as exc:
            yield ReplayError(str(path), where, str(exc) or type(exc).__name__)


def _message(raw: dict[str, Any], chat_id: str, title: str | None, tz: ZoneInfo) -> Message:
    if "id" not in raw:
        raise KeyError("missing `id`")
    text = flatten_text(raw.get("text", ""))
    has_media = any(k in raw for k in ("photo", "file", "media_type"))
    sender_name = raw.get("from")
    forwarded = raw.get("forwarded_from")
    reply_to = raw.get("reply_to_message_id")
    return Message(
        platform=PLATFORM,
        chat_id=chat_id,
        message_id=str(raw["id"]),
        text=text,
        sent_at=_date(raw),
        sender_id=str(raw["from_id"]) if raw.get("from_id") else None,
        sender_name=sender_name if isinstance(sender_name, str) else None,
        is_caption=has_media and bool(text),
        forwarded_from=str(forwarded) if forwarded else None,
        reply_to=str(reply_to) if reply_to is not None else None,
        chat_title=title,
    )


def _date(raw: dict[str, Any]) -> datetime:
    unix = raw.get("date_unixtime")
    if unix is not None:
        return datetime.fromtimestamp(int(unix), UTC)
    if "date" not in raw:
        raise KeyError("missing `date`")
    value = datetime.fromisoformat(str(raw["date"]))
    # Exports without date_unixtime write local wall-clock time.
    return value if value.tzinfo else value.replace(tzinfo=_LOCAL).astimezone(UTC)


_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
