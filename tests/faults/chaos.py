"""Fault injection with message accounting: real `botkit run` processes, killed at random.

A Bot API emulator (in this process, on 127.0.0.1) plays Telegram: residents post into
groups (hoaxes forwarded into several groups, crime reports, scams, chatter), officers
acknowledge some alerts. A `botkit run` process polls it and is killed with SIGKILL at random
moments, then restarted at once, again and again. At the end one process runs until nothing
is left to do and is stopped with SIGTERM.

Then every message is accounted for, from the store and from what the emulator holds:
processed, lost or handled twice; incidents per content; pages per (officer, incident,
kind, step) as the officer received them. A page sent twice because the process died after
Telegram accepted it but before botkit recorded it cannot be avoided on a platform that
offers no way to ask; such a resend is counted, and it must say that it is one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.testing import FakeBotAPI
from adapters.testing import telegram_updates as tu
from botkit.privacy import Pseudonymizer
from botkit.texts import Texts

ROOT = Path(__file__).resolve().parents[2]
KEY = "chaos-test-key-0123456789abcdef"
TOKEN = "123456:CHAOS-token"
ADAPTER = "telegram"
TEXTS = Texts("vi")

CU_MGAR, EA_TUL = "Xã Cư M'gar", "Xã Ea Tul"
GROUPS = [
    (tu.supergroup_chat(-1001000000100 - i, f"Nhóm {i}"), CU_MGAR if i % 3 else EA_TUL)
    for i in range(6)
]
RESIDENT = tu.user(42, "Nguyễn Văn An")
THANH = tu.user(555, "Y Thành")
OFFICERS = {  # id: (chat, unit)
    "thanh": (555, "cu-mgar"),
    "hoa": (556, "ea-tul"),
    "dung": (557, "cu-mgar"),
    "tuan": (558, "tinh"),
}
HOAXES = [
    "CHIA SẺ GẤP: thôn 3 xã Cư M'gar có 15 ca covid biến chủng mới, bộ y tế giấu kín, bà con"
    " đóng cửa ngay, chia sẻ cho mọi người cùng biết!!!",
    "KHẨN CẤP!!! nước máy Ea Tul bị nhiễm độc, đã có người chết, công an giấu không cho đưa"
    " tin, chia sẻ gấp cho cả nhóm",
    "Tin nóng: từ mai cả xã bị phong tỏa 30 ngày vì dịch lạ, ai chưa mua gạo thì mua ngay kẻo"
    " hết, chia sẻ gấp",
    "Nghe nói đập thủy điện sắp vỡ, nước sẽ tràn về cả huyện trong đêm nay, mọi người sơ tán"
    " ngay, chia sẻ cho người thân",
]
REPORTS = [
    "Tối qua có trộm vào nhà em ở thôn {n} lấy mất xe wave, ae ai thấy báo giúp",
    "Nhà tôi bị mất {n} con bò trong đêm qua ở buôn Ea Kao, ai biết thông tin xin báo giúp",
    "Chúc mừng bạn đã trúng thưởng iPhone 15, vui lòng chuyển khoản phí {n} triệu vào stk"
    " 19031234567890 để nhận quà",
    "Tai nạn giao thông trên quốc lộ 14 đoạn km {n} qua xã Cư M'gar, xe tải tông xe máy, 2"
    " người bị thương",
]
CHATTER = [
    "Chiều nay họp tổ dân phố lúc {n} giờ nhé cả nhà",
    "Ai có rau muống bán không, nhà em cần {n} bó",
    "Mai trời mưa to, mọi người nhớ mang áo mưa khi đi làm nhé ({n})",
]


def config_toml(api_base_url: str, workdir: Path, capacity: int = 10_000) -> str:
    groups = "\n".join(
        f'[[groups]]\nplatform = "{ADAPTER}"\nchat = "{chat["id"]}"\njurisdiction = "{commune}"\n'
        for chat, commune in GROUPS
    )
    officers = "\n".join(
        f'[[officers]]\nid = "{oid}"\nname = "{oid}"\nunit = "{unit}"\n'
        f'contacts = {{ {ADAPTER} = "{chat}" }}\nrate_per_minute = 1000\n'
        for oid, (chat, unit) in OFFICERS.items()
    )
    steps = ", ".join(
        f'{{ notify = "{n}", wait_minutes = 0.05 }}' for n in ("on_duty", "leader", "unit:tinh")
    )
    return f"""
[bot]
data_dir = "var"
hash_key_env = "BOTKIT_HASH_KEY"
stop_timeout_seconds = 10
intake_capacity = {capacity}

[storage]
path = "{workdir / "botkit.sqlite3"}"

[delivery]
send_timeout_seconds = 5
retry_base_seconds = 0.5

[model]
registry = "{ROOT / "models"}"

[jurisdiction]
province = 66
communes = ["{CU_MGAR}", "{EA_TUL}"]
default = "{CU_MGAR}"

[[units]]
id = "cu-mgar"
name = "Công an xã Cư M'gar"
kind = "commune_police"
jurisdictions = ["{CU_MGAR}"]
parent = "tinh"
leader = "dung"
shifts = [{{ officers = ["thanh"] }}]
escalation = [{steps}]

[[units]]
id = "ea-tul"
name = "Công an xã Ea Tul"
kind = "commune_police"
jurisdictions = ["{EA_TUL}"]
parent = "tinh"
leader = "hoa"
shifts = [{{ officers = ["hoa"] }}]
escalation = [{steps}]

[[units]]
id = "csgt"
name = "Đội CSGT"
kind = "traffic_police"
parent = "tinh"
leader = "dung"
shifts = [{{ officers = ["tuan"] }}]
escalation = [{steps}]

[[units]]
id = "tinh"
name = "Công an tỉnh"
kind = "provincial_police"
leader = "tuan"
shifts = [{{ officers = ["tuan"] }}]
escalation = [{{ notify = "on_duty", wait_minutes = 0.05 }}]

{officers}
{groups}
[categories.fake_news]
threshold = 0.6
unit = "commune_police"
policy = "alert"

[categories.crime_report]
threshold = 0.6
unit = "commune_police"

[categories.scam]
threshold = 0.6
unit = "commune_police"

[categories.traffic_accident]
threshold = 0.6
unit = "traffic_police"

[adapters.{ADAPTER}]
enabled = true
token_env = "BOTKIT_CHAOS_TOKEN"
api_base_url = "{api_base_url}"
poll_timeout = 1
rate_chat_per_second = 0
"""


@dataclass
class Pushed:
    update_id: int
    key: str  # the event's identity, as botkit computes it
    kind: str  # "hoax", "report", "chatter", "ack"


class Bot:
    """One `botkit run` process (or, in a fleet, `botkit run --no-worker` / `botkit worker`)."""

    def __init__(
        self,
        workdir: Path,
        n: int,
        command: tuple[str, ...] = ("run",),
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.n = n
        self.command = command
        self.extra_env = env or {}
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "BOTKIT_HASH_KEY": KEY,
            "BOTKIT_CHAOS_TOKEN": TOKEN,
            "NO_COLOR": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            **self.extra_env,
        }
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            env.pop(name, None)
        log = (self.workdir / f"bot-{self.n}.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "botkit.cli", *self.command, "--config", "config.toml",
            cwd=self.workdir, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=log,
        )  # fmt: skip

    async def kill(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()

    async def terminate(self, timeout: float = 60) -> tuple[float, int]:
        """SIGTERM; returns (seconds until it exited, exit code)."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        return time.monotonic() - started, code

    def rss_mb(self) -> float:
        assert self.proc is not None
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except FileNotFoundError:
            return 0.0
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else 0.0


@dataclass
class Accounting:
    pushed: int = 0
    processed: int = 0
    lost: list[str] = field(default_factory=list)
    dead: int = 0
    unconfirmed: int = 0
    incidents: int = 0
    duplicate_incidents: int = 0
    incidents_never_paged: int = 0
    chains_without_timer: int = 0
    pages: int = 0
    duplicate_pages: int = 0
    marked_resends: int = 0
    unmarked_duplicates: int = 0
    pages_recorded_not_received: int = 0
    pages_left_unsent: int = 0
    replies: int = 0
    duplicate_replies: int = 0
    digests: int = 0
    kills: int = 0
    stop_seconds: float = 0.0
    exit_code: int | None = None
    peak_rss_mb: float = 0.0

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.dead
            or self.unconfirmed
            or self.duplicate_incidents
            or self.incidents_never_paged
            or self.chains_without_timer
            or self.unmarked_duplicates
            or self.pages_recorded_not_received
            or self.pages_left_unsent
            or self.duplicate_replies
        )

    def summary(self) -> str:
        return (
            f"{self.kills} kill -9; {self.pushed} events pushed: {self.processed} processed,"
            f" {len(self.lost)} lost, {self.dead} dead letters, {self.unconfirmed} unconfirmed;"
            f" {self.incidents} incidents ({self.duplicate_incidents} duplicate,"
            f" {self.incidents_never_paged} never paged, {self.chains_without_timer} chains"
            f" without timer); {self.pages} pages received, {self.duplicate_pages} twice"
            f" ({self.marked_resends} marked as resent, {self.unmarked_duplicates} unmarked),"
            f" {self.pages_recorded_not_received} recorded but not received,"
            f" {self.pages_left_unsent} left unsent; {self.replies} replies"
            f" ({self.duplicate_replies} twice); {self.digests} digests;"
            f" SIGTERM exit in {self.stop_seconds:.1f} s (code {self.exit_code})"
        )


@dataclass
class Facts:
    """What a backend's store holds at the end, in the terms the accounting needs."""

    intake: dict[str, str]  # event key -> "done", "dead" or anything else (waiting)
    content_keys: list[str]  # one per incident
    never_paged: int  # incidents without a first alert
    chains_without_timer: int  # open, not exhausted, no pending step
    alerts: list[tuple[Any, ...]]  # (incident, contact, kind, step, status, via_digest)


class Chaos:
    def __init__(self, workdir: Path, seed: int = 1) -> None:
        self.workdir = workdir
        self.random = random.Random(seed)
        self.pushed: list[Pushed] = []
        self.acked: set[int] = set()
        self.bots = 0
        self.running: list[Bot] = []
        self.api: FakeBotAPI | None = None
        self.pseudonymizer = Pseudonymizer(KEY.encode())

    # -- the platform ---------------------------------------------------------------------
    def setup(self, api: FakeBotAPI, capacity: int = 10_000) -> None:
        self.api = api
        for chat, _ in GROUPS:
            api.add_chat(chat, bot_member="administrator", members=[tu.member_member(RESIDENT)])
        for oid, (chat_id, _) in OFFICERS.items():
            api.add_chat(tu.private_chat(tu.user(chat_id, oid)))
        (self.workdir / "config.toml").write_text(
            config_toml(api.base_url, self.workdir, capacity), encoding="utf-8"
        )

    def push_message(self, n: int, flagged: float = 0.4) -> None:
        """One resident's message; `flagged` of them hoaxes or reports, half and half."""
        assert self.api is not None
        roll = self.random.random()
        if roll < flagged / 2:
            kind, text = "hoax", self.random.choice(HOAXES)
        elif roll < flagged:
            kind, text = "report", self.random.choice(REPORTS).format(n=n)
        else:
            kind, text = "chatter", self.random.choice(CHATTER).format(n=n)
        chat = self.random.choice(GROUPS)[0]
        message = tu.text_message(chat, RESIDENT, text)
        update_id = self.api.push_update(tu.message_update(message))
        key = f"msg:{ADAPTER}:{chat['id']}:{message['message_id']}"
        self.pushed.append(Pushed(update_id, key, kind))

    def push_ack(self) -> None:
        """Thanh acknowledges an alert he received and has not acknowledged yet."""
        assert self.api is not None
        waiting = [i for i in self.received_alerts(THANH["id"]) if i not in self.acked]
        if not waiting:
            return
        incident = waiting[0]
        self.acked.add(incident)
        message = tu.text_message(tu.private_chat(THANH), THANH, f"/ack {incident}")
        update_id = self.api.push_update(tu.message_update(message))
        self.pushed.append(Pushed(update_id, f"OfficerCommand:{ADAPTER}:{update_id}.0", "ack"))

    def received_alerts(self, chat_id: int) -> list[int]:
        assert self.api is not None
        found = []
        for message in self.api.sent_as_first(chat_id):
            page = parse_page(message.get("text", ""))
            if page is not None and page[1] == "alert" and page[0] not in found:
                found.append(page[0])
        return found

    async def write(self, count: int, per_second: float) -> None:
        for n in range(count):
            self.push_message(n)
            await asyncio.sleep(1 / per_second)

    async def acknowledge(self, every: float = 1.0) -> None:
        """Thanh acknowledges an alert now and then, for as long as the run lasts."""
        while True:
            await asyncio.sleep(every)
            self.push_ack()

    # -- the bot ------------------------------------------------------------------------------
    async def start_bot(
        self, command: tuple[str, ...] = ("run",), env: dict[str, str] | None = None
    ) -> Bot:
        """A process that polls the emulator, once it polls."""
        assert self.api is not None
        self.bots += 1
        bot = Bot(self.workdir, self.bots, command, env)
        polls = len(self.api.calls_to("getUpdates"))
        await bot.start()
        self.running.append(bot)
        await self.api.wait_until(
            lambda: len(self.api.calls_to("getUpdates")) > polls if self.api else None,
            90,
            description="the bot polling",
        )
        return bot

    async def quiet(self, timeout: float = 180) -> None:
        """Until nothing is left to do: every update confirmed, handled, every page sent."""
        assert self.api is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api.pending_update_count == 0 and await asyncio.to_thread(self._idle):
                return
            await asyncio.sleep(0.5)
        raise TimeoutError("the bot did not finish its work")

    def _idle(self) -> bool:
        with self._db() as db:
            busy = db.execute(
                "SELECT (SELECT COUNT(*) FROM intake WHERE status = 'pending')"
                " + (SELECT COUNT(*) FROM alerts WHERE status IN ('pending', 'retry', 'held'))"
                " + (SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'retry'))"
                " + (SELECT COUNT(*) FROM timers WHERE status = 'pending' AND kind = 'escalate')"
            ).fetchone()[0]
        return bool(busy == 0)

    @contextlib.contextmanager
    def _db(self) -> Any:
        db = sqlite3.connect(f"file:{self.workdir / 'botkit.sqlite3'}?mode=ro", uri=True)
        try:
            yield db
        finally:
            db.close()

    # -- scenarios ----------------------------------------------------------------------------
    async def kill_loop(
        self, kills: int, messages: int, per_second: float, max_run: float = 2.5
    ) -> Accounting:
        """Kill -9 the bot `kills` times while residents write, then let one finish."""
        writer = asyncio.create_task(self.write(messages, per_second))
        officer = asyncio.create_task(self.acknowledge())
        for _ in range(kills):
            bot = await self.start_bot()
            await asyncio.sleep(self.random.uniform(0.05, max_run))
            await bot.kill()
        bot = await self.start_bot()
        await writer
        await asyncio.sleep(2)
        officer.cancel()
        await self.quiet()
        stop_seconds, code = await bot.terminate()
        report = await asyncio.to_thread(self.account)
        report.kills, report.stop_seconds, report.exit_code = kills, stop_seconds, code
        return report

    async def sigterm_under_flood(self, flood: int, flagged: float = 0.02) -> Accounting:
        """Residents write as fast as the emulator takes it; SIGTERM mid-flood; restart.

        Mostly chatter: the pages a flood of reports calls for go out at Telegram's pace (30
        messages/s per bot), which would make this a test of patience.
        """
        assert self.api is not None
        bot = await self.start_bot()
        peak = 0.0
        for n in range(flood):
            self.push_message(n, flagged)
            if n % 500 == 0:
                peak = max(peak, bot.rss_mb())
                await asyncio.sleep(0)
        for _ in range(10):  # the bot works through the flood for a while
            peak = max(peak, bot.rss_mb())
            await asyncio.sleep(0.2)
        stop_seconds, code = await bot.terminate()
        bot = await self.start_bot()
        await self.quiet(timeout=600)
        await bot.terminate()
        report = await asyncio.to_thread(self.account)
        report.stop_seconds, report.exit_code, report.peak_rss_mb = stop_seconds, code, peak
        return report

    # -- accounting ---------------------------------------------------------------------------
    def facts(self) -> Facts:
        """What the store holds, read straight from its file."""
        with self._db() as db:
            return Facts(
                intake=dict(db.execute("SELECT event_key, status FROM intake").fetchall()),
                content_keys=[k for (k,) in db.execute("SELECT content_key FROM incidents")],
                never_paged=db.execute(
                    "SELECT COUNT(*) FROM incidents i WHERE NOT EXISTS (SELECT 1 FROM alerts a"
                    " WHERE a.incident_id = i.id AND a.step = 0 AND a.kind = 'alert')"
                ).fetchone()[0],
                chains_without_timer=db.execute(
                    "SELECT COUNT(*) FROM incidents i WHERE i.state = 'opened' AND i.exhausted = 0"
                    " AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.incident_id = i.id"
                    " AND t.status = 'pending')"
                ).fetchone()[0],
                alerts=db.execute(
                    "SELECT incident_id, contact, kind, step, status, via_digest FROM alerts"
                    " WHERE status != 'superseded'"
                ).fetchall(),
            )

    def account(self) -> Accounting:
        assert self.api is not None
        report = Accounting(pushed=len(self.pushed))
        facts = self.facts()
        for item in self.pushed:
            state = facts.intake.get(self.pseudonymizer.hash("event", item.key))
            if state == "done":
                report.processed += 1
            elif state == "dead":
                report.dead += 1
            else:
                report.lost.append(f"{item.kind} {item.key}: {state or 'never stored'}")
        report.unconfirmed = self.api.pending_update_count
        keys = Counter(facts.content_keys)
        report.incidents = sum(keys.values())
        report.duplicate_incidents = sum(n - 1 for n in keys.values())
        report.incidents_never_paged = facts.never_paged
        report.chains_without_timer = facts.chains_without_timer
        rows = facts.alerts
        report.pages_left_unsent = sum(1 for r in rows if r[4] in ("pending", "retry", "held"))
        received: Counter[tuple[int, int, str, int]] = Counter()
        marked: Counter[tuple[int, int, str, int]] = Counter()
        replies: Counter[tuple[int, int]] = Counter()
        marked_replies = 0
        for chat_id, _ in OFFICERS.values():
            for message in self.api.sent_as_first(chat_id):
                text = message.get("text", "")
                if text.startswith("📋"):
                    report.digests += 1
                    continue
                page = parse_page(text)
                if page is not None:
                    key = (chat_id, *page[:3])
                    received[key] += 1
                    marked[key] += int(page[3])
                elif message.get("reply_to_message"):
                    replies[(chat_id, message["reply_to_message"]["message_id"])] += 1
                    marked_replies += text.startswith(_RESENT)
        report.pages = sum(received.values())
        report.duplicate_pages = sum(n - 1 for n in received.values())
        report.marked_resends = sum(min(marked[k], n - 1) for k, n in received.items())
        report.unmarked_duplicates = report.duplicate_pages - report.marked_resends
        report.replies = sum(replies.values())
        duplicates = sum(n - 1 for n in replies.values())
        report.marked_resends += min(marked_replies, duplicates)
        report.duplicate_replies = duplicates - min(marked_replies, duplicates)
        for incident_id, contact, kind, step, state, digest in rows:
            recorded = state == "sent" and not digest and kind != "reminded"
            if recorded and received[(int(contact), incident_id, kind_of(kind), step)] == 0:
                report.pages_recorded_not_received += 1
        return report


def kind_of(kind: str) -> str:
    """The copy to another unit reads like the alert itself."""
    return "alert" if kind == "copy" else kind


def _pattern(template: str, **groups: str) -> re.Pattern[str]:
    pattern = re.escape(template)
    for name, group in groups.items():
        pattern = pattern.replace(re.escape("{" + name + "}"), group)
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", ".*", pattern))


_RESENT = TEXTS.get("alert.resent")
_TITLE = _pattern(TEXTS.template("alert.title"), incident_id=r"(?P<incident>\d+)")
_ESCALATED = _pattern(
    TEXTS.template("alert.escalated"), incident_id=r"(?P<incident>\d+)", step=r"(?P<step>\d+)"
)
_REMINDER = _pattern(TEXTS.template("alert.reminder"), incident_id=r"(?P<incident>\d+)")


def parse_page(text: str) -> tuple[int, str, int, bool] | None:
    """(incident, kind, step, marked as resent) of an alert text; None for anything else."""
    lines = text.splitlines()
    resent = bool(lines) and lines[0] == _RESENT
    if resent:
        lines = lines[1:]
    if not lines:
        return None
    if match := _ESCALATED.match(lines[0]):
        return int(match["incident"]), "escalated", int(match["step"]), resent
    if match := _REMINDER.match(lines[0]):
        return int(match["incident"]), "reminded", 0, resent
    if match := _TITLE.match(lines[0]):
        return int(match["incident"]), "alert", 0, resent
    return None


async def run(workdir: Path, scenario: str, **kwargs: Any) -> Accounting:
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    async with FakeBotAPI(bot_token=TOKEN, bot_username="botkit_chaos_bot") as api:
        chaos = Chaos(workdir, kwargs.pop("seed", 1))
        chaos.setup(api, kwargs.pop("capacity", 10_000))
        try:
            if scenario == "kill":
                return await chaos.kill_loop(**kwargs)
            return await chaos.sigterm_under_flood(**kwargs)
        finally:
            for bot in chaos.running:  # a failed run must leave no bot behind
                await bot.kill()
