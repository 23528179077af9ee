"""The adapter port: how a platform talks to the core, and the core to a platform.

An adapter turns its platform's updates into core events and submits them to the
inbox; the core sends `Outbound` actions back through `send`. An action the
platform cannot do raises `Unsupported`, so capabilities are explicit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Protocol

from botkit.config import AdapterSettings
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Outbound


@dataclass(frozen=True, slots=True)
class GroupJoined:
    platform: str
    chat_id: str
    title: str | None
    by: str | None


@dataclass(frozen=True, slots=True)
class GroupLeft:
    platform: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class GroupSetup:
    """A group admin binds a group to a commune (`/setup <commune>`)."""

    platform: str
    chat_id: str
    query: str
    by: str | None


@dataclass(frozen=True, slots=True)
class GroupMigrated:
    platform: str
    old_chat_id: str
    new_chat_id: str


InboundEvent = Message | OfficerCommand | GroupJoined | GroupLeft | GroupSetup | GroupMigrated


class Inbox(Protocol):
    async def submit(self, event: InboundEvent) -> None: ...


class Unsupported(Exception):
    """The platform cannot perform this action (e.g. deleting on Messenger)."""


class DeliveryError(Exception):
    """Sending failed; the core keeps the alert and retries later."""


class Adapter(ABC):
    platform: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset({"send"})

    def __init__(self, name: str, settings: AdapterSettings) -> None:
        self.name = name
        self.settings = settings

    @abstractmethod
    async def run(self, inbox: Inbox) -> None:
        """Receive until the source ends or `close` is called."""

    @abstractmethod
    async def send(self, action: Outbound) -> str | None:
        """Perform an action; return the platform's id of a sent message, if any."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving and release resources."""
