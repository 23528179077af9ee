"""Escalation chains, snapshotted onto an incident when it opens.

A config change never alters a running chain: the incident carries its own copy of the
steps and of everything a step needs (the rosters of the units it pages, the unit's name and
superiors), so a chain keeps working even when its unit is renamed or removed by a reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from botkit.config import Config
from botkit.config.schema import Roster
from botkit.escalation.roster import on_duty
from botkit.escalation.routing import Router

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
    unit_name: str = ""
    ancestors: tuple[str, ...] = ()
    rosters: tuple[tuple[str, Roster], ...] = ()

    def step(self, index: int) -> ChainStep | None:
        """Step `index` counted across repeats; None once the chain is exhausted."""
        if index >= len(self.steps) * self.repeat:
            return None
        return self.steps[index % len(self.steps)]

    def due_offset_minutes(self, index: int) -> float:
        """Minutes from opening until step `index + 1` is due, had nothing interrupted it."""
        return sum(
            step.wait_minutes for i in range(index + 1) if (step := self.step(i)) is not None
        )

    def roster(self, unit_id: str, config: Config) -> Roster | None:
        """The snapshot's roster of a unit; chains from older versions read the config."""
        for uid, roster in self.rosters:
            if uid == unit_id:
                return roster
        return next((u for u in config.units if u.id == unit_id), None)

    def targets(self, notify: str, at: datetime, tz: ZoneInfo, config: Config) -> list[str]:
        """The officers a step pages: `on_duty`, `leader`, `unit:<id>` or `officer:<id>`."""
        kind, _, ref = notify.partition(":")
        if kind == "officer":
            return [ref]
        roster = self.roster(ref if kind == "unit" else self.unit, config)
        if roster is None:
            return []
        if kind == "leader" and roster.leader:
            return [roster.leader]
        return on_duty(roster, at, tz)

    def answers_to(self, config: Config) -> list[str]:
        """The unit and its superiors, as snapshotted and as configured now."""
        found = list(self.ancestors) or [self.unit]
        if any(u.id == self.unit for u in config.units):
            found += [u for u in Router(config).ancestors(self.unit) if u not in found]
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "unit_name": self.unit_name,
            "ancestors": list(self.ancestors),
            "steps": [[s.notify, s.wait_minutes] for s in self.steps],
            "repeat": self.repeat,
            "reminder_hours": self.reminder_hours,
            "max_reminders": self.max_reminders,
            "rosters": {uid: r.model_dump(mode="json") for uid, r in self.rosters},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chain:
        return cls(
            unit=data["unit"],
            steps=tuple(ChainStep(n, float(w)) for n, w in data["steps"]),
            repeat=int(data["repeat"]),
            reminder_hours=float(data["reminder_hours"]),
            max_reminders=int(data.get("max_reminders", 3)),
            unit_name=str(data.get("unit_name") or data["unit"]),
            ancestors=tuple(data.get("ancestors", ())),
            rosters=tuple(
                (uid, Roster.model_validate(r)) for uid, r in data.get("rosters", {}).items()
            ),
        )


def snapshot(config: Config, unit_id: str) -> Chain:
    unit = config.unit(unit_id)
    steps = tuple(ChainStep(s.notify, s.wait_minutes) for s in unit.escalation)
    if not steps:
        steps = tuple(ChainStep(n, w) for n, w in DEFAULT_STEPS)
        if unit.parent:
            steps += (ChainStep(f"unit:{unit.parent}", 60.0),)
    paged = [unit_id] + [s.notify.partition(":")[2] for s in steps if s.notify.startswith("unit:")]
    rosters = tuple((uid, _roster(config, uid)) for uid in dict.fromkeys(paged))
    return Chain(
        unit=unit_id,
        steps=steps,
        repeat=unit.repeat,
        reminder_hours=unit.reminder_hours,
        unit_name=unit.name,
        ancestors=tuple(Router(config).ancestors(unit_id)),
        rosters=rosters,
    )


def _roster(config: Config, unit_id: str) -> Roster:
    unit = config.unit(unit_id)
    return Roster(leader=unit.leader, shifts=unit.shifts, overrides=unit.overrides)
