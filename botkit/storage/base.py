"""The storage port. Backends: SQLite now; Redis for scale-out later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botkit.domain import Incident, IncidentState


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
class AlertRow:
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


@dataclass(frozen=True, slots=True)
class TimerRow:
    id: int
    incident_id: int
    kind: str
    due_at: datetime
    fence: int


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


class Store(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

    # groups registered at run time (e.g. a bot added to a Telegram group)
    async def upsert_group(
        self, platform: str, chat_id: str, jurisdiction: int | None, status: str, title: str | None
    ) -> None: ...
    async def group(self, platform: str, chat_id: str) -> tuple[int | None, str] | None: ...

    async def record_flagged(self, record: FlaggedRecord) -> tuple[int, bool]: ...
    async def find_open_incident(self, content_key: str, since: datetime) -> Incident | None: ...
    async def open_incident(self, new: NewIncident) -> Incident: ...
    async def add_occurrence(
        self,
        incident_id: int,
        flagged_id: int,
        platform: str,
        chat_id: str,
        message_id: str,
        seen_at: datetime,
    ) -> tuple[Incident, bool]: ...
    async def incident(self, incident_id: int) -> IncidentDetail | None: ...
    async def incidents(
        self, units: list[str] | None = None, states: list[IncidentState] | None = None
    ) -> list[Incident]: ...
    async def occurrences(self, incident_id: int) -> list[Occurrence]: ...
    async def incident_evidence(
        self, incident_id: int, limit: int = 8
    ) -> list[tuple[str, str]]: ...
    async def mark_corrected(self, incident_id: int, platform: str, chat_id: str) -> bool: ...
    async def transition(
        self,
        incident_id: int,
        from_state: IncidentState,
        to_state: IncidentState,
        officer_id: str,
        action: str,
        at: datetime,
    ) -> bool: ...
    async def last_actor(self, incident_id: int) -> str | None: ...
    async def advance_step(self, incident_id: int, step: int, exhausted: bool) -> int: ...
    async def bump_fence(self, incident_id: int) -> int: ...

    async def create_alert(
        self,
        incident_id: int,
        officer_id: str,
        platform: str,
        contact: str,
        kind: str,
        step: int,
        at: datetime,
    ) -> AlertRow: ...
    async def mark_alert(
        self,
        alert_id: int,
        status: str,
        at: datetime,
        delivery_ref: str | None = None,
        error: str | None = None,
    ) -> None: ...
    async def alerts(
        self, incident_id: int | None = None, statuses: list[str] | None = None
    ) -> list[AlertRow]: ...

    async def schedule(self, incident_id: int, kind: str, due_at: datetime, fence: int) -> int: ...
    async def due_timers(self, now: datetime) -> list[TimerRow]: ...
    async def claim_timer(self, timer_id: int) -> bool: ...
    async def cancel_timers(self, incident_id: int) -> int: ...
    async def next_due(self) -> datetime | None: ...
    async def pending_timers(self, incident_id: int | None = None) -> list[TimerRow]: ...

    async def add_claim(self, claim_id: str, incident_id: int, text: str, at: datetime) -> None: ...
    async def claims(self) -> list[tuple[str, str]]: ...
    async def claim_incident(self, claim_id: str) -> int | None: ...

    async def audit(
        self, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
    ) -> None: ...
    async def audit_log(self, limit: int = 1000) -> list[dict[str, Any]]: ...
    async def labelled_verdicts(self) -> list[tuple[str, str, str]]: ...
    async def purge(self, before: datetime, audit_before: datetime) -> dict[str, int]: ...
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...
