"""Plain JSONL histories: one message object per line.

Keys: `text` (required), `chat_id`, `message_id`, `date` (ISO or unix seconds),
`from`/`sender`, `platform`, `forwarded_from`, `reply_to`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.replay.errors import ReplayError
from adapters.replay.telegram_export import flatten_text
from botkit.domain import Message


def read_jsonl(path: Path) -> Iterator[Message | ReplayError]:
    with path.open("rb") as fh:
        for number, raw_line in enumerate(fh, start=1):
            where = f"line {number}"
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield ReplayError(str(path), where, f"not UTF-8 at byte {exc.start}")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield ReplayError(
                    str(path), f"{where} column {exc.colno}", f"invalid JSON: {exc.msg}"
                )
                continue
            try:
                yield _message(obj, path, number)
            except (KeyError, TypeError, ValueError) as exc:
                yield ReplayError(str(path), where, str(exc) or type(exc).__name__)


def _message(obj: Any, path: Path, number: int) -> Message:
    if not isinstance(obj, dict):
        raise TypeError("expected a JSON object")
    if "text" not in obj and "caption" not in obj:
        raise KeyError("missing `text`")
    sender = obj.get("from", obj.get("sender"))
    if isinstance(sender, dict):
        sender = sender.get("name") or sender.get("id")
    return Message(
        platform=str(obj.get("platform", "telegram")),
        chat_id=str(obj.get("chat_id", path.stem)),
        message_id=str(obj.get("message_id", obj.get("id", number))),
        text=flatten_text(obj.get("text", obj.get("caption", ""))),
        sent_at=_date(obj.get("date", obj.get("sent_at"))),
        sender_id=str(sender) if sender is not None else None,
        sender_name=str(sender) if sender is not None else None,
        is_caption="caption" in obj,
        forwarded_from=obj.get("forwarded_from"),
        reply_to=str(obj["reply_to"]) if obj.get("reply_to") is not None else None,
    )


def _date(value: Any) -> datetime:
    if value is None:
        raise KeyError("missing `date`")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
