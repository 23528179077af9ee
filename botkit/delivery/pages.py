"""Which pages still make sense when their turn to be sent comes."""

from __future__ import annotations

from botkit.domain import IncidentState

_REMINDED = frozenset(
    {IncidentState.ACKNOWLEDGED, IncidentState.CONFIRMED, IncidentState.FALSE_POSITIVE}
)


def page_applies(kind: str, state: IncidentState) -> bool:
    """An escalation is moot once someone acknowledged; nothing is sent about a resolved
    incident. The first alert (and its copies) still goes out: it shows the current state."""
    if state is IncidentState.RESOLVED:
        return False
    if kind == "escalated":
        return state is IncidentState.OPENED
    if kind == "reminded":
        return state in _REMINDED
    return True
