"""Plain data that crosses the core's boundaries."""

from botkit.domain.alert import Alert, AlertEvent, AlertEventKind
from botkit.domain.commands import OfficerAction, OfficerCommand
from botkit.domain.incident import Incident, IncidentState, InvalidTransition, next_state
from botkit.domain.message import Message
from botkit.domain.verdict import Flag, Verdict

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertEventKind",
    "Flag",
    "Incident",
    "IncidentState",
    "InvalidTransition",
    "Message",
    "OfficerAction",
    "OfficerCommand",
    "Verdict",
    "next_state",
]
