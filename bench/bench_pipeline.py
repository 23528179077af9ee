"""End-to-end pipeline throughput: a dry-run replay of many group messages on virtual time.

Prints messages/s through normalise → classify → decide → route → notify → record,
with the shipped model and config. Run: .venv/bin/python bench/bench_pipeline.py [N]
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from botkit.config import load_config
from botkit.runner import run_replay

ROOT = Path(__file__).resolve().parent.parent


def make_history(path: Path, count: int, flagged_share: float | None = None) -> None:
    """Held-out messages in 40 groups, 3 s apart; optionally with a given share of non-normal."""
    rows = list(
        csv.DictReader((ROOT / "classifiers/data/heldout/heldout.csv").open(encoding="utf-8"))
    )
    if flagged_share is not None:
        normal = [r for r in rows if r["label"] == "normal"]
        other = [r for r in rows if r["label"] != "normal"]
        every = round(1 / flagged_share)
        rows = [
            other[i % len(other)] if i % every == 0 else normal[i % len(normal)]
            for i in range(len(normal) * every)
        ]
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            row = rows[i % len(rows)]
            fh.write(
                json.dumps(
                    {
                        "chat_id": f"group-{i % 40}",
                        "message_id": i,
                        "text": row["text"],
                        "date": (start + timedelta(seconds=3 * i)).isoformat(),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    for label, share in (("held-out mix, 53% non-normal", None), ("5% non-normal", 0.05)):
        run(count, label, share)


def run(count: int, label: str, share: float | None) -> None:
    config = load_config(ROOT / "config.toml")
    with tempfile.TemporaryDirectory() as tmp:
        history = Path(tmp) / "history.jsonl"
        output = Path(tmp) / "events.jsonl"
        make_history(history, count, share)
        quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115
        started = time.perf_counter()
        asyncio.run(run_replay(config, ROOT, [history], True, output, quiet, quiet))
        elapsed = time.perf_counter() - started
        events = sum(1 for _ in output.open())
    print(
        f"pipeline, {label} (dry-run replay, shipped model): {count} messages in {elapsed:.2f} s"
        f" = {count / elapsed:,.0f} messages/s; {events} alert events"
    )


if __name__ == "__main__":
    main()
