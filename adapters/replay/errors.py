"""A problem at one position of a replay source; the rest is still processed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplayError:
    source: str
    position: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.position}: {self.reason}"
