"""Who is on duty: weekly shifts, leave overrides, and the leader when nobody is.

A shift covers `start` to `end` inclusive, to the second: an `end` of 05:59:59 runs to the
end of that minute, and a shift ending at 07:30 hands over to one starting at 07:30. A shift
crossing midnight (start > end) belongs to the day it starts: `days = ["fri"]` with 22:00–06:00
is Friday night into Saturday morning. Overrides (leave) apply to the local date of the
instant, not to the shift's start day: leave ending on Friday ends at Friday's midnight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

from botkit.config.schema import ALL_DAYS, Roster, Shift, UnitSettings

DAY = 24 * 60 * 60
WEEK = 7 * DAY


def on_duty(unit: Roster, at: datetime, tz: ZoneInfo) -> list[str]:
    """The officers on duty at `at` (the unit's leader when nobody is)."""
    local = at.astimezone(tz)
    weekday = local.weekday()
    # Whole seconds: an `end` of 05:59:59 covers 05:59:59.5 too.
    now = local.time().replace(microsecond=0)
    officers: list[str] = []
    for shift in unit.shifts:
        if _covers(shift, weekday, now):
            officers += [o for o in shift.officers if o not in officers]
    officers = _apply_overrides(unit, local.date(), officers)
    if not officers and unit.leader:
        officers = [unit.leader]
    return officers


def _covers(shift: Shift, weekday: int, now: time) -> bool:
    today, yesterday = ALL_DAYS[weekday], ALL_DAYS[(weekday - 1) % 7]
    if shift.start <= shift.end:
        return today in shift.days and shift.start <= now <= shift.end
    # Past midnight, the shift is the one that started the evening before.
    return (today in shift.days and now >= shift.start) or (
        yesterday in shift.days and now <= shift.end
    )


def _apply_overrides(unit: Roster, day: date, officers: list[str]) -> list[str]:
    officers = list(officers)
    for override in unit.overrides:
        if override.start <= day <= override.end and override.officer in officers:
            officers.remove(override.officer)
            if override.replaced_by and override.replaced_by not in officers:
                officers.append(override.replaced_by)
    return officers


def roster_problems(unit: UnitSettings) -> list[str]:
    """Gaps (nobody on duty) and overlaps (two shifts at once) in the week, per weekday."""
    if not unit.shifts:
        return []
    problems: list[str] = []
    for start, end, count in _coverage(unit.shifts):
        if count == 1:
            continue
        what = "nobody on duty" if count == 0 else "shifts overlap"
        for day, day_start, day_end in _split_by_day(start, end):
            problems.append(f"units.{unit.id}: {day} {_clock(day_start)}–{_clock(day_end)} {what}")
    return problems


def _coverage(shifts: list[Shift]) -> list[tuple[int, int, int]]:
    """The week cut into runs `[start, end)` of seconds, each with how many shifts cover it.

    Adjacent runs with the same count are merged, so a handover (one shift ending when the next
    starts) leaves no boundary behind, and a gap or overlap is reported once where it is.
    """
    changes: Counter[int] = Counter()
    for start, end in (span for shift in shifts for span in _week_spans(shift)):
        changes[start] += 1
        changes[end] -= 1
    points = sorted({0, WEEK, *changes})
    runs: list[tuple[int, int, int]] = []
    count = 0
    for left, right in pairwise(points):
        count += changes[left]
        runs.append((left, right, count))
    return _merge(runs)


def _merge(runs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    merged: list[tuple[int, int, int]] = []
    for start, end, count in runs:
        if merged and merged[-1][2] == count and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end, count)
        else:
            merged.append((start, end, count))
    return merged


def _week_spans(shift: Shift) -> Iterator[tuple[int, int]]:
    """The half-open spans of the week (seconds from Monday 00:00) a shift covers."""
    start, end = _seconds(shift.start), _end_seconds(shift.end)
    if shift.start > shift.end:
        end += DAY  # crossing midnight: it runs into the next day
    for day in shift.days:
        offset = ALL_DAYS.index(day) * DAY
        a, b = offset + start, offset + end
        if b <= WEEK:
            yield a, b
        else:  # Sunday night runs into Monday morning
            yield a, WEEK
            yield 0, b - WEEK


def _seconds(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


def _end_seconds(end: time) -> int:
    # An inclusive end: 05:59:59 covers its whole last second, up to 06:00:00. An end on the
    # minute (07:30) is the instant the next shift takes over, so it adds no second of overlap.
    seconds = _seconds(end)
    return seconds + 1 if end.second else seconds


def _split_by_day(start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """A span of the week as (weekday, start, end) pieces, in seconds from that day's 00:00."""
    while start < end:
        day = start // DAY
        piece_end = min(end, (day + 1) * DAY)
        yield ALL_DAYS[day], start - day * DAY, piece_end - day * DAY
        start = piece_end


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
