"""Bulletins: an officer's warning posted once to every group of a jurisdiction.

Publishing queues one message per group in the outbox (the sender keeps the platforms'
rates, for the whole fleet) and records the bulletin, in one transaction. Once every
message has its outcome, the bulletin is reported, exactly once: how many groups it
reached and which failed (a group the bot was removed from), to the officer who sent it,
and in the month's counters. Residents forwarding a recent bulletin are never flagged
for it: its text is in an allow-index the pipeline consults before deciding.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from botkit.clock import Clock
from botkit.codec import encode_action
from botkit.config import Config
from botkit.domain import OfficerCommand
from botkit.outbound import SendText
from botkit.reports import counting
from botkit.storage.base import Store, Transaction
from botkit.storage.records import BulletinRow, NewBulletin, NewMessage
from botkit.texts import Texts
from classifiers.normalize import canonical_text

log = logging.getLogger(__name__)

FINAL = frozenset({"sent", "failed", "cancelled"})
MIN_CHARS = 10
MAX_CHARS = 3500
# A resident forwarding a bulletin this long after it was posted is still not flagged.
REMEMBERED = timedelta(days=30)
REFRESH_EVERY = timedelta(seconds=60)
# A message is a bulletin's forward when it holds this share of the bulletin's words. It is
# measured on the bulletin's words, not the message's: a scam message that a bulletin
# quotes to warn about it lacks the bulletin's own words ("đây là lừa đảo, công an …") and
# is still flagged.
COVERS = 0.85
MIN_WORDS = 6


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    platform: str
    chat_id: str
    jurisdiction: int
    status: str  # sent | failed | cancelled | waiting
    error: str | None


@dataclass(frozen=True, slots=True)
class BulletinOutcome:
    bulletin: BulletinRow
    groups: tuple[GroupOutcome, ...]

    @property
    def delivered(self) -> int:
        return sum(g.status == "sent" for g in self.groups)

    @property
    def failed(self) -> tuple[GroupOutcome, ...]:
        return tuple(g for g in self.groups if g.status in ("failed", "cancelled"))

    @property
    def finished(self) -> bool:
        return all(g.status in FINAL for g in self.groups)


def message_key(bulletin_id: int, platform: str, chat_id: str) -> str:
    return f"bulletin:{bulletin_id}:{platform}:{chat_id}"


class BulletinBoard:
    def __init__(self, config: Config, store: Store, texts: Texts, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.texts = texts
        self.clock = clock
        self.counter = counting.Counter(ZoneInfo(config.bot.timezone))
        self._words: dict[int, frozenset[str]] = {}
        self._refreshed: datetime | None = None

    # -- publishing -------------------------------------------------------------------------
    async def targets(
        self, tx: Transaction, jurisdictions: frozenset[int] | None
    ) -> list[tuple[str, str, int]]:
        """Groups of those communes (None: all), configured or registered, once each."""
        found: dict[tuple[str, str], int] = {}
        for group in await tx.groups.all():
            if group.status == "active" and group.jurisdiction is not None:
                found[(group.platform, group.chat_id)] = group.jurisdiction
        for configured in self.config.groups:
            found[(configured.platform, configured.chat)] = configured.jurisdiction
        return sorted(
            (platform, chat, where)
            for (platform, chat), where in found.items()
            if jurisdictions is None or where in jurisdictions
        )

    async def publish(
        self,
        tx: Transaction,
        text: str,
        author: str,
        jurisdictions: frozenset[int] | None,
        author_platform: str | None = None,
        author_chat: str | None = None,
    ) -> tuple[int, int]:
        """Queue the bulletin to every group; (bulletin id, groups). Nothing is queued when
        no group is found (id 0)."""
        now = self.clock.now()
        targets = await self.targets(tx, jurisdictions)
        if not targets:
            return 0, 0
        body = self.texts.get("bulletin.header") + "\n" + text.strip()
        bulletin_id = await tx.bulletins.open(
            NewBulletin(text.strip(), author, author_platform, author_chat, tuple(targets), now)
        )
        for platform, chat, _ in targets:
            action = SendText(chat, body)
            await tx.outbox.enqueue_message(
                NewMessage(
                    message_key(bulletin_id, platform, chat), platform, chat, encode_action(action)
                ),
                now,
            )
        await tx.audit.record(
            now, author, "bulletin.published", f"bulletin:{bulletin_id}", {"groups": len(targets)}
        )
        self.remember(bulletin_id, text)
        return bulletin_id, len(targets)

    async def command(
        self, tx: Transaction, cmd: OfficerCommand, officer_id: str, now: datetime
    ) -> str:
        """`/bulletin text` from an officer's private chat: every group of the unit's communes
        (a unit covering the whole province: every group)."""
        if not cmd.in_private:
            return self.texts.get("bulletin.in_private")
        text = (cmd.argument or "").strip()
        if not MIN_CHARS <= len(text) <= MAX_CHARS:
            return self.texts.get("bulletin.usage", max=MAX_CHARS)
        officer = self.config.officer(officer_id)
        assert officer is not None
        unit = self.config.unit(officer.unit)
        where = frozenset(unit.jurisdictions) or None
        bulletin_id, groups = await self.publish(
            tx, text, f"officer:{officer_id}", where, cmd.platform, cmd.sender_id
        )
        if not groups:
            return self.texts.get("bulletin.no_groups", unit=unit.name)
        return self.texts.get("bulletin.queued", bulletin_id=bulletin_id, groups=groups)

    # -- reporting --------------------------------------------------------------------------
    async def outcome(self, bulletin: BulletinRow) -> BulletinOutcome:
        keys = [message_key(bulletin.id, p, c) for p, c, _ in bulletin.targets]
        states = await self.store.outbox.message_states(keys)
        groups = []
        for (platform, chat, where), key in zip(bulletin.targets, keys, strict=True):
            status, error = states.get(key, ("waiting", None))
            groups.append(GroupOutcome(platform, chat, where, status, error))
        return BulletinOutcome(bulletin, tuple(groups))

    async def settle(self) -> list[BulletinOutcome]:
        """Report every bulletin whose messages all have their outcome; returns those this
        call reported (another worker may report one first: then it is not returned)."""
        reported = []
        for bulletin in await self.store.bulletins.unfinished():
            outcome = await self.outcome(bulletin)
            if not outcome.finished:
                continue
            if await self.store.run_transaction(functools.partial(self._report, outcome=outcome)):
                reported.append(outcome)
        return reported

    async def _report(self, tx: Transaction, *, outcome: BulletinOutcome) -> bool:
        now = self.clock.now()
        bulletin = outcome.bulletin
        if not await tx.bulletins.finish(bulletin.id, now):
            return False
        sent = Counter(g.jurisdiction for g in outcome.groups if g.status == "sent")
        failed = Counter(g.jurisdiction for g in outcome.failed)
        for where, count in sorted(sent.items()):
            await self.counter.add(tx, now, where, counting.BULLETIN_SENT, count)
        for where, count in sorted(failed.items()):
            await self.counter.add(tx, now, where, counting.BULLETIN_FAILED, count)
        await tx.audit.record(
            now,
            "botkit",
            "bulletin.reported",
            f"bulletin:{bulletin.id}",
            {"delivered": outcome.delivered, "failed": len(outcome.failed)},
        )
        if bulletin.author_platform and bulletin.author_chat:
            summary = SendText(bulletin.author_chat, self.summary(outcome))
            await tx.outbox.enqueue_message(
                NewMessage(
                    f"bulletin-report:{bulletin.id}",
                    bulletin.author_platform,
                    bulletin.author_chat,
                    encode_action(summary),
                ),
                now,
            )
        log.info(
            "bulletin %d reached %d of %d group(s)",
            bulletin.id,
            outcome.delivered,
            len(outcome.groups),
        )
        return True

    def summary(self, outcome: BulletinOutcome) -> str:
        t = self.texts
        lines = [
            t.get(
                "bulletin.report",
                bulletin_id=outcome.bulletin.id,
                delivered=outcome.delivered,
                groups=len(outcome.groups),
            )
        ]
        for group in outcome.failed:
            lines.append(
                t.get(
                    "bulletin.failed_group",
                    group=f"{group.platform}:{group.chat_id}",
                    error=(group.error or group.status)[:120],
                )
            )
        return "\n".join(lines)

    # -- never flag a bulletin ----------------------------------------------------------------
    def remember(self, bulletin_id: int, text: str) -> None:
        words = frozenset(canonical_text(text).split())
        if len(words) >= MIN_WORDS:
            self._words[bulletin_id] = words

    async def refresh(self) -> None:
        """Bulletins other processes published (a fleet; the command line)."""
        now = self.clock.now()
        if self._refreshed is not None and now - self._refreshed < REFRESH_EVERY:
            return
        self._refreshed = now
        recent = await self.store.bulletins.since(now - REMEMBERED)
        self._words = {}
        for bulletin in recent:
            self.remember(bulletin.id, bulletin.text)

    def is_bulletin(self, canonical: str) -> bool:
        """The message repeats a recent bulletin (a forward, perhaps with a comment)."""
        if not self._words:
            return False
        words = set(canonical.split())
        return any(len(words & b) >= COVERS * len(b) for b in self._words.values())
