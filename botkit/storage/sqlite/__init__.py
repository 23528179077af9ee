"""The SQLite backend: the embedded default."""

from botkit.storage.sqlite.store import SqliteStore, SqliteTransaction

__all__ = ["SqliteStore", "SqliteTransaction"]
