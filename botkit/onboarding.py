"""Groups joining and leaving: registration, binding to a commune, migration.

Each event is handled inside a transaction with its replies queued in the outbox, so a
redelivered event registers nothing twice and greets nobody twice.
"""

from __future__ import annotations

from datetime import datetime

from botkit.adapter import GroupJoined, GroupLeft, GroupMigrated, GroupSetup
from botkit.clock import Clock
from botkit.codec import encode_action
from botkit.config import Config
from botkit.groups import GroupDirectory
from botkit.outbound import Button, SendText
from botkit.places import PlaceBook
from botkit.storage.base import Transaction
from botkit.storage.records import NewMessage
from botkit.texts import Texts

GroupEvent = GroupJoined | GroupLeft | GroupSetup | GroupMigrated


class Onboarding:
    def __init__(
        self,
        config: Config,
        groups: GroupDirectory,
        texts: Texts,
        places: PlaceBook,
        clock: Clock,
    ) -> None:
        self.config = config
        self.groups = groups
        self.texts = texts
        self.places = places
        self.clock = clock

    async def handle(self, tx: Transaction, event: GroupEvent, key: str) -> None:
        """`key` identifies the event; it makes the replies' dedupe keys."""
        now = self.clock.now()
        if isinstance(event, GroupJoined):
            await self._joined(tx, event, key, now)
        elif isinstance(event, GroupSetup):
            await self._setup(tx, event, key, now)
        elif isinstance(event, GroupLeft):
            await self._register(tx, event.platform, event.chat_id, None, "left", None)
            await self._audit(tx, event.platform, event.chat_id, "-", "group.left", {}, now)
        else:
            await self._migrated(tx, event, now)

    async def _joined(self, tx: Transaction, event: GroupJoined, key: str, now: datetime) -> None:
        await self._register(tx, event.platform, event.chat_id, None, "pending", event.title)
        await self._audit(tx, event.platform, event.chat_id, event.by, "group.joined", {}, now)
        # Offer the configured communes as buttons; `/setup <name>` works for any other.
        buttons = tuple(
            Button(self.places.name(code), f"setup:{code}")
            for code in self.config.jurisdiction.communes
        )
        text = SendText(event.chat_id, self.texts.get("group.joined"), buttons)
        await self._send(tx, event.platform, text, key, now)

    async def _setup(self, tx: Transaction, event: GroupSetup, key: str, now: datetime) -> None:
        place = self.places.find(event.query)
        if place is None:
            similar = self.places.similar(event.query)
            text = (
                self.texts.get(
                    "group.similar_places",
                    query=event.query[:80],
                    places=", ".join(f"{p.name} ({p.code})" for p in similar),
                    example=similar[0].name,
                )
                if similar
                else self.texts.get("group.unknown_place", query=event.query[:80])
            )
            await self._send(tx, event.platform, SendText(event.chat_id, text), key, now)
            return
        await self._register(tx, event.platform, event.chat_id, place.code, "active", None)
        await self._audit(
            tx,
            event.platform,
            event.chat_id,
            event.by,
            "group.setup",
            {"jurisdiction": place.code},
            now,
        )
        text = self.texts.get("group.bound", place=self.places.name(place.code))
        await self._send(tx, event.platform, SendText(event.chat_id, text), key, now)

    async def _migrated(self, tx: Transaction, event: GroupMigrated, now: datetime) -> None:
        known = await tx.groups.get(event.platform, event.old_chat_id)
        if known is not None and known[1] == "migrated":
            return  # the same migration reported again (e.g. after a restart)
        jurisdiction, status = known if known is not None else (None, "active")
        if known is None:
            # Not registered: a group bound in config keeps its commune under its new id.
            jurisdiction = self.groups.configured(event.platform, event.old_chat_id)
        await self._register(tx, event.platform, event.new_chat_id, jurisdiction, status, None)
        await self._register(tx, event.platform, event.old_chat_id, None, "migrated", None)
        await self._audit(
            tx,
            event.platform,
            event.old_chat_id,
            "-",
            "group.migrated",
            {"to": event.new_chat_id},
            now,
        )

    async def _register(
        self,
        tx: Transaction,
        platform: str,
        chat_id: str,
        jurisdiction: int | None,
        status: str,
        title: str | None,
    ) -> None:
        await tx.groups.upsert(platform, chat_id, jurisdiction, status, title)
        tx.after_commit(lambda: self.groups.forget(platform, chat_id))

    async def _audit(
        self,
        tx: Transaction,
        platform: str,
        chat_id: str,
        by: str | None,
        action: str,
        details: dict[str, object],
        now: datetime,
    ) -> None:
        await tx.audit.record(now, by or "-", action, f"{platform}:{chat_id}", details)

    async def _send(
        self, tx: Transaction, platform: str, action: SendText, key: str, now: datetime
    ) -> None:
        message = NewMessage(f"onboarding:{key}", platform, action.chat_id, encode_action(action))
        await tx.outbox.enqueue_message(message, now)
