"""The chaos scenarios on a fleet: an intake process and two workers sharing one Redis.

`botkit run --no-worker` polls the Bot API emulator and appends to the stream; two
`botkit worker` processes race for the same incidents (hoaxes forwarded into several groups
at once). Workers are killed with SIGKILL at random moments and restarted; in another
scenario the Redis server itself is restarted under load. The accounting is the one of
`chaos.py`, reading the Redis keys instead of the SQLite file.

There is no moment "between the effect and the acknowledgement" to kill a worker in: both are
applied by the same Lua script, so random kills cover every moment there is.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import redis

from adapters.testing import FakeBotAPI
from tests.faults.chaos import TOKEN, Accounting, Bot, Chaos, Facts, config_toml
from tests.redis_server import RedisServer

PREFIX = "chaos"


class FleetChaos(Chaos):
    def __init__(self, workdir: Path, server: RedisServer, seed: int = 1) -> None:
        super().__init__(workdir, seed)
        self.server = server
        self.env = {"BOTKIT_REDIS_URL": server.url}

    def setup(self, api: FakeBotAPI, capacity: int = 10_000) -> None:
        super().setup(api, capacity)
        path = self.workdir / "config.toml"
        text = config_toml(api.base_url, self.workdir, capacity)
        sqlite = f'[storage]\npath = "{self.workdir / "botkit.sqlite3"}"'
        assert sqlite in text
        redis_storage = f'[storage]\nbackend = "redis"\nkey_prefix = "{PREFIX}"'
        path.write_text(text.replace(sqlite, redis_storage), encoding="utf-8")

    def key(self, *parts: str) -> str:
        return ":".join(["{" + PREFIX + "}", *parts])

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.server.url, decode_responses=True)

    # -- processes ----------------------------------------------------------------------------
    async def start_intake(self) -> Bot:
        return await self.start_bot(("run", "--no-worker"), self.env)

    async def start_worker(self) -> Bot:
        """A worker, once it has asked the stream for work (its model loaded)."""
        self.bots += 1
        bot = Bot(self.workdir, self.bots, ("worker",), self.env)
        await bot.start()
        self.running.append(bot)
        assert bot.proc is not None
        log = self.workdir / f"bot-{bot.n}.log"
        deadline = time.monotonic() + 90
        while "handles the intake" not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or bot.proc.returncode is not None:
                raise RuntimeError(f"worker {bot.n} did not start: see {log.name}")
            await asyncio.sleep(0.1)
        return bot

    # -- the store ----------------------------------------------------------------------------
    def _rows(self, db: redis.Redis, table: str) -> list[dict[str, Any]]:
        return [json.loads(v) for v in db.hvals(self.key(table))]

    def _idle(self) -> bool:
        with self.client() as db:
            waiting = db.xlen(self.key("intake", "stream"))
            alerts = self._rows(db, "alerts")
            outbox = self._rows(db, "outbox")
            timers = self._rows(db, "timers")
        busy = (
            waiting
            + sum(a["status"] in ("pending", "retry", "held") for a in alerts)
            + sum(m["status"] in ("pending", "retry") for m in outbox)
            + sum(t["kind"] == "escalate" for t in timers)
        )
        return busy == 0

    def facts(self) -> Facts:
        with self.client() as db:
            intake: dict[str, str] = {
                k: "done" for k in db.zrange(self.key("intake", "done"), 0, -1)
            }
            for key, value in db.hgetall(self.key("intake", "seen")).items():
                intake[key] = "dead" if value == "dead" else "waiting"
            incidents = self._rows(db, "incidents")
            alerts = [a for a in self._rows(db, "alerts") if a["status"] != "superseded"]
            timers = self._rows(db, "timers")
        first_paged = {a["incident_id"] for a in alerts if a["step"] == 0 and a["kind"] == "alert"}
        timed = {t["incident_id"] for t in timers}
        return Facts(
            intake=intake,
            content_keys=[i["content_key"] for i in incidents],
            never_paged=sum(i["id"] not in first_paged for i in incidents),
            chains_without_timer=sum(
                i["state"] == "opened" and not i["exhausted"] and i["id"] not in timed
                for i in incidents
            ),
            alerts=[
                (
                    a["incident_id"],
                    a["contact"],
                    a["kind"],
                    a["step"],
                    a["status"],
                    a.get("via_digest", 0),
                )
                for a in alerts
            ],
        )

    # -- scenarios ----------------------------------------------------------------------------
    async def kill_workers(
        self, kills: int, messages: int, per_second: float, max_run: float = 2.0
    ) -> Accounting:
        """Two workers; one of them, at random, is killed -9 and restarted, `kills` times."""
        intake = await self.start_intake()
        workers = [await self.start_worker(), await self.start_worker()]
        writer = asyncio.create_task(self.write(messages, per_second))
        officer = asyncio.create_task(self.acknowledge())
        for _ in range(kills):
            await asyncio.sleep(self.random.uniform(0.1, max_run))
            victim = self.random.randrange(len(workers))
            await workers[victim].kill()
            workers[victim] = await self.start_worker()
        return await self._finish(writer, officer, [intake, *workers], kills)

    async def restart_redis(
        self, restarts: int, messages: int, per_second: float, down_seconds: float = 1.5
    ) -> Accounting:
        """Redis goes away and comes back (its append-only file kept) while residents write."""
        intake = await self.start_intake()
        workers = [await self.start_worker(), await self.start_worker()]
        writer = asyncio.create_task(self.write(messages, per_second))
        officer = asyncio.create_task(self.acknowledge())
        for _ in range(restarts):
            await asyncio.sleep(self.random.uniform(1.0, 2.5))
            await asyncio.to_thread(self.server.stop)
            await asyncio.sleep(down_seconds)
            await asyncio.to_thread(self.server.start)
        return await self._finish(writer, officer, [intake, *workers], restarts)

    async def _finish(
        self, writer: asyncio.Task[None], officer: asyncio.Task[None], bots: list[Bot], faults: int
    ) -> Accounting:
        """When residents stop: let the fleet finish, stop it with SIGTERM, account."""
        await writer
        await asyncio.sleep(2)
        officer.cancel()
        await self.quiet(timeout=240)
        stops = [await bot.terminate() for bot in reversed(bots)]  # workers, then the intake
        report = await asyncio.to_thread(self.account)
        report.kills = faults
        report.stop_seconds = max(seconds for seconds, _ in stops)
        report.exit_code = max(code for _, code in stops)
        return report

    async def second_poller(self) -> Accounting:
        """A second `botkit run --no-worker` for the same bot, while the first polls."""
        first = await self.start_intake()
        self.bots += 1
        second = Bot(self.workdir, self.bots, ("run", "--no-worker"), self.env)
        await second.start()
        assert second.proc is not None
        code = await asyncio.wait_for(second.proc.wait(), 120)
        await first.terminate()
        return Accounting(exit_code=code)


async def run(workdir: Path, scenario: str, **kwargs: Any) -> Accounting:
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    server = RedisServer(workdir / "redis").start()
    try:
        async with FakeBotAPI(bot_token=TOKEN, bot_username="botkit_chaos_bot") as api:
            chaos = FleetChaos(workdir, server, kwargs.pop("seed", 1))
            chaos.setup(api)
            try:
                if scenario == "kill-workers":
                    return await chaos.kill_workers(**kwargs)
                if scenario == "second-poller":
                    return await chaos.second_poller()
                return await chaos.restart_redis(**kwargs)
            finally:
                for bot in chaos.running:
                    await bot.kill()
    finally:
        server.stop()
