"""Every storage backend the contract suite runs against, opened fresh for one test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from botkit.storage import SqliteStore
from botkit.storage.base import Store

BACKENDS = ["sqlite-file", "sqlite-memory"]


@contextlib.asynccontextmanager
async def open_backend(name: str, tmp_path: Path) -> AsyncIterator[Store]:
    if name == "sqlite-file":
        store: Store = SqliteStore(tmp_path / "botkit.sqlite3")
    elif name == "sqlite-memory":
        store = SqliteStore(":memory:")
    else:
        raise ValueError(f"no storage backend {name!r}")
    await store.open()
    try:
        yield store
    finally:
        await store.close()
