"""Plain records that cross the storage port. Frozen: a backend hands out copies, never rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botkit.domain import Incident


@dataclass(frozen=True, slots=True)
class FlaggedRecord:
    """What is kept of a flagged message: nothing more than the case needs."""

    message_key: str
    platform: str
    chat_id: str
    message_id: str
    sender_hash: str | None
    text_hash: str
    excerpt: str
    category: str
    score: float
    model_version: str
    evidence: tuple[tuple[str, str], ...]
    received_at: datetime


@dataclass(frozen=True, slots=True)
class NewIncident:
    content_key: str
    category: str
    jurisdiction: int
    unit: str
    copy_units: tuple[str, ...]
    opened_at: datetime
    excerpt: str
    score: float
    claim_id: str | None
    chain: dict[str, Any]
    claim_text: str | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    platform: str
    chat_id: str
    message_id: str
    seen_at: datetime
    corrected: bool


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: Incident
    copy_units: tuple[str, ...]
    chain: dict[str, Any]
    step: int
    fence: int
    exhausted: bool
    claim_text: str | None = None
    version: int = 1
    reminders: int = 0


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One page to one officer: the outbox row and what became of it."""

    id: int
    incident_id: int
    officer_id: str
    platform: str
    contact: str
    kind: str
    step: int
    status: str
    delivery_ref: str | None
    attempts: int
    ambiguous: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class NewPage:
    """A page to queue; (incident, officer, kind, step) identifies it, so it is queued once."""

    incident_id: int
    officer_id: str
    platform: str
    contact: str
    kind: str
    step: int


@dataclass(frozen=True, slots=True)
class NewMessage:
    """Any other outbound action (a reply, a correction in a group, a deletion).

    `dedupe_key` makes queuing idempotent: a redelivered event queues nothing twice.
    """

    dedupe_key: str
    platform: str
    chat_id: str
    action: dict[str, Any]
    incident_id: int | None = None
    # A message to a resident: once it has its outcome, its chat and text are erased (the
    # row stays for its status), so the outbox keeps no trace of who wrote to the police.
    erase: bool = False


@dataclass(frozen=True, slots=True)
class TimerRow:
    id: int
    incident_id: int
    kind: str
    due_at: datetime
    fence: int


# -- claimed delivery work ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim on one row, proven by its fencing token (incremented by every claim)."""

    table: str
    id: int
    token: int


@dataclass(frozen=True, slots=True)
class PageWork:
    lease: Lease
    incident_id: int
    officer_id: str
    platform: str
    contact: str
    kind: str
    step: int
    status: str  # "pending", "retry" or "held"
    attempts: int
    ambiguous: int


@dataclass(frozen=True, slots=True)
class MessageWork:
    lease: Lease
    platform: str
    chat_id: str
    action: dict[str, Any]
    attempts: int
    ambiguous: int


@dataclass(frozen=True, slots=True)
class EditWork:
    lease: Lease
    incident_id: int
    officer_id: str
    platform: str
    contact: str
    kind: str
    step: int
    delivery_ref: str


@dataclass(frozen=True, slots=True)
class DigestWork:
    """Pages held back by an officer's rate limit, sent as one message when it allows."""

    pages: tuple[PageWork, ...]


Work = PageWork | MessageWork | EditWork | DigestWork


@dataclass(frozen=True, slots=True)
class Destination:
    """A chat on a platform: the unit of pacing and ordering for sends."""

    platform: str
    chat_id: str


# -- what became of a piece of work ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    ref: str | None
    version: int = 0
    state: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime
    error: str
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    error: str


@dataclass(frozen=True, slots=True)
class Held:
    until: datetime


@dataclass(frozen=True, slots=True)
class Cancelled:
    reason: str


@dataclass(frozen=True, slots=True)
class Redirected:
    """A page moved to the officer's next contact (the first failed for good)."""

    platform: str
    contact: str
    error: str


Outcome = Sent | Retry | Failed | Held | Cancelled | Redirected


# -- intake ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntakeItem:
    """An accepted event: its identity (a keyed hash) and its sealed payload."""

    key: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    payload: bytes
    deliveries: int
    attempts: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    received_at: datetime
    attempts: int
    deliveries: int
    error: str | None


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """What `botkit status` shows: backlog and health, no personal data."""

    backend: str
    location: str
    intake_pending: int
    intake_in_flight: int
    intake_oldest: datetime | None
    dead_letters: int
    outbox: dict[str, int]
    edits_due: int
    timers_pending: int
    timers_due: int
    incidents_open: int
    # Entries each worker holds now (a fleet's consumers); empty for a single process.
    consumers: dict[str, int] = field(default_factory=dict)
    # Time entries spent in the intake recently: (p50, p99) milliseconds, where measured.
    intake_latency_ms: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "location": self.location,
            "intake": {
                "pending": self.intake_pending,
                "in_flight": self.intake_in_flight,
                "oldest": self.intake_oldest.isoformat() if self.intake_oldest else None,
                "dead_letters": self.dead_letters,
                "held_by": self.consumers,
                "latency_ms": (
                    {"p50": self.intake_latency_ms[0], "p99": self.intake_latency_ms[1]}
                    if self.intake_latency_ms
                    else None
                ),
            },
            "outbox": self.outbox,
            "edits_due": self.edits_due,
            "timers": {"pending": self.timers_pending, "due": self.timers_due},
            "incidents_open": self.incidents_open,
        }


@dataclass(frozen=True, slots=True)
class NewCase:
    """A resident's tip or handed-over question: what an officer needs, nothing more.

    `contact` is the resident's chat, sealed (None: an anonymous tip, which nobody can
    answer or trace); `code_hash` is a hash of the secret part of the case code the
    resident was given, so only its holder can ask for the status.
    """

    kind: str  # "tip" | "question"
    platform: str
    contact: bytes | None
    code_hash: str
    jurisdiction: int
    unit: str
    excerpt: str
    opened_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: int
    kind: str
    platform: str
    contact: bytes | None
    code_hash: str
    jurisdiction: int
    unit: str
    excerpt: str
    state: str  # "open" | "answered" | "closed"
    opened_at: datetime
    updated_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class StatCount:
    """A counter of one day (local date, ISO) in one commune: `messages`, `tips`, …"""

    day: str
    jurisdiction: int
    name: str
    value: int


@dataclass(frozen=True, slots=True)
class StatSample:
    """One measurement (e.g. seconds to acknowledge an incident) for medians in reports."""

    day: str
    jurisdiction: int
    name: str
    value: float


@dataclass(frozen=True, slots=True)
class GroupRow:
    platform: str
    chat_id: str
    jurisdiction: int | None
    status: str
    title: str | None


@dataclass(frozen=True, slots=True)
class NewBulletin:
    """A warning posted to every group of a jurisdiction; `author_*` says where to report
    how it went (None: the command line, which waits for the outcome itself)."""

    text: str
    author: str
    author_platform: str | None
    author_chat: str | None
    targets: tuple[tuple[str, str, int], ...]  # (adapter, chat, commune)
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BulletinRow:
    id: int
    text: str
    author: str
    author_platform: str | None
    author_chat: str | None
    targets: tuple[tuple[str, str, int], ...]
    created_at: datetime
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FlaggedItem:
    """A flagged message as a reviewer sees it (its redacted excerpt, never its text) and the
    label a reviewer gave it (None: not labelled yet)."""

    id: int
    message_key: str
    platform: str
    excerpt: str
    category: str
    score: float
    model_version: str
    evidence: tuple[tuple[str, str], ...]
    received_at: datetime
    incident_id: int | None
    label: str | None = None
    reviewer: str | None = None
    labelled_at: datetime | None = None
