"""Faults with message accounting: kill -9 mid-stream, SIGTERM under a flood.

Real `botkit run` processes (Telegram adapter, python-telegram-bot) against the loopback Bot
API emulator; every message, incident and page accounted for (see tests/faults/chaos.py).

Run: .venv/bin/python bench/bench_faults.py [--kills 35] [--messages 900] [--flood 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.chaos import run  # noqa: E402


async def main(args: argparse.Namespace) -> int:
    dirty = 0
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        report = await run(
            Path(tmp), "kill", kills=args.kills, messages=args.messages, per_second=20,
            seed=args.seed,
        )  # fmt: skip
        print(f"kill -9 at {args.kills} random moments ({time.monotonic() - started:.0f} s):")
        print(f"  {report.summary()}")
        print(f"  clean: {report.clean}")
        dirty += not report.clean
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        report = await run(
            Path(tmp), "flood", flood=args.flood, seed=args.seed, capacity=args.capacity
        )
        print(
            f"SIGTERM under a flood of {args.flood} updates, intake capacity {args.capacity}"
            f" ({time.monotonic() - started:.0f} s):"
        )
        print(f"  {report.summary()}")
        print(f"  peak RSS of the bot during the flood: {report.peak_rss_mb:.0f} MB")
        print(f"  clean: {report.clean}")
        dirty += not report.clean
    return 1 if dirty else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=35)
    parser.add_argument("--messages", type=int, default=900)
    parser.add_argument("--flood", type=int, default=20_000)
    parser.add_argument("--capacity", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=3)
    sys.exit(asyncio.run(main(parser.parse_args())))
