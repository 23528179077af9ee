"""`botkit report`: read a month's counters from the store and build the report."""

from __future__ import annotations

from pathlib import Path

from botkit.config import Config
from botkit.places import PlaceBook
from botkit.reports.monthly import MonthlyReport, build_report, month_days
from botkit.storage import open_store


async def monthly_report(
    config: Config, base_dir: Path, month: str, only: int | None = None
) -> MonthlyReport:
    first, last = month_days(month)
    store = await open_store(config.storage, base_dir)
    try:
        counts = await store.stats.counts(first, last)
        samples = await store.stats.samples(first, last)
    finally:
        await store.close()
    places = PlaceBook(config.jurisdiction.province)
    codes = {c.jurisdiction for c in counts} | {s.jurisdiction for s in samples}
    names = {code: places.name(code) for code in codes}
    return build_report(month, counts, samples, list(config.categories), names, only)
