"""An escalation engine on an in-memory store, a virtual clock and a recording dispatcher."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from botkit.clock import VirtualClock
from botkit.config import Config
from botkit.domain import AlertEvent, Flag, Message, OfficerCommand, Verdict
from botkit.escalation import EscalationEngine
from botkit.escalation.notifier import Notifier
from botkit.places import PlaceBook
from botkit.storage import SqliteStore
from botkit.storage.base import FlaggedRecord
from botkit.texts import Texts
from tests.conftest import RecordingDispatcher

_ids = itertools.count(1)


@dataclass
class Harness:
    config: Config
    store: SqliteStore
    clock: VirtualClock
    dispatcher: RecordingDispatcher
    engine: EscalationEngine
    events: list[AlertEvent] = field(default_factory=list)
    claims: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def create(cls, config: Config, start: datetime) -> Harness:
        store = SqliteStore(":memory:")
        await store.open()
        clock = VirtualClock(start)
        dispatcher = RecordingDispatcher()
        texts = Texts("vi")
        notifier = Notifier(config, store, dispatcher, texts, PlaceBook(66), clock)
        h = cls(config, store, clock, dispatcher, None)  # type: ignore[arg-type]
        h.engine = EscalationEngine(
            config,
            store,
            notifier,
            dispatcher,
            clock,
            texts,
            on_event=h.events.append,
            claims=h,
        )
        return h

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
        incident = await self.engine.handle_flag(flag, record)
        return incident.id if incident else None

    async def command(self, sender: str, command: str, arg: object = None) -> str:
        cmd = OfficerCommand(
            "test", sender, command, None if arg is None else str(arg), self.clock.now()
        )
        return await self.engine.handle_command(cmd)

    async def advance(self, minutes: float) -> None:
        """Move virtual time forward, running every step that falls due on the way."""
        target = self.clock.now() + timedelta(minutes=minutes)
        while True:
            due = await self.store.next_due()
            if due is None or due > target:
                break
            self.clock.advance_to(due)
            await self.engine.run_due()
        self.clock.advance_to(target)

    def pages_to(self, contact: str) -> int:
        from botkit.outbound import SendText

        return sum(1 for a in self.dispatcher.to(contact) if isinstance(a, SendText))

    def kinds(self) -> list[str]:
        return [e.event.value for e in self.events]
