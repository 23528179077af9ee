"""The backend named in `[storage]`, opened."""

from __future__ import annotations

from pathlib import Path

from botkit.config.schema import StorageSettings
from botkit.storage.base import Store, StoreError


async def open_store(settings: StorageSettings, base_dir: Path, path: str | None = None) -> Store:
    """Open the configured backend; `path` overrides the SQLite file (":memory:" for dry runs)."""
    if settings.backend == "sqlite":
        from botkit.storage.sqlite import SqliteStore

        target = path or settings.path
        if target != ":memory:" and not Path(target).is_absolute():
            target = str(base_dir / target)
        store = SqliteStore(target, settings.synchronous, settings.max_megabytes)
        await store.open()
        return store
    raise StoreError(f"storage.backend = {settings.backend!r}: no such backend")
