"""One SQLite connection, owned by one thread, with transactions that span awaits.

Every statement runs on a dedicated thread, so the event loop never blocks on the disk.
Transactions are serialised by an asyncio lock: while one is open, no other coroutine of
this process can slip a statement into it. Other processes on the same file wait on
SQLite's own lock (`BEGIN IMMEDIATE`, with a busy timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from botkit.storage.base import StoreError, StoreUnavailable
from botkit.storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)

T = TypeVar("T")
Db = sqlite3.Connection

# What an operator can do about each failure, in a few words.
_HINTS = {
    "SQLITE_FULL": "the disk (or the database's size limit) is full",
    "SQLITE_READONLY": "the database file or its folder is read-only",
    "SQLITE_BUSY": "the database is locked by another process",
    "SQLITE_LOCKED": "the database is locked",
    "SQLITE_IOERR": "a disk I/O error",
    "SQLITE_CANTOPEN": "the file cannot be opened (missing or unwritable folder?)",
    "SQLITE_PERM": "permission denied",
}


def ts(value: datetime) -> str:
    """A UTC timestamp as text that sorts in time order."""
    return value.astimezone(UTC).isoformat()


def dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def describe(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "")
    hint = next((h for code, h in _HINTS.items() if name.startswith(code)), None)
    return f"{exc} ({hint})" if hint else str(exc)


class Connection:
    def __init__(
        self, path: str | Path, synchronous: str = "FULL", max_megabytes: float | None = None
    ) -> None:
        self.path = str(path)
        self.synchronous = synchronous.upper()
        self.max_megabytes = max_megabytes
        self._db: Db | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self.lock = asyncio.Lock()
        self.tx_task: asyncio.Task[Any] | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        await self._submit(self._open)

    def _open(self) -> None:
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot create its folder: {exc}") from exc
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
            if self.max_megabytes is not None:
                page = db.execute("PRAGMA page_size").fetchone()[0]
                pages = max(int(self.max_megabytes * 1024 * 1024 / page), 1)
                db.execute(f"PRAGMA max_page_count={pages}")
            self._db = db
            _migrate(db, self.path)
            # Prove now that we can write: a read-only file or a full disk is an error at
            # start, not a surprise when the first report arrives.
            _atomic(db, _probe)
        except sqlite3.Error as exc:
            if self._db is not None:
                self._db.close()
                self._db = None
            raise StoreError(f"{self.path}: cannot use the database: {describe(exc)}") from exc

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await self._submit(db.close)
        self._executor.shutdown(wait=True)

    @property
    def db(self) -> Db:
        if self._db is None:
            raise StoreError(f"{self.path}: store is not open")
        return self._db

    # -- running statements ------------------------------------------------------------------
    async def _submit(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(db, *args)` on the connection's thread, inside whatever transaction is open."""
        return await self._submit(self._guarded, fn, False, *args)

    async def atomic(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(db, *args)` in a transaction of its own, begun and ended on the thread."""
        return await self._submit(self._guarded, fn, True, *args)

    def _guarded(self, fn: Callable[..., T], atomic: bool, *args: Any) -> T:
        try:
            return _atomic(self.db, fn, *args) if atomic else fn(self.db, *args)
        except sqlite3.IntegrityError:
            raise  # a bug in botkit, not the disk's fault: let it show
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"{self.path}: {describe(exc)}") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {describe(exc)}") from exc

    def check_not_inside(self) -> None:
        """A coroutine holding a transaction must use its roles, not the store's."""
        current = asyncio.current_task()
        if current is not None and current is self.tx_task:
            raise RuntimeError("store used outside the open transaction of the same task")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self.check_not_inside()
        async with self.lock:
            self.tx_task = asyncio.current_task()
            try:
                await self.call(_begin)
                try:
                    yield
                except BaseException:
                    # Shielded: a cancelled task still leaves the connection clean.
                    await asyncio.shield(self._submit(_rollback, self.db))
                    raise
                await asyncio.shield(self.call(_commit))
            finally:
                self.tx_task = None


def _begin(db: Db) -> None:
    db.execute("BEGIN IMMEDIATE")


def _commit(db: Db) -> None:
    try:
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def _rollback(db: Db) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


def _atomic(db: Db, fn: Callable[..., T], *args: Any) -> T:
    db.execute("BEGIN IMMEDIATE")
    try:
        result = fn(db, *args)
    except BaseException:
        _rollback(db)
        raise
    _commit(db)
    return result


def _probe(db: Db) -> None:
    db.execute(
        "INSERT INTO meta(key, value) VALUES ('opened_at', ?)"
        " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        (ts(datetime.now(UTC)),),
    )


def _migrate(db: Db, path: str) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{path}: schema version {version} is newer than this botkit knows ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):

        def apply(db: Db, script: str = script, number: int = number) -> None:
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")

        _atomic(db, apply)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


class AutoRunner:
    """Runs each operation in a transaction of its own (outside `Store.transaction()`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        self._conn.check_not_inside()
        async with self._conn.lock:
            return await self._conn.call(fn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        self._conn.check_not_inside()
        async with self._conn.lock:
            return await self._conn.atomic(fn, *args)


class TxRunner:
    """Runs operations inside the transaction its task holds."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._conn.call(fn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._conn.call(fn, *args)


Runner = AutoRunner | TxRunner
