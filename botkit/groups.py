"""Which commune a group belongs to: config first, then groups registered at run time."""

from __future__ import annotations

from botkit.config import Config
from botkit.storage.base import Store


class GroupDirectory:
    def __init__(self, config: Config, store: Store) -> None:
        self.default = config.jurisdiction.default
        self._configured = {(g.platform, g.chat): g.jurisdiction for g in config.groups}

    async def jurisdiction(self, store: Store, platform: str, chat_id: str) -> int:
        configured = self._configured.get((platform, chat_id))
        if configured is not None:
            return configured
        registered = await store.group(platform, chat_id)
        if registered is not None and registered[0] is not None and registered[1] == "active":
            return registered[0]
        return self.default
