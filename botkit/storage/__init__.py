"""The storage port (split by role) and its backends."""

from botkit.storage.base import Store, StoreError, StoreUnavailable, Transaction
from botkit.storage.factory import open_store
from botkit.storage.records import AlertRow, FlaggedRecord, TimerRow
from botkit.storage.sqlite import SqliteStore

__all__ = [
    "AlertRow",
    "FlaggedRecord",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TimerRow",
    "Transaction",
    "open_store",
]
