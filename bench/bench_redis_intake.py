"""Redis's own time for the intake: claiming and acknowledging batches of stream entries.

Redis runs every command on one core, whatever the number of workers: the time its scripts
take per entry is part of the ceiling of a whole fleet. A real redis-server on loopback
(append-only file on, as deployed); `--entries` sealed-size payloads are appended, then
claimed and acknowledged `--batch` at a time, as a worker does. Redis times each script
itself (`SLOWLOG` with no threshold), so the figures leave out the client and the network.

Run: .venv/bin/python bench/bench_redis_intake.py [--entries 3200] [--batch 64] [--payload 600]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from botkit.clock import SystemClock  # noqa: E402
from botkit.storage.records import IntakeItem  # noqa: E402
from botkit.storage.redis import RedisStore  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


async def measure(url: str, entries: int, batch: int, payload: int) -> dict[str, list[int]]:
    store = RedisStore(url, "bench", owner="bench:1:w")
    await store.open()
    db = redis.Redis.from_url(url)
    try:
        now = SystemClock().now()
        items = [IntakeItem(f"key-{n}", os.urandom(payload)) for n in range(entries)]
        for first in range(0, entries, 500):
            await store.intake.append(items[first : first + 500], now)
        db.config_set("slowlog-log-slower-than", 0)
        db.config_set("slowlog-max-len", 10_000)
        times: dict[str, list[int]] = {"claim": [], "acknowledge": []}
        while True:
            db.slowlog_reset()
            claimed = await store.intake.claim("bench:1:w", batch, now, timedelta(minutes=1), 20)
            if not claimed:
                break
            times["claim"].append(_script_time(db))
            db.slowlog_reset()
            await store.intake.done([c.id for c in claimed], now)
            times["acknowledge"].append(_script_time(db))
    finally:
        db.close()
        await store.close()
    return times


def _script_time(db: redis.Redis) -> int:
    """Microseconds Redis spent in the scripts since the last reset (the commands they ran
    are logged inside them too, and not counted again)."""
    return sum(
        int(e["duration"]) for e in db.slowlog_get(10_000) if e["command"].startswith(b"EVALSHA")
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "redis").start()
        try:
            found = await measure(server.url, args.entries, args.batch, args.payload)
        finally:
            server.stop()
    print(
        f"{args.entries} entries of {args.payload} bytes, {args.batch} per batch"
        " (Redis's own time per script call, SLOWLOG):"
    )
    for name, times in found.items():
        median = statistics.median(times)
        print(
            f"  {name:12} median {median:7.0f} us per batch, {median / args.batch:5.1f} us per"
            f" entry  ({len(times)} batches, p90 {sorted(times)[int(len(times) * 0.9)]} us)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=3200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--payload", type=int, default=600)
    asyncio.run(main(parser.parse_args()))
