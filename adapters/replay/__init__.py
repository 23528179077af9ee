"""Replaying chat histories: Telegram Desktop exports and plain JSONL."""

from adapters.replay.errors import ReplayError
from adapters.replay.sources import read_sources

__all__ = ["ReplayError", "read_sources"]
