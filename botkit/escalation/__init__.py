"""Escalation: route → group/dedupe → notify, then up the chain when nobody answers."""

from botkit.escalation.engine import EscalationEngine
from botkit.escalation.routing import Router

__all__ = ["EscalationEngine", "Router"]
