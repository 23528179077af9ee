"""The backend named in `[storage]`, opened."""

from __future__ import annotations

import os
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
    if settings.backend == "redis":
        from botkit.storage.redis import RedisStore

        url = redis_url(settings)
        store_r = RedisStore(url, settings.key_prefix)
        try:
            await store_r.open()
        except BaseException:
            await store_r.close()
            raise
        return store_r
    raise StoreError(f"storage.backend = {settings.backend!r}: no such backend")


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url(settings: StorageSettings) -> str:
    """The URL from the environment (never from the config file: it may carry a password)."""
    return os.environ.get(settings.url_env) or DEFAULT_REDIS_URL
