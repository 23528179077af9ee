"""Rosters: which shift a moment belongs to, and the gaps and overlaps `check-config` reports."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from botkit.config.loader import parse_config
from botkit.config.schema import UnitSettings
from botkit.escalation.roster import on_duty, roster_problems
from tests.conftest import BASE_CONFIG

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
# March 2026: Monday the 2nd, Friday the 6th, Saturday the 7th.
MON, WED, FRI, SAT = 2, 4, 6, 7


def unit_with(
    shifts: list[dict[str, Any]], overrides: list[dict[str, Any]] | None = None
) -> UnitSettings:
    raw = copy.deepcopy(BASE_CONFIG)
    raw["units"][0]["shifts"] = shifts
    raw["units"][0]["overrides"] = overrides or []
    raw["units"][0]["leader"] = None  # nobody on duty shows as nobody, not as the leader
    return parse_config(raw).unit("cu-mgar")


def at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, micro, tzinfo=TZ)


def shift(officer: str, start: str, end: str, days: list[str] | None = None) -> dict[str, Any]:
    given: dict[str, Any] = {"officers": [officer], "start": start, "end": end}
    if days is not None:
        given["days"] = days
    return given


def test_an_overnight_shift_belongs_to_the_day_it_starts() -> None:
    unit = unit_with([shift("thanh", "22:00:00", "05:59:59", ["fri"])])
    assert on_duty(unit, at(FRI, 23), TZ) == ["thanh"]
    assert on_duty(unit, at(SAT, 3), TZ) == ["thanh"]
    assert on_duty(unit, at(SAT, 5, 59, 59, 500_000), TZ) == ["thanh"]  # to the minute's end
    assert on_duty(unit, at(SAT, 6), TZ) == []
    assert on_duty(unit, at(FRI, 3), TZ) == []  # Thursday night's shift, not Friday's


def test_a_saturday_overnight_shift_starts_on_saturday_evening() -> None:
    unit = unit_with([shift("thanh", "22:00:00", "05:59:59", ["sat"])])
    assert on_duty(unit, at(SAT, 3), TZ) == []
    assert on_duty(unit, at(SAT, 22, 30), TZ) == ["thanh"]
    assert on_duty(unit, at(SAT + 1, 3), TZ) == ["thanh"]  # Sunday morning


def test_a_sunday_overnight_shift_runs_into_monday() -> None:
    unit = unit_with([shift("thanh", "22:00:00", "05:59:59", ["sun"])])
    assert on_duty(unit, at(MON, 3), TZ) == ["thanh"]  # the night of Sunday the 1st
    assert on_duty(unit, at(SAT + 1, 3), TZ) == []  # Saturday night: no shift


def test_a_shift_within_one_day_is_unchanged() -> None:
    unit = unit_with([shift("thanh", "07:30:00", "17:00:00", ["fri"])])
    assert on_duty(unit, at(FRI, 7, 30), TZ) == ["thanh"]
    assert on_duty(unit, at(FRI, 17), TZ) == ["thanh"]  # an end is inclusive
    assert on_duty(unit, at(FRI, 7, 29, 59), TZ) == []
    assert on_duty(unit, at(FRI, 17, 1), TZ) == []
    assert on_duty(unit, at(SAT, 9), TZ) == []
    assert on_duty(unit, at(FRI - 1, 9), TZ) == []


def test_back_to_back_shifts_hand_over_without_a_gap_or_an_overlap() -> None:
    unit = unit_with(
        [shift("dung", "17:00:00", "07:30:00"), shift("thanh", "07:30:00", "17:00:00")]
    )
    assert roster_problems(unit) == []
    assert on_duty(unit, at(WED, 3), TZ) == ["dung"]
    assert on_duty(unit, at(WED, 12), TZ) == ["thanh"]


def test_the_default_shift_covers_the_whole_week() -> None:
    assert roster_problems(unit_with([{"officers": ["thanh"]}])) == []


def test_an_end_at_59_seconds_reaches_the_next_shift() -> None:
    unit = unit_with(
        [shift("thanh", "07:00:00", "18:59:59"), shift("dung", "19:00:00", "06:59:59")]
    )
    assert roster_problems(unit) == []


def test_an_overlap_is_reported_every_day_it_occurs_with_the_gaps() -> None:
    days = ["mon", "wed"]
    unit = unit_with(
        [shift("thanh", "07:00:00", "17:00:00", days), shift("dung", "16:00:00", "22:00:00", days)]
    )
    problems = roster_problems(unit)
    for day in days:
        assert f"units.cu-mgar: {day} 16:00–17:00 shifts overlap" in problems
        assert f"units.cu-mgar: {day} 00:00–07:00 nobody on duty" in problems
        assert f"units.cu-mgar: {day} 22:00–24:00 nobody on duty" in problems
    for day in ["tue", "thu", "fri", "sat", "sun"]:
        assert f"units.cu-mgar: {day} 00:00–24:00 nobody on duty" in problems
    assert sum("overlap" in p for p in problems) == 2
    assert len(problems) == 11


def test_an_overnight_friday_shift_alone_covers_saturday_morning() -> None:
    unit = unit_with([shift("thanh", "22:00:00", "05:59:59", ["fri"])])
    expected = [f"units.cu-mgar: {day} 00:00–24:00 nobody on duty" for day in WEEKDAYS[:4]]
    expected += [
        "units.cu-mgar: fri 00:00–22:00 nobody on duty",
        "units.cu-mgar: sat 06:00–24:00 nobody on duty",
        "units.cu-mgar: sun 00:00–24:00 nobody on duty",
    ]
    assert roster_problems(unit) == expected


def test_an_override_puts_the_replacement_on_duty_that_date() -> None:
    unit = unit_with(
        [shift("thanh", "07:30:00", "17:00:00", WEEKDAYS)],
        [{"officer": "thanh", "start": "2026-03-04", "end": "2026-03-04", "replaced_by": "hoa"}],
    )
    assert on_duty(unit, at(WED, 9), TZ) == ["hoa"]
    assert on_duty(unit, at(WED - 1, 9), TZ) == ["thanh"]
    assert on_duty(unit, at(WED + 1, 9), TZ) == ["thanh"]


def test_an_override_follows_the_date_of_the_moment_not_of_the_shift() -> None:
    unit = unit_with(
        [shift("dung", "17:00:00", "07:30:00")],
        [{"officer": "dung", "start": "2026-03-06", "end": "2026-03-06", "replaced_by": "thanh"}],
    )
    assert on_duty(unit, at(FRI, 3), TZ) == ["thanh"]  # Thursday's night, on the leave date
    assert on_duty(unit, at(FRI, 23), TZ) == ["thanh"]
    assert on_duty(unit, at(SAT, 3), TZ) == ["dung"]  # Friday's night, the leave has ended
