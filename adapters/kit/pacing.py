"""Local pacing of one process's requests (the fleet-wide limits are the dispatcher's)."""

from __future__ import annotations

from aiolimiter import AsyncLimiter

# Platforms count arrivals, not departures: two requests released exactly one period apart
# can arrive a little closer together, so every period is stretched by this margin.
PACE_MARGIN = 1.1


def pace(per_second: float, margin: float = PACE_MARGIN) -> AsyncLimiter:
    """A limiter of `per_second` acquisitions (below 1/s: one per 1/`per_second` seconds)."""
    if per_second >= 1:
        return AsyncLimiter(per_second, margin)
    return AsyncLimiter(1, margin / per_second)
