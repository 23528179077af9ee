"""An escalation engine and a sender on an in-memory store, a virtual clock and a recording
dispatcher: the core without the pipeline, driven step by step."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from botkit.clock import VirtualClock
from botkit.config import Config
from botkit.delivery import Sender
from botkit.delivery.render import AlertRenderer
from botkit.domain import AlertEvent, Flag, Message, OfficerCommand, Verdict
from botkit.escalation import EscalationEngine
from botkit.escalation.commands import OfficerDesk
from botkit.outbound import SendText
from botkit.places import PlaceBook
from botkit.storage import SqliteStore
from botkit.storage.records import FlaggedRecord
from botkit.texts import Texts
from tests.conftest import RecordingDispatcher

_ids = itertools.count(1)


@dataclass
class Harness:
    config: Config
    store: SqliteStore
    clock: VirtualClock
    dispatcher: RecordingDispatcher
    engine: EscalationEngine = field(init=False)
    desk: OfficerDesk = field(init=False)
    sender: Sender = field(init=False)
    events: list[AlertEvent] = field(default_factory=list)
    claims: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def create(
        cls, config: Config, start: datetime, path: str = ":memory:", owner: str = "test"
    ) -> Harness:
        store = SqliteStore(path)
        await store.open()
        h = cls(config, store, VirtualClock(start), RecordingDispatcher())
        h.use(config, owner)
        return h

    def use(self, config: Config, owner: str = "test") -> None:
        """(Re)build engine, desk and sender from a config, as a reload does."""
        texts = Texts("vi")
        self.config = config
        self.engine = EscalationEngine(
            config, self.store, self.dispatcher, self.clock, texts, self.events.append, self
        )
        self.desk = OfficerDesk(self.engine)
        renderer = AlertRenderer(texts, PlaceBook(66), ZoneInfo(config.bot.timezone))
        self.sender = Sender(config, self.store, self.dispatcher, renderer, self.clock, owner)

    # the claim index, as the engine sees it
    def accepts_claim(self, text: str) -> bool:
        return len(text.split()) >= 4

    def add_claim(self, claim_id: str, text: str) -> None:
        self.claims[claim_id] = text

    async def flag(
        self,
        text: str = "CHIA SẺ GẤP thôn 3 có 20 ca covid",
        chat: str = "g-cu-mgar",
        category: str = "fake_news",
        content_key: str | None = None,
        jurisdiction: int = 24280,
        places: tuple[int, ...] = (),
        evidence: tuple[tuple[str, str], ...] = (),
        claim_id: str | None = None,
        deliver: bool = True,
    ) -> int | None:
        n = next(_ids)
        msg = Message("test", chat, str(n), text, self.clock.now(), sender_id=f"s{n}")
        verdict = Verdict(
            ((category, 0.9), ("normal", 0.1)), category, "test-model", claim_id=claim_id
        )
        policy = self.config.categories[category].policy
        flag = Flag(
            msg,
            verdict,
            category,
            0.9,
            jurisdiction,
            policy,
            content_key or f"k:{text}",
            text.lower(),
            places,
        )
        record = FlaggedRecord(
            message_key=f"mk{n}",
            platform="test",
            chat_id=chat,
            message_id=str(n),
            sender_hash=None,
            text_hash=f"h:{text}",
            excerpt=text,
            category=category,
            score=0.9,
            model_version="test-model",
            evidence=evidence,
            received_at=self.clock.now(),
        )
        async with self.store.transaction() as tx:
            incident = await self.engine.handle_flag(tx, flag, record)
        if deliver:
            await self.deliver()
        return incident.id if incident else None

    async def command(self, sender: str, command: str, arg: object = None) -> str:
        cmd = OfficerCommand(
            "test", sender, command, None if arg is None else str(arg), self.clock.now()
        )
        async with self.store.transaction() as tx:
            reply = await self.desk.handle(tx, cmd)
        await self.deliver()
        return reply

    async def deliver(self) -> None:
        await self.sender.run_once()

    async def advance(self, minutes: float) -> None:
        """Move virtual time forward, running every step and send that falls due on the way."""
        target = self.clock.now() + timedelta(minutes=minutes)
        for _ in range(10_000):
            dues = [await self.store.timers.next_due(), await self.store.outbox.next_due()]
            due = min((d for d in dues if d is not None), default=None)
            if due is None or due > target:
                break
            self.clock.advance_to(due)
            await self.engine.run_due()
            await self.deliver()
        self.clock.advance_to(target)
        await self.engine.run_due()
        await self.deliver()

    def pages_to(self, contact: str) -> int:
        return sum(1 for a in self.dispatcher.to(contact) if isinstance(a, SendText))

    def kinds(self) -> list[str]:
        return [e.event.value for e in self.events]
