"""Alerts to officers and the events an alert goes through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AlertEventKind(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    ESCALATED = "escalated"
    REMINDED = "reminded"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    RESOLVED = "resolved"
    CORRECTED = "corrected"


@dataclass(frozen=True, slots=True)
class Alert:
    """One notification to one officer about one incident."""

    id: int
    incident_id: int
    officer_id: str
    platform: str
    contact: str
    text: str
    delivery_ref: str | None = None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """What happened to an incident's alerting, as `--output` and the audit log see it."""

    event: AlertEventKind
    at: datetime
    incident_id: int
    category: str
    score: float
    jurisdiction: int
    unit: str
    officer: str | None
    message_id: str | None = None
    chat_id: str | None = None
    occurrences: int = 1
    groups: int = 1
    step: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "event": self.event.value,
            "at": self.at.isoformat(),
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "category": self.category,
            "score": round(self.score, 4),
            "incident_id": self.incident_id,
            "officer": self.officer,
            "unit": self.unit,
            "jurisdiction": self.jurisdiction,
            "occurrences": self.occurrences,
            "groups": self.groups,
            "step": self.step,
        }
