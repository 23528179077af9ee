"""Every storage backend the contract suite runs against, opened fresh for one test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from botkit.storage import SqliteStore
from botkit.storage.base import Store
from botkit.storage.redis import RedisStore
from tests.redis_server import fresh_prefix, shared_url

BACKENDS = ["sqlite-file", "sqlite-memory", "redis"]


@contextlib.asynccontextmanager
async def open_backend(name: str, tmp_path: Path) -> AsyncIterator[Store]:
    if name == "sqlite-file":
        store: Store = SqliteStore(tmp_path / "botkit.sqlite3")
    elif name == "sqlite-memory":
        store = SqliteStore(":memory:")
    elif name == "redis":
        store = RedisStore(shared_url(), fresh_prefix())
    else:
        raise ValueError(f"no storage backend {name!r}")
    await store.open()
    try:
        yield store
    finally:
        await store.close()
