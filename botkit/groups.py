"""Which commune a group belongs to: config first, then groups registered at run time."""

from __future__ import annotations

import time

from botkit.config import Config
from botkit.sandbox import SANDBOX, sandbox_commune
from botkit.storage.base import GroupStore

# Registrations change rarely and every message asks; another process may register a group,
# so a cached answer is trusted for a minute only.
CACHE_SECONDS = 60.0


class GroupDirectory:
    def __init__(self, config: Config, groups: GroupStore) -> None:
        self.default = config.jurisdiction.default
        self.groups = groups
        self._configured = {(g.platform, g.chat): g.jurisdiction for g in config.groups}
        self._communes = {*config.jurisdiction.communes, self.default}
        self._registered: dict[tuple[str, str], tuple[float, int | None]] = {}

    def configured(self, platform: str, chat_id: str) -> int:
        """The group's commune from the config alone (the default when it is not listed)."""
        if platform == SANDBOX:
            return self._sandbox(chat_id)
        return self._configured.get((platform, chat_id), self.default)

    def _sandbox(self, chat_id: str) -> int:
        """A sandbox group's commune is in its id (only a configured commune counts)."""
        commune = sandbox_commune(chat_id)
        return commune if commune in self._communes else self.default

    async def jurisdiction(self, platform: str, chat_id: str) -> int:
        if platform == SANDBOX:
            return self._sandbox(chat_id)
        key = (platform, chat_id)
        configured = self._configured.get(key)
        if configured is not None:
            return configured
        cached = self._registered.get(key)
        if cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
            row = await self.groups.get(platform, chat_id)
            active = row is not None and row[0] is not None and row[1] == "active"
            cached = (time.monotonic(), row[0] if active and row else None)
            self._registered[key] = cached
        return cached[1] if cached[1] is not None else self.default

    def forget(self, platform: str, chat_id: str) -> None:
        self._registered.pop((platform, chat_id), None)
