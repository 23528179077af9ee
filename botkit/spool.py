"""A local, durable buffer for accepted events while the shared store is out of reach.

On Redis, an intake process that cannot reach the server keeps accepting: each event goes,
sealed, into a small SQLite file on its own disk (fsync'd before the platform is told), up
to `capacity` events; past that, events are refused and the platform keeps them. When the
server answers again, a forwarder moves them into the stream (appending is idempotent by
event key, so a crash between the append and the delete repeats nothing) and deletes them.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from botkit.storage.base import IntakeStore, StoreUnavailable
from botkit.storage.records import IntakeItem
from botkit.waiting import event_within

log = logging.getLogger(__name__)

FORWARD_BATCH = 500


class SpoolFull(Exception):
    """The local buffer holds `capacity` events already."""


class Spool:
    def __init__(self, path: Path, capacity: int) -> None:
        self.path = path
        self.capacity = capacity
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spool(seq INTEGER PRIMARY KEY, key TEXT UNIQUE,"
            " payload BLOB NOT NULL, at TEXT NOT NULL)"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _put(self, items: Sequence[IntakeItem], at: datetime) -> None:
        with self._lock:
            count = self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]
            if count + len(items) > self.capacity:
                raise SpoolFull(f"{count} events wait in {self.path} (capacity {self.capacity})")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO spool(key, payload, at) VALUES (?,?,?)",
                    [(i.key, i.payload, at.astimezone(UTC).isoformat()) for i in items],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _take(self, limit: int) -> list[tuple[int, IntakeItem, datetime]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, key, payload, at FROM spool ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [(r[0], IntakeItem(r[1], r[2]), datetime.fromisoformat(r[3])) for r in rows]

    def _forget(self, seqs: list[int]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM spool WHERE seq=?", [(s,) for s in seqs])

    def size(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])

    async def put(self, items: Sequence[IntakeItem], at: datetime) -> None:
        await asyncio.to_thread(self._put, items, at)

    async def forward(self, intake: IntakeStore) -> int:
        """Move what waits here into the store; returns how many moved."""
        moved = 0
        while True:
            batch = await asyncio.to_thread(self._take, FORWARD_BATCH)
            if not batch:
                return moved
            # One append per arrival time keeps each event's own time.
            for at in sorted({at for _, _, at in batch}):
                await intake.append([item for _, item, t in batch if t == at], at)
            await asyncio.to_thread(self._forget, [seq for seq, _, _ in batch])
            moved += len(batch)


async def forward_while_running(
    spool: Spool, intake: IntakeStore, stop: asyncio.Event, every: float = 1.0
) -> None:
    """Keep moving spooled events into the store, quietly retrying while it is away; a last
    try when stopping (what stays is moved at the next start)."""
    while True:
        try:
            moved = await spool.forward(intake)
        except StoreUnavailable:
            moved = 0
        if moved:
            log.warning("the store answers again: %d buffered event(s) moved into it", moved)
        if stop.is_set():
            return
        await event_within(stop, every)
