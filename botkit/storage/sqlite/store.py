"""The embedded default store: one SQLite file in WAL mode, every role over one connection."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from botkit.pacing import LocalRateGate
from botkit.storage.hooks import AfterCommit
from botkit.storage.records import StoreStatus
from botkit.storage.sqlite.audit import SqliteAudit
from botkit.storage.sqlite.bulletins import SqliteBulletins
from botkit.storage.sqlite.cases import SqliteCases
from botkit.storage.sqlite.connection import AutoRunner, Connection, Db, Runner, TxRunner, dt, ts
from botkit.storage.sqlite.drafts import SqliteDrafts
from botkit.storage.sqlite.groups import SqliteGroups
from botkit.storage.sqlite.incidents import SqliteIncidents
from botkit.storage.sqlite.intake import SqliteIntake
from botkit.storage.sqlite.meta import SqliteMeta
from botkit.storage.sqlite.outbox import SqliteOutbox
from botkit.storage.sqlite.reviews import SqliteReviews
from botkit.storage.sqlite.stats import SqliteStats
from botkit.storage.sqlite.timers import SqliteTimers

T = TypeVar("T")


class _Roles:
    def __init__(self, runner: Runner) -> None:
        self.incidents = SqliteIncidents(runner)
        self.outbox = SqliteOutbox(runner)
        self.timers = SqliteTimers(runner)
        self.audit = SqliteAudit(runner)
        self.intake = SqliteIntake(runner)
        self.groups = SqliteGroups(runner)
        self.meta = SqliteMeta(runner)
        self.cases = SqliteCases(runner)
        self.drafts = SqliteDrafts(runner)
        self.stats = SqliteStats(runner)
        self.bulletins = SqliteBulletins(runner)
        self.reviews = SqliteReviews(runner)


class SqliteTransaction(_Roles, AfterCommit):
    def __init__(self, conn: Connection) -> None:
        _Roles.__init__(self, TxRunner(conn))
        AfterCommit.__init__(self)


class SqliteStore(_Roles):
    """`path=":memory:"` gives a store that leaves no trace (dry runs, tests)."""

    backend = "sqlite"

    def __init__(
        self, path: str | Path, synchronous: str = "FULL", max_megabytes: float | None = None
    ) -> None:
        self._conn = Connection(path, synchronous, max_megabytes)
        self.location = self._conn.path
        # One process per SQLite file runs the bot: its rates are this process's.
        self.rate_gate = LocalRateGate()
        super().__init__(AutoRunner(self._conn))

    @property
    def path(self) -> str:
        return self._conn.path

    async def open(self) -> None:
        await self._conn.open()

    async def close(self) -> None:
        await self._conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        tx = SqliteTransaction(self._conn)
        async with self._conn.transaction():
            yield tx
        tx.committed()

    async def run_transaction(self, effect: Callable[[SqliteTransaction], Awaitable[T]]) -> T:
        # One writer at a time: nothing to run again.
        async with self.transaction() as tx:
            return await effect(tx)

    async def purge(
        self, before: datetime, audit_before: datetime, keys_before: datetime
    ) -> dict[str, int]:
        return await AutoRunner(self._conn).write(_purge, before, audit_before, keys_before)

    async def status(self, now: datetime) -> StoreStatus:
        return await AutoRunner(self._conn).read(_status, now, self.location)

    async def lease_owners(self) -> list[str]:
        return await AutoRunner(self._conn).read(_lease_owners)

    async def release_leases(self, owners: Sequence[str]) -> int:
        return await AutoRunner(self._conn).write(_release_leases, list(owners))


_LEASED = ("intake", "alerts", "outbox")


def _lease_owners(db: Db) -> list[str]:
    union = " UNION ".join(
        f"SELECT lease_owner FROM {t} WHERE lease_owner IS NOT NULL" for t in _LEASED
    )
    return [r[0] for r in db.execute(union)]


def _release_leases(db: Db, owners: list[str]) -> int:
    released = 0
    for table in _LEASED:
        released += db.executemany(
            f"UPDATE {table} SET lease_owner=NULL, lease_until=NULL WHERE lease_owner=?",
            [(o,) for o in owners],
        ).rowcount
    return released


def _purge(
    db: Db, before: datetime, audit_before: datetime, keys_before: datetime
) -> dict[str, int]:
    cutoff = ts(before)
    counts: dict[str, int] = {}
    stale = "SELECT id FROM incidents WHERE last_seen < ?"
    for table in ("occurrences", "timers", "alerts", "officer_actions", "claims", "outbox"):
        counts[table] = db.execute(
            f"DELETE FROM {table} WHERE incident_id IN ({stale})", (cutoff,)
        ).rowcount
    counts["outbox"] += db.execute(
        "DELETE FROM outbox WHERE incident_id IS NULL AND created_at < ?", (cutoff,)
    ).rowcount
    # An old message of an incident still alive: its occurrence (which names the chat and
    # the message) goes with it; the incident keeps its count.
    counts["occurrences"] += db.execute(
        "DELETE FROM occurrences WHERE flagged_message_id IN"
        " (SELECT id FROM flagged_messages WHERE received_at < ?)",
        (cutoff,),
    ).rowcount
    going = f"SELECT id FROM flagged_messages WHERE received_at < ? OR incident_id IN ({stale})"
    # A reviewer's label goes with its message (it means nothing without the excerpt).
    counts["review_labels"] = db.execute(
        f"DELETE FROM review_labels WHERE flagged_message_id IN ({going})", (cutoff, cutoff)
    ).rowcount
    counts["flagged_messages"] = db.execute(
        f"DELETE FROM flagged_messages WHERE received_at < ? OR incident_id IN ({stale})",
        (cutoff, cutoff),
    ).rowcount
    counts["incidents"] = db.execute(
        "DELETE FROM incidents WHERE last_seen < ?", (cutoff,)
    ).rowcount
    # Dead letters hold a resident's message: they too go at the retention limit.
    counts["intake"] = db.execute(
        "DELETE FROM intake WHERE (status = 'dead' AND received_at < ?)"
        " OR (status = 'done' AND finished_at < ?)",
        (cutoff, ts(keys_before)),
    ).rowcount
    counts["send_log"] = db.execute(
        "DELETE FROM send_log WHERE at < ?", (ts(keys_before),)
    ).rowcount
    # A case names a resident (sealed): it goes at the retention limit after its last change.
    counts["cases"] = db.execute("DELETE FROM cases WHERE updated_at < ?", (cutoff,)).rowcount
    counts["drafts"] = db.execute(
        "DELETE FROM drafts WHERE updated_at < ?", (ts(keys_before),)
    ).rowcount
    # Counters hold no personal data: kept as long as the audit log.
    audit_day = audit_before.date().isoformat()
    counts["stats"] = (
        db.execute("DELETE FROM stat_counts WHERE day < ?", (audit_day,)).rowcount
        + db.execute("DELETE FROM stat_samples WHERE day < ?", (audit_day,)).rowcount
    )
    counts["bulletins"] = db.execute(
        "DELETE FROM bulletins WHERE created_at < ?", (ts(audit_before),)
    ).rowcount
    db.execute("INSERT INTO purge_guard VALUES (1)")
    counts["audit_log"] = db.execute(
        "DELETE FROM audit_log WHERE at < ?", (ts(audit_before),)
    ).rowcount
    db.execute("DELETE FROM purge_guard")
    return counts


def _status(db: Db, now: datetime, location: str) -> StoreStatus:
    def one(sql: str, *args: object) -> int:
        return int(db.execute(sql, args).fetchone()[0] or 0)

    oldest = db.execute("SELECT MIN(received_at) FROM intake WHERE status='pending'").fetchone()[0]
    outbox: dict[str, int] = {}
    for table in ("alerts", "outbox"):
        for status, count in db.execute(
            f"SELECT status, COUNT(*) FROM {table} WHERE status IN"
            " ('pending', 'retry', 'held', 'failed') GROUP BY status"
        ):
            outbox[status] = outbox.get(status, 0) + count
    now_ts = ts(now)
    return StoreStatus(
        backend="sqlite",
        location=location,
        intake_pending=one("SELECT COUNT(*) FROM intake WHERE status='pending'"),
        intake_in_flight=one(
            "SELECT COUNT(*) FROM intake WHERE status='pending' AND lease_until > ?", now_ts
        ),
        intake_oldest=dt(oldest) if oldest else None,
        dead_letters=one("SELECT COUNT(*) FROM intake WHERE status='dead'"),
        outbox=outbox,
        edits_due=one(
            "SELECT COUNT(*) FROM alerts a JOIN incidents i ON i.id = a.incident_id"
            " WHERE a.status='sent' AND a.delivery_ref IS NOT NULL AND a.via_digest = 0"
            " AND a.rendered_version < i.version"
        ),
        timers_pending=one("SELECT COUNT(*) FROM timers WHERE status='pending'"),
        timers_due=one(
            "SELECT COUNT(*) FROM timers WHERE status='pending' AND due_at <= ?", now_ts
        ),
        incidents_open=one("SELECT COUNT(*) FROM incidents WHERE state != 'resolved'"),
    )
