"""normalise → classify → decide → route → notify → record, for a batch of inbound events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from botkit.adapter import InboundEvent
from botkit.classify import Analysis, ClassifierService
from botkit.clock import Clock
from botkit.config import Config
from botkit.decide import decide
from botkit.dispatch import Dispatcher
from botkit.dispatch import reply as reply_to
from botkit.domain import Message, OfficerCommand
from botkit.escalation import EscalationEngine
from botkit.groups import GroupDirectory
from botkit.onboarding import Onboarding
from botkit.outbound import SendText
from botkit.places import PlaceBook
from botkit.privacy import Pseudonymizer, redact
from botkit.storage.base import FlaggedRecord, Store
from botkit.texts import Texts

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        service: ClassifierService,
        engine: EscalationEngine,
        pseudonymizer: Pseudonymizer,
        dispatcher: Dispatcher,
        texts: Texts,
        places: PlaceBook,
        clock: Clock,
    ) -> None:
        self.config = config
        self.store = store
        self.service = service
        self.engine = engine
        self.pseudonymizer = pseudonymizer
        self.dispatcher = dispatcher
        self.texts = texts
        self.places = places
        self.clock = clock
        self.groups = GroupDirectory(config, store)
        self.onboarding = Onboarding(config, store, self.groups, dispatcher, texts, places, clock)
        self.flags = 0
        self.messages = 0
        self.failed: list[tuple[InboundEvent, str]] = []
        self.attempts: dict[int, int] = {}

    async def analyse(self, messages: list[Message]) -> list[Analysis]:
        # CPU-bound: one batched call in a worker thread keeps the event loop free.
        return await asyncio.to_thread(self.service.analyse, [m.text for m in messages])

    async def handle(self, events: list[InboundEvent]) -> None:
        """Handle events in order; each run of messages is classified as one batch.

        A command ends a run: a message after an officer confirms a hoax must be
        classified knowing that claim.
        """
        run: list[Message] = []
        for event in [*events, None]:
            if isinstance(event, Message):
                run.append(event)
                continue
            if run:
                await self._apply_run(run)
                run = []
            if isinstance(event, OfficerCommand):
                await self._guarded(event, self.command(event))
            elif event is not None:
                await self._guarded(event, self.onboarding.handle(event))

    async def _apply_run(self, run: list[Message]) -> None:
        try:
            analyses = await self.analyse(run)
        except Exception as exc:
            log.exception("classifying %d message(s) failed; kept for a retry", len(run))
            self.failed += [(m, f"{type(exc).__name__}: {exc}") for m in run]
            return
        for message, analysis in zip(run, analyses, strict=True):
            await self._guarded(message, self.apply(message, analysis))

    async def _guarded(self, event: InboundEvent, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception as exc:
            # One bad event must not take the batch down; it is kept for a retry.
            log.exception("failed to handle %s", _describe(event))
            self.failed.append((event, f"{type(exc).__name__}: {exc}"))

    async def retry_failed(self, max_attempts: int) -> list[tuple[InboundEvent, str]]:
        """Handle failed events again; return those that failed `max_attempts` times."""
        pending, self.failed = self.failed, []
        for event, _ in pending:
            self.attempts[id(event)] = self.attempts.get(id(event), 1) + 1
            await self.handle([event])
        given_up = [(e, err) for e, err in self.failed if self.attempts[id(e)] >= max_attempts]
        self.failed = [(e, err) for e, err in self.failed if self.attempts[id(e)] < max_attempts]
        for event, _ in given_up:
            self.attempts.pop(id(event), None)
        return given_up

    async def apply(self, message: Message, analysis: Analysis) -> None:
        self.messages += 1
        jurisdiction = await self.groups.jurisdiction(message.platform, message.chat_id)
        flag = decide(self.config, message, analysis, jurisdiction, self.pseudonymizer)
        if flag is None:
            return
        self.flags += 1
        record = FlaggedRecord(
            message_key=self.pseudonymizer.hash("message", message.key),
            platform=message.platform,
            chat_id=message.chat_id,
            message_id=message.message_id,
            sender_hash=(
                self.pseudonymizer.hash("sender", message.sender_id) if message.sender_id else None
            ),
            text_hash=self.pseudonymizer.hash("content", analysis.canonical),
            excerpt=redact(message.text),
            category=flag.category,
            score=flag.score,
            model_version=flag.verdict.model_version,
            evidence=tuple((e.kind, e.value) for e in flag.verdict.evidence),
            received_at=self.clock.now(),
        )
        await self.engine.handle_flag(flag, record)

    async def command(self, cmd: OfficerCommand) -> None:
        reply = await self.engine.handle_command(cmd)
        target = cmd.chat_id or cmd.sender_id
        await reply_to(
            self.dispatcher, cmd.platform, SendText(target, reply, reply_to=cmd.reply_ref)
        )


def _describe(event: InboundEvent) -> str:
    if isinstance(event, Message):
        return f"message {event.key}"
    return type(event).__name__
