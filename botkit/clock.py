"""Time as a port: the runtime uses the system clock, tests and replays a virtual one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that only moves when told to; it never goes backwards."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("virtual time must be timezone-aware")
        if when > self._now:
            self._now = when
