"""normalise → classify → decide → route → record, for a batch of accepted events.

Classification (CPU) runs on a batch in a worker thread. Then each event's effects commit
in one transaction together with its intake entry's completion: a crash before the commit
leaves the event in the intake to be handled again, a crash after leaves nothing to redo.
Events with no effect (most messages) are marked done together, once per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from botkit.adapter import InboundEvent
from botkit.bulletins import BulletinBoard
from botkit.classify import Analysis, ClassifierService
from botkit.clock import Clock
from botkit.codec import encode_action, event_key
from botkit.config import Config
from botkit.decide import decide
from botkit.domain import Message, OfficerCommand
from botkit.domain.commands import RESIDENT_COMMANDS
from botkit.domain.verdict import IMAGE_EVIDENCE, Evidence
from botkit.escalation import EscalationEngine
from botkit.escalation.commands import OfficerDesk
from botkit.groups import GroupDirectory
from botkit.images.known import KnownImages
from botkit.images.reader import PhotoRead, PhotoReader
from botkit.nearby import RecentHoaxes
from botkit.onboarding import Onboarding
from botkit.outbound import SendText
from botkit.privacy import Pseudonymizer, redact
from botkit.reports import counting
from botkit.residents.answers import Answer, Answers
from botkit.residents.desk import ResidentDesk
from botkit.sandbox import SANDBOX
from botkit.storage.base import Store, StoreUnavailable, Transaction
from botkit.storage.records import FlaggedRecord, NewMessage

log = logging.getLogger(__name__)

PICTURES_PER_RUN = 4


@dataclass(frozen=True, slots=True)
class Inbound:
    """An event to handle, and its intake entry (None for a replay)."""

    event: InboundEvent
    entry_id: int | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    item: Inbound
    error: str
    storage: bool = False  # the store failed, not the event: retry without counting


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        service: ClassifierService,
        engine: EscalationEngine,
        desk: OfficerDesk,
        onboarding: Onboarding,
        groups: GroupDirectory,
        pseudonymizer: Pseudonymizer,
        clock: Clock,
        recent: RecentHoaxes,
        residents: ResidentDesk,
        answers: Answers | None,
        bulletins: BulletinBoard,
        photos: PhotoReader | None = None,
        known_images: KnownImages | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.service = service
        self.engine = engine
        self.desk = desk
        self.onboarding = onboarding
        self.groups = groups
        self.pseudonymizer = pseudonymizer
        self.clock = clock
        self.recent = recent
        self.residents = residents
        self.answers = answers
        self.bulletins = bulletins
        self.photos = photos
        self.known_images = known_images
        self.counter = counting.Counter(engine.tz)
        self.flags = 0
        self.flagged: Counter[str] = Counter()  # by category, for /metrics
        self.messages = 0
        self.runs = 0
        # Events committed with effects (a flag, a command, an answer): only these can give
        # the sender something new to send.
        self.effects = 0

    async def analyse(self, messages: Sequence[Message]) -> list[Analysis]:
        # CPU-bound: one batched call in a worker thread keeps the event loop free.
        return await asyncio.to_thread(self.service.analyse, [m.text for m in messages])

    async def read_private(
        self, messages: Sequence[Message]
    ) -> list[tuple[Answer | None, tuple[int, ...]]]:
        """For residents' private messages: the answer on a procedure, and the communes
        named (None and () for group messages)."""
        asked = [m.text for m in messages if m.private]
        if not asked:
            return [(None, ()) for _ in messages]

        def read() -> tuple[list[Answer | None], list[tuple[int, ...]]]:
            found: list[Answer | None] = [None] * len(asked)
            if self.answers is not None:
                found = self.answers.find(asked)
            return found, self.service.places_of(asked)

        answers, places = await asyncio.to_thread(read)
        known = iter(zip(answers, places, strict=True))
        return [next(known) if m.private else (None, ()) for m in messages]

    async def process(self, items: Sequence[Inbound]) -> list[Failure]:
        """Handle events in order; each run of messages is classified as one batch.

        A command ends a run: a message after an officer confirms a hoax must be
        classified knowing that claim.
        """
        failures: list[Failure] = []
        no_effect: list[tuple[Inbound, int]] = []
        with contextlib.suppress(StoreUnavailable):  # the last known bulletins do meanwhile
            await self.bulletins.refresh()
        run: list[Inbound] = []
        pictures = 0
        for item in [*items, None]:
            if item is not None and isinstance(item.event, Message):
                run.append(item)
                pictures += item.event.photo_ref is not None
                if pictures < PICTURES_PER_RUN:
                    continue
                # Reading a picture takes most of a second: a run commits every few of them,
                # so a batch of pictures shows progress and holds its leases for less.
                failures += await self._messages(run, no_effect)
                run, pictures = [], 0
                continue
            if run:
                failures += await self._messages(run, no_effect)
                run, pictures = [], 0
            if item is not None:
                failure = await self._other(item)
                if failure is not None:
                    failures.append(failure)
        failures += await self.finish(no_effect)
        return failures

    @property
    def progress(self) -> int:
        """Grows with every run of messages handled and every picture read: how a caller
        tells a busy pipeline from a stuck one."""
        photos = self.photos
        return self.runs + (photos.read_count + photos.skipped if photos is not None else 0)

    async def _messages(
        self, run: list[Inbound], no_effect: list[tuple[Inbound, int]]
    ) -> list[Failure]:
        self.runs += 1
        messages = [item.event for item in run if isinstance(item.event, Message)]
        try:
            if self.photos is not None:
                read = await self.photos.read(messages)
                run = [
                    dataclasses.replace(i, event=r.message) for i, r in zip(run, read, strict=True)
                ]
                messages = [r.message for r in read]
            analyses = await self.analyse(messages)
            if self.photos is not None:
                analyses = [self._pictured(a, r) for a, r in zip(analyses, read, strict=True)]
            private = await self.read_private(messages)
        except Exception as exc:
            log.exception("classifying %d message(s) failed; kept for a retry", len(run))
            return [Failure(item, f"{type(exc).__name__}: {exc}") for item in run]
        failures: list[Failure] = []
        for item, analysis, (answer, places) in zip(run, analyses, private, strict=True):
            if isinstance(item.event, Message) and item.event.private:
                failure = await self.answer_privately(item, analysis, answer, places)
            else:
                failure = await self.apply(item, analysis, no_effect)
            if failure is not None:
                failures.append(failure)
        return failures

    def _pictured(self, analysis: Analysis, read: PhotoRead) -> Analysis:
        """A message with a picture carries its fingerprint as evidence (for when the hoax is
        confirmed), and is a known hoax when its picture is one."""
        if read.fingerprint is None:
            return analysis
        verdict = analysis.verdict
        evidence = (Evidence(IMAGE_EVIDENCE, read.fingerprint), *verdict.evidence)
        verdict = dataclasses.replace(verdict, evidence=evidence)
        known = self.known_images
        match = known.match(read.fingerprint) if known is not None and len(known) else None
        if match is not None and verdict.claim_id is None:
            verdict = dataclasses.replace(verdict, claim_id=match[0], claim_similarity=match[1])
        return dataclasses.replace(analysis, verdict=verdict)

    async def apply(
        self, item: Inbound, analysis: Analysis, no_effect: list[tuple[Inbound, int]]
    ) -> Failure | None:
        """Decide on one classified message and commit its effects (none: `no_effect`, with
        the group's commune for the count of messages read)."""
        message = item.event
        assert isinstance(message, Message)
        self.messages += 1
        try:
            jurisdiction = await self.groups.jurisdiction(message.platform, message.chat_id)
        except StoreUnavailable as exc:
            return Failure(item, str(exc), storage=True)
        flag = None
        if not self.bulletins.is_bulletin(analysis.canonical):  # the police's own words
            flag = decide(self.config, message, analysis, jurisdiction, self.pseudonymizer)
        if flag is None:
            no_effect.append((item, jurisdiction))
            return None
        flag = self.recent.fold(flag, self.clock.now())
        self.flags += 1
        self.flagged[flag.category] += 1
        record = self._record(message, analysis, flag.category, flag.score)
        now = self.clock.now()

        async def effect(tx: Transaction) -> None:
            await self.engine.handle_flag(tx, flag, record)
            if message.platform != SANDBOX:  # a demo is not the commune's work
                await self.counter.add(tx, now, jurisdiction, counting.MESSAGES)
                await self.counter.add(tx, now, jurisdiction, counting.FLAG + flag.category)

        return await self._committed(item, effect)

    async def answer_privately(
        self, item: Inbound, analysis: Analysis, answer: Answer | None, places: tuple[int, ...]
    ) -> Failure | None:
        """A resident wrote to the bot: a report is routed like a flag, a question answered."""
        message = item.event
        assert isinstance(message, Message)
        self.messages += 1
        places = analysis.places or places
        jurisdiction = self.residents.jurisdiction(places)
        flag = decide(self.config, message, analysis, jurisdiction, self.pseudonymizer)
        record: FlaggedRecord | None = None
        now = self.clock.now()
        if flag is not None:
            flag = self.recent.fold(flag, now)
            self.flags += 1
            self.flagged[flag.category] += 1
            record = self._record(message, analysis, flag.category, flag.score)
        effect = functools.partial(
            self.residents.handle,
            message=message,
            key=self.pseudonymizer.hash("event", event_key(message)),
            now=now,
            places=places,
            short=len(analysis.canonical) < self.config.bot.short_message_chars,
            flag=flag,
            record=record,
            answer=answer,
        )
        return await self._committed(item, effect)

    def _record(
        self, message: Message, analysis: Analysis, category: str, score: float
    ) -> FlaggedRecord:
        hash_ = self.pseudonymizer.hash
        return FlaggedRecord(
            message_key=hash_("message", message.key),
            platform=message.platform,
            chat_id=message.chat_id,
            message_id=message.message_id,
            sender_hash=hash_("sender", message.sender_id) if message.sender_id else None,
            text_hash=hash_("content", analysis.canonical),
            excerpt=redact(message.text),
            category=category,
            score=score,
            model_version=analysis.verdict.model_version,
            evidence=tuple((e.kind, e.value) for e in analysis.verdict.evidence),
            received_at=self.clock.now(),
        )

    async def _other(self, item: Inbound) -> Failure | None:
        event = item.event
        key = self.pseudonymizer.hash("event", event_key(event))
        if isinstance(event, OfficerCommand):
            return await self._committed(item, lambda tx: self._command(tx, event, key))
        if isinstance(event, Message):  # pragma: no cover - messages take the batch path
            raise TypeError("messages are classified in batches")
        return await self._committed(item, lambda tx: self.onboarding.handle(tx, event, key))

    async def _command(self, tx: Transaction, cmd: OfficerCommand, key: str) -> None:
        verb = RESIDENT_COMMANDS.get(cmd.command)
        if verb is not None:
            # A resident's command: only in private (in a group it would tell everyone).
            reply = await self.residents.command(tx, cmd, verb) if cmd.in_private else None
        else:
            reply = await self.desk.handle(tx, cmd)
        if reply is None:
            return
        # Officers' business never goes into a residents' group: the answer goes to the
        # sender's private chat, even for a command typed in a group.
        reply_to = cmd.reply_ref if cmd.in_private else None
        action = SendText(cmd.sender_id, reply, reply_to=reply_to)
        # What is said to a resident is not kept once sent (who asked the police what).
        resident = self.desk.officer_for(cmd.platform, cmd.sender_id) is None
        await tx.outbox.enqueue_message(
            NewMessage(
                f"reply:{key}", cmd.platform, cmd.sender_id, encode_action(action), erase=resident
            ),
            self.clock.now(),
        )

    async def _committed(
        self, item: Inbound, effect: Callable[[Transaction], Awaitable[object]]
    ) -> Failure | None:
        """Run `effect` and mark the event done, in one transaction."""

        async def whole(tx: Transaction) -> None:
            await effect(tx)
            if item.entry_id is not None:
                await tx.intake.done([item.entry_id], self.clock.now())

        try:
            await self.store.run_transaction(whole)
        except StoreUnavailable as exc:
            return Failure(item, str(exc), storage=True)
        except Exception as exc:
            # One bad event must not take the batch down; it stays in the intake.
            log.exception("failed to handle %s", _describe(item.event))
            return Failure(item, f"{type(exc).__name__}: {exc}")
        self.effects += 1
        return None

    async def finish(self, no_effect: list[tuple[Inbound, int]]) -> list[Failure]:
        """Mark the messages without effect done, and count them, in one transaction."""
        if not no_effect:
            return []
        ids = [item.entry_id for item, _ in no_effect if item.entry_id is not None]
        read = Counter(
            jurisdiction
            for item, jurisdiction in no_effect
            if not (isinstance(item.event, Message) and item.event.platform == SANDBOX)
        )
        now = self.clock.now()

        async def effect(tx: Transaction) -> None:
            await tx.intake.done(ids, now)
            for jurisdiction, count in sorted(read.items()):
                await self.counter.add(tx, now, jurisdiction, counting.MESSAGES, count)

        try:
            await self.store.run_transaction(effect)
        except StoreUnavailable as exc:
            return [Failure(item, str(exc), storage=True) for item, _ in no_effect]
        return []


def _describe(event: InboundEvent) -> str:
    if isinstance(event, Message):
        return f"message {event.platform}:{event.message_id}"
    return type(event).__name__
