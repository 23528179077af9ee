"""SQLite backend: WAL, migrations, all calls on one dedicated thread off the event loop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from botkit.domain import Incident, IncidentState
from botkit.storage.base import (
    AlertRow,
    FlaggedRecord,
    IncidentDetail,
    NewIncident,
    Occurrence,
    TimerRow,
)
from botkit.storage.migrations import MIGRATIONS

T = TypeVar("T")

_INCIDENT_COLUMNS = (
    "i.id, i.content_key, i.category, i.jurisdiction, i.unit, i.state, i.opened_at, i.last_seen,"
    " i.occurrences, (SELECT COUNT(DISTINCT platform || ':' || chat_id) FROM occurrences o"
    " WHERE o.incident_id = i.id), i.excerpt, i.score, i.claim_id"
)


class StoreError(RuntimeError):
    """The database cannot be opened or migrated; the message names the file."""


def _ts(value: datetime) -> str:
    return value.isoformat()


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _incident(row: tuple[Any, ...]) -> Incident:
    return Incident(
        id=row[0],
        content_key=row[1],
        category=row[2],
        jurisdiction=row[3],
        unit=row[4],
        state=IncidentState(row[5]),
        opened_at=_dt(row[6]),
        last_seen=_dt(row[7]),
        occurrences=row[8],
        groups=max(row[9], 1),
        excerpt=row[10],
        score=row[11],
        claim_id=row[12],
    )


def _alert(row: tuple[Any, ...]) -> AlertRow:
    return AlertRow(*row)


class SqliteStore:
    """The embedded default store. `path=":memory:"` gives a store that leaves no trace."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db: sqlite3.Connection | None = None
        # One thread owns the connection: SQLite calls never block the event loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"{self.path}: store is not open")
        return self._db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- lifecycle --------------------------------------------------------------------------
    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
            self._db = db
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc

    def _migrate(self) -> None:
        db = self.db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this botkit knows"
                f" ({len(MIGRATIONS)})"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self.db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    # -- groups ------------------------------------------------------------------------------
    async def upsert_group(
        self, platform: str, chat_id: str, jurisdiction: int | None, status: str, title: str | None
    ) -> None:
        await self._run(self._upsert_group, platform, chat_id, jurisdiction, status, title)

    def _upsert_group(
        self, platform: str, chat_id: str, jurisdiction: int | None, status: str, title: str | None
    ) -> None:
        self.db.execute(
            "INSERT INTO groups(platform, chat_id, jurisdiction, status, title, updated_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(platform, chat_id) DO UPDATE SET"
            " jurisdiction=excluded.jurisdiction, status=excluded.status,"
            " title=COALESCE(excluded.title, groups.title), updated_at=excluded.updated_at",
            (platform, chat_id, jurisdiction, status, title, _ts(datetime.now(UTC))),
        )

    async def group(self, platform: str, chat_id: str) -> tuple[int | None, str] | None:
        row = await self._run(
            lambda: self.db.execute(
                "SELECT jurisdiction, status FROM groups WHERE platform=? AND chat_id=?",
                (platform, chat_id),
            ).fetchone()
        )
        return (row[0], row[1]) if row else None

    # -- flagged messages and incidents -----------------------------------------------------
    async def record_flagged(self, record: FlaggedRecord) -> tuple[int, bool]:
        return await self._run(self._record_flagged, record)

    def _record_flagged(self, r: FlaggedRecord) -> tuple[int, bool]:
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM flagged_messages WHERE message_key=?", (r.message_key,)
            ).fetchone()
            if row:
                return row[0], False
            cur = db.execute(
                "INSERT INTO flagged_messages(message_key, platform, chat_id, message_id,"
                " sender_hash, text_hash, excerpt, category, score, model_version, evidence,"
                " received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    r.message_key,
                    r.platform,
                    r.chat_id,
                    r.message_id,
                    r.sender_hash,
                    r.text_hash,
                    r.excerpt,
                    r.category,
                    r.score,
                    r.model_version,
                    json.dumps(r.evidence, ensure_ascii=False),
                    _ts(r.received_at),
                ),
            )
            return int(cur.lastrowid or 0), True

    async def find_open_incident(self, content_key: str, since: datetime) -> Incident | None:
        def q() -> Incident | None:
            row = self.db.execute(
                f"SELECT {_INCIDENT_COLUMNS} FROM incidents i WHERE i.content_key=?"
                " AND i.state != 'resolved' AND i.last_seen >= ? ORDER BY i.id DESC LIMIT 1",
                (content_key, _ts(since)),
            ).fetchone()
            return _incident(row) if row else None

        return await self._run(q)

    async def open_incident(self, new: NewIncident) -> Incident:
        return await self._run(self._open_incident, new)

    def _open_incident(self, n: NewIncident) -> Incident:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO incidents(content_key, category, jurisdiction, unit, copy_units,"
                " state, opened_at, last_seen, occurrences, excerpt, score, claim_id, chain,"
                " claim_text)"
                " VALUES (?,?,?,?,?,?,?,?,0,?,?,?,?,?)",
                (
                    n.content_key,
                    n.category,
                    n.jurisdiction,
                    n.unit,
                    json.dumps(n.copy_units),
                    IncidentState.OPENED.value,
                    _ts(n.opened_at),
                    _ts(n.opened_at),
                    n.excerpt,
                    n.score,
                    n.claim_id,
                    json.dumps(n.chain, ensure_ascii=False),
                    n.claim_text,
                ),
            )
            incident_id = int(cur.lastrowid or 0)
        return self._get_incident(incident_id)

    def _get_incident(self, incident_id: int) -> Incident:
        row = self.db.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents i WHERE i.id=?", (incident_id,)
        ).fetchone()
        return _incident(row)

    async def add_occurrence(
        self,
        incident_id: int,
        flagged_id: int,
        platform: str,
        chat_id: str,
        message_id: str,
        seen_at: datetime,
    ) -> tuple[Incident, bool]:
        def q() -> tuple[Incident, bool]:
            with self._tx() as db:
                cur = db.execute(
                    "INSERT OR IGNORE INTO occurrences(incident_id, flagged_message_id, platform,"
                    " chat_id, message_id, seen_at) VALUES (?,?,?,?,?,?)",
                    (incident_id, flagged_id, platform, chat_id, message_id, _ts(seen_at)),
                )
                added = cur.rowcount == 1
                if added:
                    db.execute(
                        "UPDATE incidents SET occurrences = occurrences + 1,"
                        " last_seen = MAX(last_seen, ?) WHERE id=?",
                        (_ts(seen_at), incident_id),
                    )
                    db.execute(
                        "UPDATE flagged_messages SET incident_id=? WHERE id=?",
                        (incident_id, flagged_id),
                    )
            return self._get_incident(incident_id), added

        return await self._run(q)

    async def incident(self, incident_id: int) -> IncidentDetail | None:
        def q() -> IncidentDetail | None:
            row = self.db.execute(
                f"SELECT {_INCIDENT_COLUMNS}, i.copy_units, i.chain, i.step, i.fence, i.exhausted,"
                " i.claim_text FROM incidents i WHERE i.id=?",
                (incident_id,),
            ).fetchone()
            if row is None:
                return None
            return IncidentDetail(
                incident=_incident(row[:13]),
                copy_units=tuple(json.loads(row[13])),
                chain=json.loads(row[14]),
                step=row[15],
                fence=row[16],
                exhausted=bool(row[17]),
                claim_text=row[18],
            )

        return await self._run(q)

    async def incidents(
        self, units: list[str] | None = None, states: list[IncidentState] | None = None
    ) -> list[Incident]:
        def q() -> list[Incident]:
            sql = f"SELECT {_INCIDENT_COLUMNS} FROM incidents i WHERE 1=1"
            args: list[Any] = []
            if units is not None:
                sql += f" AND i.unit IN ({','.join('?' * len(units))})"
                args += units
            if states is not None:
                sql += f" AND i.state IN ({','.join('?' * len(states))})"
                args += [s.value for s in states]
            return [_incident(r) for r in self.db.execute(sql + " ORDER BY i.id", args)]

        return await self._run(q)

    async def occurrences(self, incident_id: int) -> list[Occurrence]:
        def q() -> list[Occurrence]:
            rows = self.db.execute(
                "SELECT platform, chat_id, message_id, seen_at, corrected FROM occurrences"
                " WHERE incident_id=? ORDER BY seen_at",
                (incident_id,),
            ).fetchall()
            return [Occurrence(r[0], r[1], r[2], _dt(r[3]), bool(r[4])) for r in rows]

        return await self._run(q)

    async def incident_evidence(self, incident_id: int, limit: int = 8) -> list[tuple[str, str]]:
        """Distinct evidence of the incident's messages, oldest first: what officers act on."""

        def q() -> list[tuple[str, str]]:
            found: dict[tuple[str, str], None] = {}
            rows = self.db.execute(
                "SELECT evidence FROM flagged_messages WHERE incident_id=? ORDER BY id LIMIT 50",
                (incident_id,),
            )
            for (raw,) in rows:
                for kind, value in json.loads(raw):
                    found.setdefault((kind, value), None)
            return list(found)[:limit]

        return await self._run(q)

    async def mark_corrected(self, incident_id: int, platform: str, chat_id: str) -> bool:
        """Claim the one correction a group gets per incident; False when already done."""

        def q() -> bool:
            with self._tx() as db:
                done = db.execute(
                    "SELECT 1 FROM occurrences WHERE incident_id=? AND platform=? AND chat_id=?"
                    " AND corrected=1",
                    (incident_id, platform, chat_id),
                ).fetchone()
                if done:
                    return False
                cur = db.execute(
                    "UPDATE occurrences SET corrected=1 WHERE incident_id=? AND platform=?"
                    " AND chat_id=?",
                    (incident_id, platform, chat_id),
                )
                return cur.rowcount > 0

        return await self._run(q)

    async def transition(
        self,
        incident_id: int,
        from_state: IncidentState,
        to_state: IncidentState,
        officer_id: str,
        action: str,
        at: datetime,
    ) -> bool:
        """Compare-and-set the state; a lost race returns False and changes nothing."""

        def q() -> bool:
            with self._tx() as db:
                cur = db.execute(
                    "UPDATE incidents SET state=?, fence = fence + 1 WHERE id=? AND state=?",
                    (to_state.value, incident_id, from_state.value),
                )
                if cur.rowcount != 1:
                    return False
                db.execute(
                    "INSERT INTO officer_actions(incident_id, officer_id, action, from_state,"
                    " to_state, at) VALUES (?,?,?,?,?,?)",
                    (incident_id, officer_id, action, from_state.value, to_state.value, _ts(at)),
                )
                db.execute(
                    "UPDATE timers SET status='cancelled' WHERE incident_id=? AND status='pending'",
                    (incident_id,),
                )
                return True

        return await self._run(q)

    async def last_actor(self, incident_id: int) -> str | None:
        row = await self._run(
            lambda: self.db.execute(
                "SELECT officer_id FROM officer_actions WHERE incident_id=? ORDER BY id DESC"
                " LIMIT 1",
                (incident_id,),
            ).fetchone()
        )
        return row[0] if row else None

    async def advance_step(self, incident_id: int, step: int, exhausted: bool) -> int:
        def q() -> int:
            with self._tx() as db:
                db.execute(
                    "UPDATE incidents SET step=?, exhausted=?, fence = fence + 1 WHERE id=?",
                    (step, int(exhausted), incident_id),
                )
                return int(
                    db.execute("SELECT fence FROM incidents WHERE id=?", (incident_id,)).fetchone()[
                        0
                    ]
                )

        return await self._run(q)

    async def bump_fence(self, incident_id: int) -> int:
        def q() -> int:
            with self._tx() as db:
                db.execute("UPDATE incidents SET fence = fence + 1 WHERE id=?", (incident_id,))
                return int(
                    db.execute("SELECT fence FROM incidents WHERE id=?", (incident_id,)).fetchone()[
                        0
                    ]
                )

        return await self._run(q)

    # -- alerts (an outbox: recorded before sending, marked after) ----------------------------
    async def create_alert(
        self,
        incident_id: int,
        officer_id: str,
        platform: str,
        contact: str,
        kind: str,
        step: int,
        at: datetime,
    ) -> AlertRow:
        def q() -> AlertRow:
            cur = self.db.execute(
                "INSERT INTO alerts(incident_id, officer_id, platform, contact, kind, step,"
                " created_at) VALUES (?,?,?,?,?,?,?)",
                (incident_id, officer_id, platform, contact, kind, step, _ts(at)),
            )
            return AlertRow(
                int(cur.lastrowid or 0),
                incident_id,
                officer_id,
                platform,
                contact,
                kind,
                step,
                "pending",
                None,
                0,
            )

        return await self._run(q)

    async def mark_alert(
        self,
        alert_id: int,
        status: str,
        at: datetime,
        delivery_ref: str | None = None,
        error: str | None = None,
    ) -> None:
        await self._run(
            lambda: self.db.execute(
                "UPDATE alerts SET status=?, delivery_ref=COALESCE(?, delivery_ref),"
                " last_error=?, attempts = attempts + 1,"
                " sent_at = CASE WHEN ?='sent' THEN ? ELSE sent_at END WHERE id=?",
                (status, delivery_ref, error, status, _ts(at), alert_id),
            )
        )

    async def alerts(
        self, incident_id: int | None = None, statuses: list[str] | None = None
    ) -> list[AlertRow]:
        def q() -> list[AlertRow]:
            sql = (
                "SELECT id, incident_id, officer_id, platform, contact, kind, step, status,"
                " delivery_ref, attempts FROM alerts WHERE 1=1"
            )
            args: list[Any] = []
            if incident_id is not None:
                sql += " AND incident_id=?"
                args.append(incident_id)
            if statuses is not None:
                sql += f" AND status IN ({','.join('?' * len(statuses))})"
                args += statuses
            return [_alert(r) for r in self.db.execute(sql + " ORDER BY id", args)]

        return await self._run(q)

    # -- durable timers ----------------------------------------------------------------------
    async def schedule(self, incident_id: int, kind: str, due_at: datetime, fence: int) -> int:
        def q() -> int:
            cur = self.db.execute(
                "INSERT INTO timers(incident_id, kind, due_at, fence) VALUES (?,?,?,?)",
                (incident_id, kind, _ts(due_at), fence),
            )
            return int(cur.lastrowid or 0)

        return await self._run(q)

    async def due_timers(self, now: datetime) -> list[TimerRow]:
        return await self._run(self._timers, "AND due_at <= ?", [_ts(now)])

    async def pending_timers(self, incident_id: int | None = None) -> list[TimerRow]:
        if incident_id is None:
            return await self._run(self._timers, "", [])
        return await self._run(self._timers, "AND incident_id = ?", [incident_id])

    def _timers(self, where: str, args: list[Any]) -> list[TimerRow]:
        rows = self.db.execute(
            "SELECT id, incident_id, kind, due_at, fence FROM timers WHERE status='pending' "
            + where
            + " ORDER BY due_at, id",
            args,
        ).fetchall()
        return [TimerRow(r[0], r[1], r[2], _dt(r[3]), r[4]) for r in rows]

    async def claim_timer(self, timer_id: int) -> bool:
        """Run a step at most once: only a pending timer whose fence is current is claimed."""

        def q() -> bool:
            with self._tx() as db:
                cur = db.execute(
                    "UPDATE timers SET status='done' WHERE id=? AND status='pending' AND fence ="
                    " (SELECT fence FROM incidents WHERE incidents.id = timers.incident_id)",
                    (timer_id,),
                )
                if cur.rowcount == 1:
                    return True
                db.execute(
                    "UPDATE timers SET status='stale' WHERE id=? AND status='pending'", (timer_id,)
                )
                return False

        return await self._run(q)

    async def cancel_timers(self, incident_id: int) -> int:
        def q() -> int:
            cur = self.db.execute(
                "UPDATE timers SET status='cancelled' WHERE incident_id=? AND status='pending'",
                (incident_id,),
            )
            return cur.rowcount

        return await self._run(q)

    async def next_due(self) -> datetime | None:
        row = await self._run(
            lambda: self.db.execute(
                "SELECT MIN(due_at) FROM timers WHERE status='pending'"
            ).fetchone()
        )
        return _dt(row[0]) if row and row[0] else None

    # -- known claims ------------------------------------------------------------------------
    async def add_claim(self, claim_id: str, incident_id: int, text: str, at: datetime) -> None:
        await self._run(
            lambda: self.db.execute(
                "INSERT OR IGNORE INTO claims(claim_id, incident_id, text, created_at)"
                " VALUES (?,?,?,?)",
                (claim_id, incident_id, text, _ts(at)),
            )
        )

    async def claim_incident(self, claim_id: str) -> int | None:
        row = await self._run(
            lambda: self.db.execute(
                "SELECT incident_id FROM claims WHERE claim_id=?", (claim_id,)
            ).fetchone()
        )
        return row[0] if row else None

    async def claims(self) -> list[tuple[str, str]]:
        return await self._run(
            lambda: [
                (r[0], r[1])
                for r in self.db.execute("SELECT claim_id, text FROM claims ORDER BY created_at")
            ]
        )

    # -- audit, labels, retention, meta ------------------------------------------------------
    async def audit(
        self, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
    ) -> None:
        await self._run(
            lambda: self.db.execute(
                "INSERT INTO audit_log(at, actor, action, subject, details) VALUES (?,?,?,?,?)",
                (_ts(at), actor, action, subject, json.dumps(details, ensure_ascii=False)),
            )
        )

    async def audit_log(self, limit: int = 1000) -> list[dict[str, Any]]:
        def q() -> list[dict[str, Any]]:
            rows = self.db.execute(
                "SELECT id, at, actor, action, subject, details FROM audit_log ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
            return [
                {
                    "id": r[0],
                    "at": r[1],
                    "actor": r[2],
                    "action": r[3],
                    "subject": r[4],
                    "details": json.loads(r[5]),
                }
                for r in rows
            ]

        return await self._run(q)

    async def labelled_verdicts(self) -> list[tuple[str, str, str]]:
        """(message key, excerpt, label) for messages whose incident an officer judged."""

        def q() -> list[tuple[str, str, str]]:
            rows = self.db.execute(
                "SELECT f.message_key, f.excerpt, f.category, a.to_state FROM flagged_messages f"
                " JOIN officer_actions a ON a.incident_id = f.incident_id"
                " WHERE a.to_state IN ('confirmed', 'false_positive') ORDER BY f.id"
            ).fetchall()
            return [(r[0], r[1], r[2] if r[3] == "confirmed" else "normal") for r in rows]

        return await self._run(q)

    async def purge(self, before: datetime, audit_before: datetime) -> dict[str, int]:
        """Delete what is older than the retention limits, every copy of it."""

        def q() -> dict[str, int]:
            cutoff = _ts(before)
            counts: dict[str, int] = {}
            with self._tx() as db:
                stale = "SELECT id FROM incidents WHERE last_seen < ?"
                for table in ("occurrences", "timers", "alerts", "officer_actions", "claims"):
                    counts[table] = db.execute(
                        f"DELETE FROM {table} WHERE incident_id IN ({stale})", (cutoff,)
                    ).rowcount
                counts["flagged_messages"] = db.execute(
                    "DELETE FROM flagged_messages WHERE received_at < ?"
                    f" OR incident_id IN ({stale})",
                    (cutoff, cutoff),
                ).rowcount
                counts["incidents"] = db.execute(
                    "DELETE FROM incidents WHERE last_seen < ?", (cutoff,)
                ).rowcount
                db.execute("INSERT INTO purge_guard VALUES (1)")
                counts["audit_log"] = db.execute(
                    "DELETE FROM audit_log WHERE at < ?", (_ts(audit_before),)
                ).rowcount
                db.execute("DELETE FROM purge_guard")
            return counts

        return await self._run(q)

    async def get_meta(self, key: str) -> str | None:
        row = await self._run(
            lambda: self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        )
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._run(
            lambda: self.db.execute(
                "INSERT INTO meta(key, value) VALUES (?,?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )
        )


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
