"""Officer commands arriving from any platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

COMMANDS = ("ack", "confirm", "false", "resolve", "incidents", "oncall")


@dataclass(frozen=True, slots=True)
class OfficerCommand:
    """`/ack 12` typed in a chat or a button pressed under an alert."""

    platform: str
    sender_id: str
    command: str
    argument: str | None
    at: datetime
    chat_id: str | None = None
    reply_ref: str | None = None
    event_id: str | None = None  # the platform's identity of the press or message


@dataclass(frozen=True, slots=True)
class OfficerAction:
    incident_id: int
    officer_id: str
    action: str
    at: datetime
    from_state: str
    to_state: str
