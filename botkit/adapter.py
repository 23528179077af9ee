"""The adapter port: how a platform talks to the core, and the core to a platform.

An adapter turns its platform's updates into core events and submits them to the
inbox; the core sends `Outbound` actions back through `send`. An action the
platform cannot do raises `Unsupported`, so capabilities are explicit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from botkit.config import AdapterSettings
from botkit.domain import Message, OfficerCommand
from botkit.outbound import Outbound
from botkit.pacing import Rate

# `event_id` is the platform's identity of what caused the event (Telegram: the update), so
# that the same event delivered twice is recognised and handled once.


@dataclass(frozen=True, slots=True)
class GroupJoined:
    platform: str
    chat_id: str
    title: str | None
    by: str | None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupLeft:
    platform: str
    chat_id: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupSetup:
    """A group admin binds a group to a commune (`/setup <commune>`)."""

    platform: str
    chat_id: str
    query: str
    by: str | None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupMigrated:
    platform: str
    old_chat_id: str
    new_chat_id: str
    event_id: str | None = None


InboundEvent = Message | OfficerCommand | GroupJoined | GroupLeft | GroupSetup | GroupMigrated


class Inbox(Protocol):
    """Where an adapter hands over events.

    When `submit` returns, the events are durable: only then may the adapter tell its
    platform they arrived (advance Telegram's offset, answer a webhook 200). It raises
    `IntakeUnavailable` when they were not accepted; the platform must keep them.
    """

    async def submit(self, event: InboundEvent) -> None: ...

    async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        """Accept several events at once (all or none). `wait=False`: raise `IntakeFull`
        instead of waiting for room (a webhook answers a retryable status)."""
        ...


class IntakeUnavailable(Exception):
    """The events were not accepted (storage failing, or botkit stopping): do not confirm
    them to the platform, which will deliver them again."""


class IntakeFull(IntakeUnavailable):
    """Too many accepted events wait already: slow down and retry."""


class Unsupported(Exception):
    """The platform cannot perform this action (e.g. deleting on Messenger)."""


class PhotoUnavailable(Exception):
    """A message's picture could not be fetched (gone, too big, the platform failing): the
    message says why, in one line. The caption is classified anyway."""


class DeliveryError(Exception):
    """Sending failed; the core keeps the alert and decides what next.

    `permanent`: retrying cannot help (blocked bot, deleted account, chat gone); the core
    tries the officer's next contact or moves the chain on. `retry_after`: the platform asked
    for a pause (seconds). `ambiguous`: the request may have reached the platform before the
    failure (a timeout, a dropped connection), so a retry may show the message twice.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class Adapter(ABC):
    platform: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset({"send"})

    def __init__(self, name: str, settings: AdapterSettings) -> None:
        self.name = name
        self.settings = settings

    def send_limits(self, action: Outbound) -> tuple[Rate, ...]:
        """The platform's rate limits this action counts against (keys unique to this bot);
        the dispatcher keeps them for every process sharing the store."""
        return ()

    def exclusive_source(self) -> str | None:
        """A source that only one process may read at a time (Telegram's getUpdates answers
        a second reader with 409 Conflict), named so a store can hold it; None if any
        number may (webhooks behind a load balancer, the console)."""
        return None

    @abstractmethod
    async def run(self, inbox: Inbox) -> None:
        """Receive until the source ends or `close` is called."""

    @abstractmethod
    async def send(self, action: Outbound) -> str | None:
        """Perform an action; return the platform's id of a sent message, if any."""

    async def fetch_photo(self, ref: str, max_bytes: int) -> bytes:
        """The picture a message's `photo_ref` names, at most `max_bytes` long
        (`PhotoUnavailable` otherwise). Adapters with the "photos" capability implement it."""
        raise Unsupported(f"adapter {self.name!r} cannot fetch pictures")

    async def prepare_sending(self) -> None:  # noqa: B027 - optional hook
        """Make the send side ready (a session, a checked token) at start, so the first alert
        after a start does not wait for it. A failure is the first send's to report."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving and release resources."""
