"""Where an officer can be reached: their contacts on adapters that are running, in order."""

from __future__ import annotations

from typing import Protocol

from botkit.config import Config


class Running(Protocol):
    def has(self, adapter_name: str) -> bool: ...


class Contacts:
    def __init__(self, config: Config, running: Running) -> None:
        self.config = config
        self.running = running

    def reachable(self, officer_id: str) -> list[tuple[str, str]]:
        officer = self.config.officer(officer_id)
        if officer is None:
            return []
        return [(a, chat) for a, chat in officer.contacts.items() if self.running.has(a)]

    def first(self, officer_id: str) -> tuple[str, str] | None:
        found = self.reachable(officer_id)
        return found[0] if found else None

    def after(self, officer_id: str, platform: str) -> tuple[str, str] | None:
        """The next reachable contact after the one on `platform` (which failed for good)."""
        found = self.reachable(officer_id)
        names = [a for a, _ in found]
        if platform in names:
            rest = found[names.index(platform) + 1 :]
            return rest[0] if rest else None
        return found[0] if found else None
