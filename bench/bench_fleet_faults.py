"""A fleet's faults with message accounting: workers killed -9 at random, Redis restarted.

Real processes on loopback: a real redis-server, `botkit run --no-worker` polling the Bot API
emulator and two `botkit worker` processes (see tests/faults/redis_chaos.py). Every message
is accounted for (processed, lost, duplicated) and pages are counted at the emulator.

Run: .venv/bin/python bench/bench_fleet_faults.py [--kills 20] [--restarts 4] [--messages 600]
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

from tests.faults.redis_chaos import run  # noqa: E402


async def main(args: argparse.Namespace) -> int:
    dirty = 0
    scenarios = [
        (
            f"kill -9 of a worker at {args.kills} random moments",
            "kill-workers",
            {"kills": args.kills},
        ),
        (
            f"Redis stopped and started {args.restarts} times",
            "restart-redis",
            {"restarts": args.restarts},
        ),
    ]
    for title, scenario, options in scenarios:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            report = await run(
                Path(tmp), scenario, messages=args.messages, per_second=args.rate,
                seed=args.seed, **options,
            )  # fmt: skip
            print(f"{title}, {args.messages} messages at {args.rate:g}/s")
            print(f"  ({time.monotonic() - started:.0f} s): {report.summary()}")
            print(f"  clean: {report.clean}")
            dirty += not report.clean
    return 1 if dirty else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rate", type=float, default=25)
    parser.add_argument("--seed", type=int, default=5)
    sys.exit(asyncio.run(main(parser.parse_args())))
