"""Routing tree and rosters."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from botkit.config.loader import parse_config
from botkit.escalation.roster import on_duty
from botkit.escalation.routing import Router
from tests.conftest import BASE_CONFIG, CU_MGAR, EA_TUL, QUANG_PHU, make_config

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("category", "place", "units"),
    [
        ("fake_news", CU_MGAR, ["cu-mgar"]),
        ("crime_report", EA_TUL, ["quang-phu"]),  # a kind resolves to the unit covering the place
        ("traffic_accident", QUANG_PHU, ["csgt"]),  # a province-wide unit
    ],
)
def test_default_routes_by_category_unit_and_commune(
    category: str, place: int, units: list[str]
) -> None:
    assert Router(make_config()).units_for(category, place) == units


def test_first_match_wins_and_continue_adds_units() -> None:
    routes = [
        {"match": {"categories": ["scam"]}, "unit": "commune_police", "continue": True},
        {"match": {"categories": ["scam"]}, "unit": "tinh"},
        {"match": {"categories": ["scam"]}, "unit": "csgt"},  # never reached
    ]
    router = Router(make_config(routes=routes))
    assert router.units_for("scam", CU_MGAR) == ["cu-mgar", "tinh"]
    assert router.units_for("fake_news", CU_MGAR) == ["cu-mgar"]


def test_route_matching_a_jurisdiction() -> None:
    routes = [{"match": {"jurisdictions": [QUANG_PHU]}, "unit": "tinh"}]
    router = Router(make_config(routes=routes))
    assert router.units_for("fake_news", QUANG_PHU) == ["tinh"]
    assert router.units_for("fake_news", CU_MGAR) == ["cu-mgar"]


def test_ancestors() -> None:
    assert Router(make_config()).ancestors("cu-mgar") == ["cu-mgar", "tinh"]


def roster_config(
    shifts: list[dict[str, object]], overrides: list[dict[str, object]] | None = None
):
    raw = copy.deepcopy(BASE_CONFIG)
    raw["units"][0]["shifts"] = shifts
    raw["units"][0]["overrides"] = overrides or []
    return parse_config(raw).unit("cu-mgar")


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 30, tzinfo=TZ).astimezone(UTC)


def test_day_and_night_shifts_with_a_weekend() -> None:
    unit = roster_config(
        [
            {
                "officers": ["thanh"],
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "07:00:00",
                "end": "18:59:59",
            },
            {"officers": ["dung"], "start": "19:00:00", "end": "06:59:59"},
        ]
    )
    assert on_duty(unit, local(2, 9), TZ) == ["thanh"]  # Monday morning
    assert on_duty(unit, local(2, 23), TZ) == ["dung"]  # Monday night
    assert on_duty(unit, local(3, 2), TZ) == ["dung"]  # past midnight
    assert on_duty(unit, local(7, 9), TZ) == ["dung"]  # Saturday: nobody → the leader


def test_leave_override_with_a_replacement() -> None:
    unit = roster_config(
        [{"officers": ["thanh"]}],
        [{"officer": "thanh", "start": "2026-03-02", "end": "2026-03-03", "replaced_by": "hoa"}],
    )
    assert on_duty(unit, local(2, 9), TZ) == ["hoa"]
    assert on_duty(unit, local(4, 9), TZ) == ["thanh"]
