"""A month per commune: messages read, flags by category, incidents, confirmed hoaxes,
tips, questions, median time to the first action, bulletins — from the store's counters."""

from __future__ import annotations

import calendar
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from botkit.reports import counting
from botkit.storage.records import StatCount, StatSample

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthError(ValueError):
    """Not a month as `YYYY-MM`."""


def month_days(month: str) -> tuple[str, str]:
    """First and last day (ISO) of `YYYY-MM`."""
    match = _MONTH.match(month)
    if match is None:
        raise MonthError(f"{month!r} is not a month: write it as YYYY-MM, e.g. 2026-03")
    year, number = int(match.group(1)), int(match.group(2))
    if not 1 <= number <= 12:
        raise MonthError(f"{month!r}: there is no month {number}")
    last = calendar.monthrange(year, number)[1]
    return date(year, number, 1).isoformat(), date(year, number, last).isoformat()


@dataclass(frozen=True, slots=True)
class CommuneRow:
    jurisdiction: int | None  # None: the total
    name: str
    messages: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    incidents: int = 0
    hoaxes_confirmed: int = 0
    tips: int = 0
    answered: int = 0
    handed_over: int = 0
    ack_median_minutes: float | None = None
    bulletins_delivered: int = 0
    bulletins_failed: int = 0


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    month: str
    categories: tuple[str, ...]
    rows: tuple[CommuneRow, ...]
    total: CommuneRow

    @property
    def empty(self) -> bool:
        return not self.rows


_SIMPLE = {
    counting.MESSAGES: "messages",
    counting.INCIDENTS: "incidents",
    counting.HOAXES_CONFIRMED: "hoaxes_confirmed",
    counting.TIPS: "tips",
    counting.ANSWERED: "answered",
    counting.HANDED_OVER: "handed_over",
    counting.BULLETIN_SENT: "bulletins_delivered",
    counting.BULLETIN_FAILED: "bulletins_failed",
}


def build_report(
    month: str,
    counts: Iterable[StatCount],
    samples: Iterable[StatSample],
    categories: Sequence[str],
    name_of: dict[int, str] | None = None,
    only: int | None = None,
) -> MonthlyReport:
    name_of = name_of or {}
    values: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    flags: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    acks: dict[int, list[float]] = defaultdict(list)
    for c in counts:
        if only is not None and c.jurisdiction != only:
            continue
        if c.name.startswith(counting.FLAG):
            flags[c.jurisdiction][c.name.removeprefix(counting.FLAG)] += c.value
        elif c.name in _SIMPLE:
            values[c.jurisdiction][_SIMPLE[c.name]] += c.value
    for s in samples:
        if (only is None or s.jurisdiction == only) and s.name == counting.ACK_SECONDS:
            acks[s.jurisdiction].append(s.value)
    seen = sorted({*values, *flags, *acks}, key=lambda j: (name_of.get(j, str(j)), j))
    cats = tuple(dict.fromkeys([*categories, *(k for f in flags.values() for k in f)]))
    rows = tuple(
        CommuneRow(
            jurisdiction=j,
            name=name_of.get(j, str(j)),
            flags={k: flags[j].get(k, 0) for k in cats},
            ack_median_minutes=_median_minutes(acks[j]),
            **values[j],
        )
        for j in seen
    )
    all_acks = [v for j in seen for v in acks[j]]
    total = CommuneRow(
        jurisdiction=None,
        name="",
        flags={k: sum(r.flags[k] for r in rows) for k in cats},
        ack_median_minutes=_median_minutes(all_acks),
        **{f: sum(getattr(r, f) for r in rows) for f in _SIMPLE.values()},
    )
    return MonthlyReport(month, cats, rows, total)


def _median_minutes(seconds: list[float]) -> float | None:
    return statistics.median(seconds) / 60 if seconds else None
