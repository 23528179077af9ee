"""Escalation chains, snapshotted onto an incident when it opens.

A config change never alters a running chain: the incident carries its own copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botkit.config import Config

DEFAULT_STEPS: tuple[tuple[str, float], ...] = (("on_duty", 15.0), ("leader", 30.0))


@dataclass(frozen=True, slots=True)
class ChainStep:
    notify: str
    wait_minutes: float


@dataclass(frozen=True, slots=True)
class Chain:
    unit: str
    steps: tuple[ChainStep, ...]
    repeat: int
    reminder_hours: float
    max_reminders: int = 3

    def step(self, index: int) -> ChainStep | None:
        """Step `index` counted across repeats; None once the chain is exhausted."""
        if index >= len(self.steps) * self.repeat:
            return None
        return self.steps[index % len(self.steps)]

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "steps": [[s.notify, s.wait_minutes] for s in self.steps],
            "repeat": self.repeat,
            "reminder_hours": self.reminder_hours,
            "max_reminders": self.max_reminders,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chain:
        return cls(
            unit=data["unit"],
            steps=tuple(ChainStep(n, float(w)) for n, w in data["steps"]),
            repeat=int(data["repeat"]),
            reminder_hours=float(data["reminder_hours"]),
            max_reminders=int(data.get("max_reminders", 3)),
        )


def snapshot(config: Config, unit_id: str) -> Chain:
    unit = config.unit(unit_id)
    steps = tuple(ChainStep(s.notify, s.wait_minutes) for s in unit.escalation)
    if not steps:
        steps = tuple(ChainStep(n, w) for n, w in DEFAULT_STEPS)
        if unit.parent:
            steps += (ChainStep(f"unit:{unit.parent}", 60.0),)
    return Chain(unit_id, steps, unit.repeat, unit.reminder_hours)
