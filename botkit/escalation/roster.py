"""Who is on duty: weekly shifts, leave overrides, and the leader when nobody is."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from botkit.config.schema import ALL_DAYS, Roster, UnitSettings


def on_duty(unit: Roster, at: datetime, tz: ZoneInfo) -> list[str]:
    local = at.astimezone(tz)
    day = ALL_DAYS[local.weekday()]
    now = local.time()
    officers: list[str] = []
    for shift in unit.shifts:
        if day in shift.days and _within(now, shift.start, shift.end):
            officers += [o for o in shift.officers if o not in officers]
    for override in unit.overrides:
        if override.start <= local.date() <= override.end and override.officer in officers:
            officers.remove(override.officer)
            if override.replaced_by and override.replaced_by not in officers:
                officers.append(override.replaced_by)
    if not officers and unit.leader:
        officers = [unit.leader]
    return officers


def _within(now: time, start: time, end: time) -> bool:
    # A shift may run past midnight (22:00–06:00).
    return start <= now <= end if start <= end else now >= start or now <= end


def roster_problems(unit: UnitSettings) -> list[str]:
    """Gaps (hours with nobody on duty) and overlaps of whole shifts, per weekday."""
    if not unit.shifts:
        return []
    problems: list[str] = []
    for day in ALL_DAYS:
        minutes = [0] * (24 * 60)
        for shift in unit.shifts:
            if day not in shift.days:
                continue
            for m in _minutes(shift.start, shift.end):
                minutes[m] += 1
        gaps = _runs([m == 0 for m in minutes])
        overlaps = _runs([m > 1 for m in minutes])
        for start, end in gaps:
            problems.append(f"units.{unit.id}: {day} {_hm(start)}–{_hm(end)} nobody on duty")
        for start, end in overlaps:
            problems.append(f"units.{unit.id}: {day} {_hm(start)}–{_hm(end)} shifts overlap")
    return problems


def _minutes(start: time, end: time) -> range | list[int]:
    a = start.hour * 60 + start.minute
    b = end.hour * 60 + end.minute
    if a <= b:
        return range(a, b + (1 if end.second else 0))
    return [*range(a, 24 * 60), *range(0, b + 1)]


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _hm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
