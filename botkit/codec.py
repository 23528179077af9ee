"""Events and outbound actions as JSON, for the intake and the outbox, and events' identities."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import Any

from botkit.adapter import (
    GroupJoined,
    GroupLeft,
    GroupMigrated,
    GroupSetup,
    InboundEvent,
)
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Button, CopyMessage, DeleteMessage, EditText, Outbound, SendText

_EVENTS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (Message, OfficerCommand, GroupJoined, GroupLeft, GroupSetup, GroupMigrated)
}
_ACTIONS: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (SendText, EditText, DeleteMessage, CopyMessage)
}
_TIMES = frozenset({"sent_at", "at"})


class DecodeError(ValueError):
    """A stored event or action this botkit cannot read."""


def _plain(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(obj).__name__}
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else dataclasses.astuple(v) for v in value]
        data[field.name] = value
    return data


def encode_event(event: InboundEvent) -> bytes:
    return json.dumps(_plain(event), ensure_ascii=False, sort_keys=True).encode()


def decode_event(raw: bytes) -> InboundEvent:
    try:
        data = json.loads(raw)
        cls = _EVENTS[data.pop("type")]
        for name in _TIMES & data.keys():
            data[name] = datetime.fromisoformat(data[name])
        if "extra" in data:
            data["extra"] = tuple(tuple(pair) for pair in data["extra"])
        event: InboundEvent = cls(**data)
    except (ValueError, KeyError, TypeError) as exc:
        raise DecodeError(f"not a botkit event: {exc}") from exc
    return event


def event_key(event: InboundEvent) -> str:
    """The event's identity: the same event delivered twice has the same key."""
    if isinstance(event, Message):
        return f"msg:{event.key}"
    kind = type(event).__name__
    if event.event_id:
        return f"{kind}:{event.platform}:{event.event_id}"
    # No identity from the platform (a console line, a test): the content, time included.
    return f"{kind}:{hashlib.sha256(encode_event(event)).hexdigest()}"


def encode_action(action: Outbound) -> dict[str, Any]:
    return _plain(action)


def decode_action(data: dict[str, Any]) -> Outbound:
    try:
        fields = dict(data)
        cls = _ACTIONS[fields.pop("type")]
        if "buttons" in fields:
            fields["buttons"] = tuple(Button(*b) for b in fields["buttons"])
        action: Outbound = cls(**fields)
    except (KeyError, TypeError) as exc:
        raise DecodeError(f"not a botkit action: {exc}") from exc
    return action
