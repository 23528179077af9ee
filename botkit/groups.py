"""Which commune a group belongs to: config first, then groups registered at run time."""

from __future__ import annotations

from botkit.config import Config
from botkit.storage.base import Store


class GroupDirectory:
    def __init__(self, config: Config, store: Store) -> None:
        self.default = config.jurisdiction.default
        self.store = store
        self._configured = {(g.platform, g.chat): g.jurisdiction for g in config.groups}
        # Registrations change rarely; every message asks, so they are cached.
        self._registered: dict[tuple[str, str], int | None] = {}

    async def jurisdiction(self, platform: str, chat_id: str) -> int:
        key = (platform, chat_id)
        configured = self._configured.get(key)
        if configured is not None:
            return configured
        if key not in self._registered:
            row = await self.store.group(platform, chat_id)
            active = row is not None and row[0] is not None and row[1] == "active"
            self._registered[key] = row[0] if active and row else None
        registered = self._registered[key]
        return registered if registered is not None else self.default

    def forget(self, platform: str, chat_id: str) -> None:
        self._registered.pop((platform, chat_id), None)
