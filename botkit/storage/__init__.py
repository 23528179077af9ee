"""Storage port and its backends."""

from botkit.storage.base import AlertRow, FlaggedRecord, Store, TimerRow
from botkit.storage.sqlite import SqliteStore

__all__ = ["AlertRow", "FlaggedRecord", "SqliteStore", "Store", "TimerRow"]
