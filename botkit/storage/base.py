"""The storage port, split by role. Backends: SQLite (embedded default); Redis for scale-out.

Each role is a small protocol. A `Store` offers every role for single operations (each its
own atomic step) and `transaction()`, whose roles commit or roll back together: recording a
flag, opening its incident, queuing its pages, scheduling its next step and marking its
intake entry done are one commit. Work done inside a transaction must use the
transaction's roles, never the store's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from botkit.domain import Incident, IncidentState
from botkit.pacing import RateGate
from botkit.storage.records import (
    AlertRow,
    BulletinRow,
    CaseRow,
    ClaimedEvent,
    DeadLetter,
    Destination,
    FlaggedItem,
    FlaggedRecord,
    GroupRow,
    IncidentDetail,
    IntakeItem,
    NewBulletin,
    NewCase,
    NewIncident,
    NewMessage,
    NewPage,
    Occurrence,
    Outcome,
    StatCount,
    StatSample,
    StoreStatus,
    TimerRow,
    Work,
)

T = TypeVar("T")


class StoreError(RuntimeError):
    """The store cannot be used at all (cannot open, migrate, or write); names the place."""


class StoreUnavailable(StoreError):
    """A write failed for a reason outside the event (disk full, read-only, locked).

    Nothing was committed; the caller keeps its work for a retry.
    """


class IncidentStore(Protocol):
    async def record_flagged(self, record: FlaggedRecord) -> tuple[int, bool]: ...
    async def find_open(self, content_key: str, since: datetime) -> Incident | None: ...
    async def open(self, new: NewIncident) -> Incident: ...
    async def add_occurrence(
        self,
        incident_id: int,
        flagged_id: int,
        platform: str,
        chat_id: str,
        message_id: str,
        seen_at: datetime,
    ) -> tuple[Incident, bool]: ...
    async def get(self, incident_id: int) -> IncidentDetail | None: ...
    async def query(
        self, units: list[str] | None = None, states: list[IncidentState] | None = None
    ) -> list[Incident]: ...
    async def occurrences(self, incident_id: int) -> list[Occurrence]: ...
    async def evidence(self, incident_id: int, limit: int = 8) -> list[tuple[str, str]]: ...
    async def mark_corrected(self, incident_id: int, platform: str, chat_id: str) -> bool: ...
    async def transition(
        self,
        incident_id: int,
        from_state: IncidentState,
        to_state: IncidentState,
        officer_id: str,
        action: str,
        at: datetime,
    ) -> bool:
        """Compare-and-set the state; cancels the incident's pending timers."""
        ...

    async def last_actor(self, incident_id: int) -> str | None: ...
    async def advance_step(self, incident_id: int, step: int, exhausted: bool) -> int:
        """Record the step the chain reached; returns the new fencing token."""
        ...

    async def count_reminder(self, incident_id: int) -> tuple[int, int]:
        """Count one more reminder; returns (reminders sent, new fencing token)."""
        ...

    async def needing_recovery(self) -> list[IncidentDetail]:
        """Open incidents whose chain has no pending timer (a crash, an old version)."""
        ...

    async def add_claim(self, claim_id: str, incident_id: int, text: str, at: datetime) -> None: ...
    async def claims(self, after: int = 0) -> list[tuple[int, str, str]]:
        """(sequence, claim id, text) of known claims, those after `after` only."""
        ...

    async def claim_incident(self, claim_id: str) -> int | None: ...
    async def labelled_verdicts(self) -> list[tuple[str, str, str]]:
        """(message key, excerpt, label) for training: a reviewer's label where there is one
        (`ReviewStore.label`), else one per officer's verdict on the message's incident
        (confirmed: its category; false: normal). Sandbox messages never."""
        ...


class OutboxStore(Protocol):
    """Everything botkit sends, queued in the same commit as the effect that caused it.

    A sender claims one piece of work at a time per destination with a lease and a fencing
    token; only an expired lease can be claimed again, and only the current token can settle.
    """

    async def enqueue_page(self, page: NewPage, at: datetime) -> int | None:
        """Queue a page; None when this (incident, officer, kind, step) was queued before."""
        ...

    async def enqueue_unreachable(self, page: NewPage, at: datetime, error: str) -> None: ...
    async def enqueue_message(self, message: NewMessage, at: datetime) -> bool:
        """Queue an action; False when its dedupe key was queued before."""
        ...

    async def due_destinations(
        self, now: datetime, limit: int, edit_interval: timedelta = ...
    ) -> list[Destination]: ...
    async def claim(
        self,
        destination: Destination,
        owner: str,
        now: datetime,
        lease: timedelta,
        edit_interval: timedelta,
    ) -> Work | None:
        """The next due piece of work for one chat: a page (or the officer's held pages as
        one digest), else another action, else an edit of a delivered alert."""
        ...

    async def settle(self, work: Work, outcome: Outcome, now: datetime) -> bool:
        """Record what became of claimed work; False if the lease was lost meanwhile."""
        ...

    async def reserve_send(
        self, officer_id: str, now: datetime, per_minute: int
    ) -> datetime | None:
        """Take a slot in the officer's one-minute window; the time a slot frees if full."""
        ...

    async def next_due(self) -> datetime | None:
        """When the next queued send, retry or held page falls due (virtual time)."""
        ...

    async def release_held(self, now: datetime) -> int:
        """Make every held page due now (stopping: they go out as digests)."""
        ...

    async def alerts(
        self, incident_id: int | None = None, statuses: list[str] | None = None
    ) -> list[AlertRow]: ...
    async def step_pages(self, incident_id: int, step: int) -> list[AlertRow]: ...
    async def messages(self, statuses: list[str] | None = None) -> list[dict[str, Any]]: ...
    async def message_states(self, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """Status and last error of queued messages by dedupe key (missing: never queued,
        or purged)."""
        ...


class TimerStore(Protocol):
    async def schedule(self, incident_id: int, kind: str, due_at: datetime, fence: int) -> int: ...
    async def due(self, now: datetime) -> list[TimerRow]: ...
    async def take(self, timer_id: int) -> TimerRow | None:
        """Consume a pending timer whose fence is current; None if stale or taken.

        Call it inside the transaction that runs the step, so the step and the timer's
        consumption commit together (exactly once in effect).
        """
        ...

    async def hasten(self, incident_id: int, kind: str, due_at: datetime) -> bool: ...
    async def next_due(self) -> datetime | None: ...
    async def pending(self, incident_id: int | None = None) -> list[TimerRow]: ...


class AuditStore(Protocol):
    async def record(
        self, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
    ) -> None: ...
    async def log(self, limit: int = 1000) -> list[dict[str, Any]]: ...


class IntakeStore(Protocol):
    """Accepted events, durable before the platform is told they arrived.

    Entries are unique by key; a done entry keeps its key (not its payload) for a while, so
    a redelivered event is recognised and not processed twice.
    """

    async def append(self, items: Sequence[IntakeItem], at: datetime) -> int:
        """Store new events; returns how many were new (duplicates are ignored)."""
        ...

    async def claim(
        self, owner: str, limit: int, now: datetime, lease: timedelta, max_deliveries: int
    ) -> list[ClaimedEvent]: ...
    async def done(self, ids: Sequence[int], at: datetime) -> None: ...
    async def fail(self, entry_id: int, error: str, retry_at: datetime, max_attempts: int) -> bool:
        """Count a failed attempt; True when the entry became a dead letter."""
        ...

    async def release(self, ids: Sequence[int]) -> None:
        """Give entries back without counting an attempt (shutdown, storage trouble)."""
        ...

    async def backlog(self) -> int: ...
    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...
    async def requeue_dead(self) -> int: ...


class GroupStore(Protocol):
    async def upsert(
        self, platform: str, chat_id: str, jurisdiction: int | None, status: str, title: str | None
    ) -> None: ...
    async def get(self, platform: str, chat_id: str) -> tuple[int | None, str] | None: ...
    async def all(self) -> list[GroupRow]:
        """Every group registered at run time, by platform and chat."""
        ...


class MetaStore(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str) -> None: ...
    async def hold(self, name: str, owner: str, now: datetime, ttl: timedelta) -> str | None:
        """Take or renew a named hold until now + ttl; the other holder's name if it is
        someone else's and has not expired (then nothing changes)."""
        ...

    async def let_go(self, name: str, owner: str) -> None: ...


class CaseStore(Protocol):
    """Residents' tips and handed-over questions, numbered for the resident to follow."""

    async def open(self, new: NewCase) -> int: ...
    async def get(self, case_id: int) -> CaseRow | None: ...
    async def set_state(self, case_id: int, state: str, at: datetime) -> bool:
        """False when there is no such case (purged, or never opened)."""
        ...

    async def link(self, case_id: int, incident_id: int) -> None:
        """The incident a tip opened (its state is what the resident is told)."""
        ...

    async def opened_between(self, start: datetime, end: datetime) -> list[CaseRow]: ...


class DraftStore(Protocol):
    """A conversation in progress (a tip being told), sealed by the caller; a draft not
    touched for a while is discarded (`get` with `since`, and the purge)."""

    async def get(self, key: str, since: datetime) -> bytes | None: ...
    async def put(self, key: str, payload: bytes, at: datetime) -> None: ...
    async def drop(self, key: str) -> None: ...


class StatsStore(Protocol):
    """Daily counters and samples per commune, for monthly reports (no personal data)."""

    async def add(self, day: str, jurisdiction: int, name: str, value: int = 1) -> None: ...
    async def observe(self, day: str, jurisdiction: int, name: str, value: float) -> None: ...
    async def counts(self, first_day: str, last_day: str) -> list[StatCount]: ...
    async def samples(self, first_day: str, last_day: str) -> list[StatSample]: ...


class BulletinStore(Protocol):
    """Warnings posted to every group of a jurisdiction, until their outcome is reported."""

    async def open(self, new: NewBulletin) -> int: ...
    async def get(self, bulletin_id: int) -> BulletinRow | None: ...
    async def unfinished(self) -> list[BulletinRow]: ...
    async def finish(self, bulletin_id: int, at: datetime) -> bool:
        """False when it was finished already (another worker reported it)."""
        ...

    async def since(self, at: datetime) -> list[BulletinRow]: ...


class ReviewStore(Protocol):
    """Flagged messages as reviewers see them, and the labels reviewers give them for
    training. `pending` and `labelled` never list sandbox messages (`botkit.sandbox`): demo
    posts are not training data; `get` and `find` return any flagged message."""

    async def pending(
        self, incidents: Sequence[int] | None = None, limit: int = 100
    ) -> list[FlaggedItem]:
        """Flagged messages without a reviewer's label, newest first. `incidents`: only the
        messages of these incidents (None: all, also those of no incident)."""
        ...

    async def labelled(
        self, incidents: Sequence[int] | None = None, limit: int = 50
    ) -> list[FlaggedItem]:
        """Flagged messages with a reviewer's label, the latest labelled first."""
        ...

    async def get(self, flagged_id: int) -> FlaggedItem | None: ...
    async def find(self, message_key: str) -> FlaggedItem | None: ...
    async def label(self, flagged_id: int, label: str, reviewer: str, at: datetime) -> bool:
        """Give (or change) the message's label; False when there is no such message
        (purged). A label goes with its message at the retention purge."""
        ...


class Roles(Protocol):
    @property
    def incidents(self) -> IncidentStore: ...
    @property
    def outbox(self) -> OutboxStore: ...
    @property
    def timers(self) -> TimerStore: ...
    @property
    def audit(self) -> AuditStore: ...
    @property
    def intake(self) -> IntakeStore: ...
    @property
    def groups(self) -> GroupStore: ...
    @property
    def meta(self) -> MetaStore: ...
    @property
    def cases(self) -> CaseStore: ...
    @property
    def drafts(self) -> DraftStore: ...
    @property
    def stats(self) -> StatsStore: ...
    @property
    def bulletins(self) -> BulletinStore: ...
    @property
    def reviews(self) -> ReviewStore: ...


class Transaction(Roles, Protocol):
    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (never if it rolls back)."""
        ...


class Store(Roles, Protocol):
    backend: str
    location: str

    @property
    def rate_gate(self) -> RateGate:
        """Send rates kept for everyone using this store (see `botkit.pacing`)."""
        ...

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    async def run_transaction(self, effect: Callable[[Transaction], Awaitable[T]]) -> T:
        """`effect` in one transaction. A backend may run it more than once (a concurrent
        writer changed what it read), so it must change nothing outside the transaction:
        effects on the world go in `after_commit`, which runs once."""
        ...

    async def purge(
        self, before: datetime, audit_before: datetime, keys_before: datetime
    ) -> dict[str, int]:
        """Delete what is older than the retention limits, every copy of it."""
        ...

    async def status(self, now: datetime) -> StoreStatus: ...
    async def lease_owners(self) -> list[str]:
        """Everyone holding a lease on intake or outbox work now."""
        ...

    async def release_leases(self, owners: Sequence[str]) -> int:
        """Free the work of owners known to be dead (a killed process of this host)."""
        ...
