"""Groups joining and leaving: registration, binding to a commune, migration."""

from __future__ import annotations

from botkit.adapter import GroupJoined, GroupLeft, GroupMigrated, GroupSetup
from botkit.clock import Clock
from botkit.config import Config
from botkit.dispatch import Dispatcher, reply
from botkit.groups import GroupDirectory
from botkit.outbound import Button, SendText
from botkit.places import PlaceBook
from botkit.storage.base import Store
from botkit.texts import Texts

GroupEvent = GroupJoined | GroupLeft | GroupSetup | GroupMigrated


class Onboarding:
    def __init__(
        self,
        config: Config,
        store: Store,
        groups: GroupDirectory,
        dispatcher: Dispatcher,
        texts: Texts,
        places: PlaceBook,
        clock: Clock,
    ) -> None:
        self.config = config
        self.store = store
        self.groups = groups
        self.dispatcher = dispatcher
        self.texts = texts
        self.places = places
        self.clock = clock

    async def handle(self, event: GroupEvent) -> None:
        if isinstance(event, GroupJoined):
            await self._joined(event)
        elif isinstance(event, GroupSetup):
            await self._setup(event)
        elif isinstance(event, GroupLeft):
            await self._register(event.platform, event.chat_id, None, "left", None)
            await self._audit(event.platform, event.chat_id, "-", "group.left", {})
        else:
            await self._migrated(event)

    async def _joined(self, event: GroupJoined) -> None:
        await self._register(event.platform, event.chat_id, None, "pending", event.title)
        await self._audit(event.platform, event.chat_id, event.by, "group.joined", {})
        # Offer the configured communes as buttons; `/setup <name>` works for any other.
        buttons = tuple(
            Button(self.places.name(code), f"setup:{code}")
            for code in self.config.jurisdiction.communes
        )
        await self._send(
            event.platform, SendText(event.chat_id, self.texts.get("group.joined"), buttons)
        )

    async def _setup(self, event: GroupSetup) -> None:
        place = self.places.find(event.query)
        if place is None:
            text = self.texts.get("group.unknown_place", query=event.query[:80])
            await self._send(event.platform, SendText(event.chat_id, text))
            return
        await self._register(event.platform, event.chat_id, place.code, "active", None)
        await self._audit(
            event.platform, event.chat_id, event.by, "group.setup", {"jurisdiction": place.code}
        )
        text = self.texts.get("group.bound", place=self.places.name(place.code))
        await self._send(event.platform, SendText(event.chat_id, text))

    async def _migrated(self, event: GroupMigrated) -> None:
        known = await self.store.group(event.platform, event.old_chat_id)
        if known is not None and known[1] == "migrated":
            return  # the same migration reported again (e.g. after a restart)
        jurisdiction, status = known if known is not None else (None, "active")
        if known is None:
            # A group bound in config keeps its commune under its new id.
            jurisdiction = await self.groups.jurisdiction(event.platform, event.old_chat_id)
        await self._register(event.platform, event.new_chat_id, jurisdiction, status, None)
        await self._register(event.platform, event.old_chat_id, None, "migrated", None)
        await self._audit(
            event.platform, event.old_chat_id, "-", "group.migrated", {"to": event.new_chat_id}
        )

    async def _register(
        self, platform: str, chat_id: str, jurisdiction: int | None, status: str, title: str | None
    ) -> None:
        await self.store.upsert_group(platform, chat_id, jurisdiction, status, title)
        self.groups.forget(platform, chat_id)

    async def _audit(
        self, platform: str, chat_id: str, by: str | None, action: str, details: dict[str, object]
    ) -> None:
        await self.store.audit(
            self.clock.now(), by or "-", action, f"{platform}:{chat_id}", details
        )

    async def _send(self, platform: str, action: SendText) -> None:
        await reply(self.dispatcher, platform, action)
