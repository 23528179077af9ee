"""A fleet on Redis: throughput of 1 and 2 `botkit worker` processes, and latencies.

A real redis-server on loopback, the Bot API emulator in this process, real worker processes.

1. Throughput: the workers start on an empty stream; then N messages (the chaos mix:
   chatter, hoaxes forwarded into several groups, reports; `--flagged` of them flagged) are
   appended as an intake process would, and the clock runs until every one is done.
2. Latency: `botkit run --no-worker` polls the emulator and two workers handle the stream
   while residents post at a steady rate; stream latency is an entry's time in the stream
   (its id's time to its acknowledgement, both on the server), and update -> alert is from
   the update's arrival at the emulator to the officer's sendMessage for its new incident.

Run: .venv/bin/python bench/bench_fleet.py [--messages 3000] [--flagged 0.1] [--rate 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from adapters.testing import FakeBotAPI  # noqa: E402
from adapters.testing import telegram_updates as tu  # noqa: E402
from botkit.clock import SystemClock  # noqa: E402
from botkit.domain import Message  # noqa: E402
from botkit.intake import DurableInbox  # noqa: E402
from botkit.privacy import Pseudonymizer  # noqa: E402
from botkit.sealing import Sealer  # noqa: E402
from botkit.storage.redis import RedisStore  # noqa: E402
from tests.faults.chaos import (  # noqa: E402
    ADAPTER,
    CHATTER,
    GROUPS,
    HOAXES,
    KEY,
    REPORTS,
    RESIDENT,
    TOKEN,
    parse_page,
)
from tests.faults.redis_chaos import PREFIX, FleetChaos  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def texts(count: int, flagged: float, seed: int = 7) -> list[tuple[int, str]]:
    import random

    rng = random.Random(seed)
    out = []
    for n in range(count):
        roll = rng.random()
        if roll < flagged / 2:
            text = rng.choice(HOAXES)
        elif roll < flagged:
            text = rng.choice(REPORTS).format(n=n)
        else:
            text = rng.choice(CHATTER).format(n=n)
        out.append((int(rng.choice(GROUPS)[0]["id"]), text))
    return out


async def preload(url: str, items: list[tuple[int, str]], run: int) -> None:
    """Append as an intake process does: sealed, keyed, in batches of 100."""
    store = RedisStore(url, PREFIX)
    await store.open()
    key = KEY.encode()
    inbox = DurableInbox(store.intake, Sealer(key), Pseudonymizer(key), SystemClock(), 10**9)
    now = SystemClock().now()
    batch = [
        Message(ADAPTER, str(chat), f"{run}-{n}", text, now, sender_id="42")
        for n, (chat, text) in enumerate(items)
    ]
    for start in range(0, len(batch), 100):
        await inbox.submit_many(batch[start : start + 100])
    await store.close()


def done_count(db: redis.Redis) -> int:
    return int(db.zcard("{" + PREFIX + "}:intake:done"))


async def throughput(workdir: Path, workers: int, count: int, flagged: float) -> float:
    server = RedisServer(workdir / "redis").start()
    try:
        async with FakeBotAPI(bot_token=TOKEN, bot_username="botkit_bench_bot") as api:
            chaos = FleetChaos(workdir, server)
            chaos.setup(api)
            procs = [await chaos.start_worker() for _ in range(workers)]
            db = redis.Redis.from_url(server.url, decode_responses=True)
            stream = "{" + PREFIX + "}:intake:stream"
            # Ready: each worker has asked the stream for work once (its model is loaded).
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    ready = len(db.xinfo_consumers(stream, "workers"))
                except redis.ResponseError:
                    ready = 0
                if ready >= workers:
                    break
                await asyncio.sleep(0.2)
            started = time.monotonic()
            await preload(server.url, texts(count, flagged), workers)
            while done_count(db) < count:
                if time.monotonic() - started > 900:
                    raise TimeoutError(f"only {done_count(db)} of {count} done")
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
            for proc in procs:
                await proc.terminate()
            db.close()
            return count / elapsed
    finally:
        server.stop()


async def latency(workdir: Path, seconds: float, rate: float) -> dict[str, list[float]]:
    server = RedisServer(workdir / "redis").start()
    try:
        async with FakeBotAPI(bot_token=TOKEN, bot_username="botkit_bench_bot") as api:
            chaos = FleetChaos(workdir, server)
            chaos.setup(api)
            intake = await chaos.start_intake()
            workers = [await chaos.start_worker() for _ in range(2)]
            await asyncio.sleep(8)  # the workers load their model
            pushed: list[float] = []  # arrival times of reports opening an incident
            total = int(seconds * rate)
            for n in range(total):
                chat = GROUPS[n % len(GROUPS)][0]
                if n % 10 == 0:  # a report that opens its own incident
                    text = REPORTS[0].format(n=1000 + n)
                    pushed.append(time.time())
                else:
                    text = CHATTER[n % len(CHATTER)].format(n=n)
                api.push_update(tu.message_update(tu.text_message(chat, RESIDENT, text)))
                await asyncio.sleep(1 / rate)
            await asyncio.sleep(5)
            db = redis.Redis.from_url(server.url, decode_responses=True)
            stream_ms = [float(x) for x in db.lrange("{" + PREFIX + "}:intake:latency", 0, -1)]
            db.close()
            alerts: dict[int, float] = {}
            for call in api.calls_to("sendMessage"):
                page = parse_page(str(call.params.get("text", "")))
                if page is not None and page[1] == "alert" and page[0] not in alerts:
                    alerts[page[0]] = call.at
            firsts = [alerts[i] for i in sorted(alerts)]
            update_to_alert = [
                (sent - arrived) * 1000 for arrived, sent in zip(pushed, firsts, strict=False)
            ]
            for proc in [intake, *workers]:
                await proc.terminate()
            return {"update_to_alert_ms": update_to_alert, "stream_ms": stream_ms}
    finally:
        server.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


async def main(args: argparse.Namespace) -> None:
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    rates = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            rates[workers] = await throughput(Path(tmp), workers, args.messages, args.flagged)
        print(
            f"{workers} worker(s): {rates[workers]:.0f} messages/s"
            f" ({args.messages} messages, {args.flagged:.0%} flagged)"
        )
    print(f"2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        found = await latency(Path(tmp), args.seconds, args.rate)
    stream = found["stream_ms"]
    if stream:
        print(
            f"time in the stream (append -> acknowledged with its effects, {len(stream)}"
            f" entries at {args.rate:g} msg/s, 2 workers): p50 {statistics.median(stream):.0f} ms,"
            f" p99 {pct(stream, 0.99):.0f} ms"
        )
    lat = found["update_to_alert_ms"]
    if lat:
        print(
            f"update -> officer's sendMessage ({len(lat)} new incidents at {args.rate:g} msg/s):"
            f" p50 {statistics.median(lat):.0f} ms, p99 {pct(lat, 0.99):.0f} ms,"
            f" max {max(lat):.0f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--flagged", type=float, default=0.1)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=40)
    asyncio.run(main(parser.parse_args()))
