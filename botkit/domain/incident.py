"""Incidents and their lifecycle: the allowed transitions live here and only here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class IncidentState(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    RESOLVED = "resolved"


class InvalidTransition(ValueError):
    def __init__(self, state: IncidentState, action: str) -> None:
        super().__init__(f"cannot {action} an incident that is {state.value}")
        self.state = state
        self.action = action


_S = IncidentState
# opened → acknowledged → confirmed | false_positive → resolved. Confirming or rejecting
# straight from opened implies the acknowledgement, so an officer need not press twice.
TRANSITIONS: dict[tuple[IncidentState, str], IncidentState] = {
    (_S.OPENED, "ack"): _S.ACKNOWLEDGED,
    (_S.OPENED, "confirm"): _S.CONFIRMED,
    (_S.OPENED, "false"): _S.FALSE_POSITIVE,
    (_S.ACKNOWLEDGED, "confirm"): _S.CONFIRMED,
    (_S.ACKNOWLEDGED, "false"): _S.FALSE_POSITIVE,
    (_S.ACKNOWLEDGED, "resolve"): _S.RESOLVED,
    (_S.CONFIRMED, "resolve"): _S.RESOLVED,
    (_S.FALSE_POSITIVE, "resolve"): _S.RESOLVED,
}
ACTIONS = ("ack", "confirm", "false", "resolve")
OPEN_STATES = frozenset({_S.OPENED, _S.ACKNOWLEDGED, _S.CONFIRMED, _S.FALSE_POSITIVE})


def allowed_actions(state: IncidentState) -> tuple[str, ...]:
    return tuple(a for a in ACTIONS if (state, a) in TRANSITIONS)


def next_state(state: IncidentState, action: str) -> IncidentState:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(state, action) from None


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    content_key: str
    category: str
    jurisdiction: int
    unit: str
    state: IncidentState
    opened_at: datetime
    last_seen: datetime
    occurrences: int
    groups: int
    excerpt: str
    score: float
    claim_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
