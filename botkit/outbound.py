"""What the core asks an adapter to do. Plain data; each adapter maps it to its platform."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: str  # e.g. "ack:12"; comes back as an OfficerCommand


@dataclass(frozen=True, slots=True)
class SendText:
    chat_id: str
    text: str
    buttons: tuple[Button, ...] = ()
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class EditText:
    chat_id: str
    ref: str
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    chat_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class CopyMessage:
    """A copy of a message (a resident's photo) into another chat, without naming whom it
    came from: not a forward, which would show the sender."""

    chat_id: str
    from_chat_id: str
    message_id: str


Outbound = SendText | EditText | DeleteMessage | CopyMessage
