"""Telegram adapters on the loopback Bot API emulator: latency and throughput.

    .venv/bin/python bench/bench_telegram.py [--updates 300] [--burst 2000] [--alerts 40]

1. adapter round trip, both adapters: an update queued at the emulator → polled, parsed,
   converted, handed to a stand-in core that answers at once with an alert → the officer's
   sendMessage reaches the emulator. p50/p99 over sequential updates.
2. full pipeline, both adapters: the same, with the real botkit core (classifier, escalation,
   SQLite) between update and alert, for distinct hoaxes. Needs a model (the shipped one, or
   one trained from the seed data).
3. throughput: a burst of group messages queued at once; updates/s one adapter converts and
   hands over, and updates/s the core finishes behind it.

Per-chat pacing (1 message/s per chat in production) is switched off here, otherwise it, not
the adapter, would set every figure. The emulator runs in the same process and event loop, so
its own time is included.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.telegram.adapter import TelegramAdapter  # noqa: E402
from adapters.telegram_aiogram.adapter import AiogramAdapter  # noqa: E402
from adapters.telegram_common.base import TelegramAdapterBase  # noqa: E402
from adapters.testing import FakeBotAPI  # noqa: E402
from adapters.testing import telegram_updates as tu  # noqa: E402
from botkit.adapter import InboundEvent  # noqa: E402
from botkit.config import AdapterSettings  # noqa: E402
from botkit.domain import Message  # noqa: E402
from botkit.outbound import Button, SendText  # noqa: E402

TOKEN = "123456:BENCH-token"
OFFICER = tu.user(555, "Y Thành")
ADMIN = tu.user(7, "Trần Thị Bình")
RESIDENT = tu.user(42, "Nguyễn Văn An")
GROUP = tu.supergroup_chat(-1001000000001, "Thôn 3 - xã Cư M'gar")
BOT = tu.bot_user(123456, "botkit_test_bot")
ADAPTERS: dict[str, type[TelegramAdapterBase[Any]]] = {
    "python-telegram-bot": TelegramAdapter,
    "aiogram": AiogramAdapter,
}
FAST = {
    "rate_chat_per_second": 0,
    "rate_overall_per_second": 1000,
    "rate_group_per_minute": 0,
    "poll_timeout": 10,
}
BUTTONS = tuple(
    Button(label, f"{action}:1")
    for label, action in (
        ("Tiếp nhận", "ack"),
        ("Xác nhận", "confirm"),
        ("Báo nhầm", "false"),
        ("Xong", "resolve"),
    )
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def describe(values_ms: list[float]) -> str:
    return (
        f"p50 {percentile(values_ms, 50):7.2f} ms   p99 {percentile(values_ms, 99):7.2f} ms"
        f"   mean {statistics.fmean(values_ms):7.2f} ms   (n={len(values_ms)})"
    )


def new_api() -> FakeBotAPI:
    return FakeBotAPI(bot_token=TOKEN, bot_username="botkit_test_bot")


def make(cls: type[TelegramAdapterBase[Any]], api: FakeBotAPI, name: str = "telegram") -> Any:
    settings = AdapterSettings(token_env="TG", api_base_url=api.base_url, **FAST)
    return cls(name, settings, environ={"TG": TOKEN})  # type: ignore[call-arg]


class EchoCore:
    """Stands in for the core: each group message becomes an alert to the officer."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.queue: asyncio.Queue[InboundEvent] = asyncio.Queue()
        self.received = 0
        self.all_in = asyncio.Event()
        self.expected = 0

    async def submit(self, event: InboundEvent) -> None:
        await self.submit_many([event])

    async def submit_many(self, events: Sequence[InboundEvent], *, wait: bool = True) -> None:
        for event in events:
            self.received += 1
            if self.received >= self.expected:
                self.all_in.set()
            await self.queue.put(event)

    async def work(self, reply: bool) -> None:
        while True:
            event = await self.queue.get()
            if reply and isinstance(event, Message):
                await self.adapter.send(SendText("555", f"🚨 {event.text[:60]}", BUTTONS))


async def wait_for_calls(api: FakeBotAPI, method: str, count: int, timeout: float) -> None:
    await api.wait_until(
        lambda: len(api.calls_to(method)) >= count, timeout, description=f"{count} {method} calls"
    )


async def round_trip(label: str, cls: type[TelegramAdapterBase[Any]], n: int) -> None:
    async with new_api() as api:
        api.add_chat(GROUP, bot_member="administrator")
        api.add_chat(tu.private_chat(OFFICER))
        adapter = make(cls, api)
        core = EchoCore(adapter)
        core.expected = 10**9
        worker = asyncio.create_task(core.work(reply=True))
        runner = asyncio.create_task(adapter.run(core))
        await api.wait_for_call("getUpdates", timeout=10)
        latencies: list[float] = []
        for i in range(n + 10):
            before = len(api.calls_to("sendMessage"))
            pushed = time.time()
            api.push_update(tu.message_update(tu.text_message(GROUP, RESIDENT, f"tin số {i}")))
            await wait_for_calls(api, "sendMessage", before + 1, 10)
            if i >= 10:  # the first ones warm up connections
                latencies.append((api.calls_to("sendMessage")[-1].at - pushed) * 1000)
        await adapter.close()
        await runner
        worker.cancel()
    print(f"  {label:20s} {describe(latencies)}")


async def burst(label: str, cls: type[TelegramAdapterBase[Any]], n: int) -> float:
    async with new_api() as api:
        api.add_chat(GROUP, bot_member="administrator")
        adapter = make(cls, api)
        core = EchoCore(adapter)
        core.expected = n
        worker = asyncio.create_task(core.work(reply=False))
        runner = asyncio.create_task(adapter.run(core))
        await api.wait_for_call("getUpdates", timeout=10)
        texts = [f"Bà con thôn {i % 12} ơi, chiều nay có họp tổ dân phố không?" for i in range(n)]
        start = time.perf_counter()
        for text in texts:
            api.push_update(tu.message_update(tu.text_message(GROUP, RESIDENT, text)))
        await asyncio.wait_for(core.all_in.wait(), 120)
        elapsed = time.perf_counter() - start
        await adapter.close()
        await runner
        worker.cancel()
    rate = n / elapsed
    print(f"  {label:20s} {n} updates in {elapsed:6.2f} s → {rate:8.0f} updates/s (adapter)")
    return rate


# --------------------------------------------------------------------------- with the core

HOAX_TEMPLATES = (
    "CHIA SẺ GẤP: thôn {w} xã Cư M'gar có nhiều ca covid biến chủng mới, bộ y tế giấu kín, "
    "bà con đóng cửa ngay, chia sẻ cho mọi người cùng biết!!!",
    "KHẨN CẤP!!! nước máy khu {w} bị nhiễm độc, đã có người chết, công an giấu không cho "
    "đưa tin, chia sẻ gấp cho cả nhóm",
    "TIN KHẨN: vắc xin tiêm ở xã {w} gây vô sinh, bộ y tế đã thừa nhận nhưng giấu, đừng cho "
    "con đi tiêm, chia sẻ gấp!!!",
)
WORDS = ("một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười")


def hoax(i: int) -> str:
    word = f"{WORDS[i % 10]} {WORDS[(i // 10) % 10]} {WORDS[(i // 100) % 10]}"
    return HOAX_TEMPLATES[i % len(HOAX_TEMPLATES)].format(w=word)


def core_config(name: str, cls: type[TelegramAdapterBase[Any]], api: FakeBotAPI) -> Any:
    from botkit.config.loader import parse_config

    return parse_config(
        {
            "bot": {"data_dir": "var", "hash_key_env": "BOTKIT_BENCH_HASH_KEY"},
            "jurisdiction": {"province": 66, "communes": [24280], "default": 24280},
            "units": [
                {
                    "id": "cu-mgar",
                    "name": "Công an xã Cư M'gar",
                    "kind": "commune_police",
                    "jurisdictions": [24280],
                    "shifts": [{"officers": ["thanh"]}],
                },
                {
                    "id": "csgt",
                    "name": "CSGT",
                    "kind": "traffic_police",
                    "shifts": [{"officers": ["thanh"]}],
                },
            ],
            "officers": [
                {
                    "id": "thanh",
                    "name": "Y Thành",
                    "unit": "cu-mgar",
                    "contacts": {name: "555"},
                    "rate_per_minute": 100_000,
                }
            ],
            "groups": [{"platform": name, "chat": str(GROUP["id"]), "jurisdiction": 24280}],
            "categories": {
                "fake_news": {"threshold": 0.5, "unit": "commune_police", "policy": "alert"},
                "crime_report": {"threshold": 0.5, "unit": "commune_police"},
                "scam": {"threshold": 0.5, "unit": "commune_police"},
                "traffic_accident": {"threshold": 0.5, "unit": "traffic_police"},
            },
            "adapters": {
                name: {
                    "class": f"{cls.__module__}:{cls.__name__}",
                    "token_env": "TG",
                    "api_base_url": api.base_url,
                    **FAST,
                }
            },
        }
    )


async def with_core(
    cls: type[TelegramAdapterBase[Any]],
    body: Callable[[FakeBotAPI, Any], Awaitable[None]],
    model: Path | None,
) -> None:
    from botkit.app import App, build_adapters
    from botkit.dispatch import AdapterDispatcher
    from botkit.runtime import serve

    os.environ["TG"] = TOKEN
    os.environ["BOTKIT_BENCH_HASH_KEY"] = "b" * 32
    with tempfile.TemporaryDirectory() as tmp:
        async with new_api() as api:
            api.add_chat(GROUP, bot_member="administrator")
            api.add_chat(tu.private_chat(OFFICER))
            config = core_config("telegram", cls, api)
            adapters = build_adapters(config)
            app = await App.build(
                config,
                Path(tmp),
                dispatcher=AdapterDispatcher(adapters),
                store_path=str(Path(tmp) / "bench.sqlite3"),
                model_dir=model,
            )
            task = asyncio.create_task(serve(app, adapters, tick_seconds=0.5))
            await api.wait_for_call("getUpdates", timeout=10)
            try:
                await body(api, app)
            finally:
                for adapter in adapters.values():
                    await adapter.close()
                await asyncio.wait_for(task, 30)
                await app.close()


async def core_latency(
    label: str, cls: type[TelegramAdapterBase[Any]], n: int, model: Path | None
) -> None:
    latencies: list[float] = []
    missed = 0

    async def body(api: FakeBotAPI, app: Any) -> None:
        nonlocal missed
        for i in range(n + 3):
            before = len(api.calls_to("sendMessage"))
            pushed = time.time()
            api.push_update(tu.message_update(tu.text_message(GROUP, RESIDENT, hoax(i))))
            try:
                await wait_for_calls(api, "sendMessage", before + 1, 3)
            except TimeoutError:
                missed += 1  # the model did not flag this variant
                continue
            if i >= 3:
                latencies.append((api.calls_to("sendMessage")[-1].at - pushed) * 1000)

    await with_core(cls, body, model)
    note = f"   ({missed} variants not flagged)" if missed else ""
    print(f"  {label:20s} {describe(latencies) if latencies else 'no alerts'}{note}")


async def core_burst(
    label: str, cls: type[TelegramAdapterBase[Any]], n: int, model: Path | None
) -> None:
    async def body(api: FakeBotAPI, app: Any) -> None:
        start = time.perf_counter()
        for i in range(n):
            text = f"Bà con thôn {i % 12} ơi, chiều nay có họp tổ dân phố không? ({i})"
            api.push_update(tu.message_update(tu.text_message(GROUP, RESIDENT, text)))
        # The core's progress wakes nobody at the emulator: look every millisecond.
        while app.pipeline.messages < n:
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - start
        print(
            f"  {label:20s} {n} updates in {elapsed:6.2f} s → {n / elapsed:8.0f} updates/s "
            "(adapter + core)"
        )

    await with_core(cls, body, model)


def find_model() -> tuple[Path | None, str]:
    """The shipped model, or one trained from the seed data into a temporary directory."""
    try:
        from tests.adapters.telegram_model import model_dir
    except ImportError as exc:
        return None, f"no model helper: {exc}"
    try:
        return model_dir(), ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)
    version = sys.version.split()[0]
    print(f"Telegram adapters against the loopback Bot API emulator (python {version})")
    print("\n1. adapter round trip: update queued → officer's sendMessage (stand-in core)")
    for label, cls in ADAPTERS.items():
        await round_trip(label, cls, args.updates)
    print(f"\n3a. throughput, adapter only: burst of {args.burst} group messages")
    for label, cls in ADAPTERS.items():
        await burst(label, cls, args.burst)
    model, why = find_model()
    if model is None:
        print(f"\n2./3b. with the botkit core: skipped ({why})")
        return
    print(f"\n2. full pipeline: hoax queued → officer's alert (real core, model {model.name})")
    for label, cls in ADAPTERS.items():
        await core_latency(label, cls, args.alerts, model)
    print(f"\n3b. throughput with the core: burst of {args.core_burst} group messages")
    for label, cls in ADAPTERS.items():
        await core_burst(label, cls, args.core_burst, model)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=300, help="round trips per adapter")
    parser.add_argument("--burst", type=int, default=2000, help="burst size, adapter only")
    parser.add_argument("--alerts", type=int, default=40, help="hoaxes per adapter, with core")
    parser.add_argument("--core-burst", type=int, default=2000, help="burst size, with core")
    asyncio.run(main(parser.parse_args()))
