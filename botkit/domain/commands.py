"""Officer commands arriving from any platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

COMMANDS = ("ack", "confirm", "false", "resolve", "incidents", "oncall", "answer", "bulletin")
# Answered for anyone who asks in private: what this person may do here.
HELP_COMMANDS = ("help", "start")
# What residents may do in a private chat, by every name they may type (Vietnamese first).
RESIDENT_COMMANDS: dict[str, str] = {
    "togiac": "tip",
    "baotin": "tip",
    "tip": "tip",
    "tinhtrang": "status",
    "status": "status",
    "huy": "cancel",
    "cancel": "cancel",
}
# Every command a private chat with the bot may carry, for adapters that filter.
PRIVATE_COMMANDS = frozenset({*COMMANDS, *HELP_COMMANDS, *RESIDENT_COMMANDS})


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

    @property
    def in_private(self) -> bool:
        """Typed or pressed in the sender's private chat with the bot (on every platform
        botkit speaks, a private chat's id is the user's id)."""
        return self.chat_id is None or self.chat_id == self.sender_id


@dataclass(frozen=True, slots=True)
class OfficerAction:
    incident_id: int
    officer_id: str
    action: str
    at: datetime
    from_state: str
    to_state: str
