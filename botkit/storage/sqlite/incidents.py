"""Flagged messages, incidents, occurrences, officers' actions and known claims."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botkit.domain import Incident, IncidentState
from botkit.domain.incident import OPEN_STATES
from botkit.sandbox import SANDBOX
from botkit.storage.records import FlaggedRecord, IncidentDetail, NewIncident, Occurrence
from botkit.storage.sqlite.connection import Db, Runner, dt, ts

_COLUMNS = (
    "i.id, i.content_key, i.category, i.jurisdiction, i.unit, i.state, i.opened_at, i.last_seen,"
    " i.occurrences, (SELECT COUNT(DISTINCT platform || ':' || chat_id) FROM occurrences o"
    " WHERE o.incident_id = i.id), i.excerpt, i.score, i.claim_id"
)
_DETAIL = (
    f"{_COLUMNS}, i.copy_units, i.chain, i.step, i.fence, i.exhausted, i.claim_text,"
    " i.version, i.reminders"
)


def _incident(row: tuple[Any, ...]) -> Incident:
    return Incident(
        id=row[0],
        content_key=row[1],
        category=row[2],
        jurisdiction=row[3],
        unit=row[4],
        state=IncidentState(row[5]),
        opened_at=dt(row[6]),
        last_seen=dt(row[7]),
        occurrences=row[8],
        groups=max(row[9], 1),
        excerpt=row[10],
        score=row[11],
        claim_id=row[12],
    )


def _detail(row: tuple[Any, ...]) -> IncidentDetail:
    return IncidentDetail(
        incident=_incident(row[:13]),
        copy_units=tuple(json.loads(row[13])),
        chain=json.loads(row[14]),
        step=row[15],
        fence=row[16],
        exhausted=bool(row[17]),
        claim_text=row[18],
        version=row[19],
        reminders=row[20],
    )


def get_incident(db: Db, incident_id: int) -> Incident:
    row = db.execute(f"SELECT {_COLUMNS} FROM incidents i WHERE i.id=?", (incident_id,)).fetchone()
    return _incident(row)


def _record_flagged(db: Db, r: FlaggedRecord) -> tuple[int, bool]:
    row = db.execute("SELECT id FROM flagged_messages WHERE message_key=?", (r.message_key,))
    found = row.fetchone()
    if found:
        return found[0], False
    cur = db.execute(
        "INSERT INTO flagged_messages(message_key, platform, chat_id, message_id, sender_hash,"
        " text_hash, excerpt, category, score, model_version, evidence, received_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
            ts(r.received_at),
        ),
    )
    return int(cur.lastrowid or 0), True


def _find_open(db: Db, content_key: str, since: datetime) -> Incident | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM incidents i WHERE i.content_key=? AND i.state != 'resolved'"
        " AND i.last_seen >= ? ORDER BY i.id DESC LIMIT 1",
        (content_key, ts(since)),
    ).fetchone()
    return _incident(row) if row else None


def _open(db: Db, n: NewIncident) -> Incident:
    cur = db.execute(
        "INSERT INTO incidents(content_key, category, jurisdiction, unit, copy_units, state,"
        " opened_at, last_seen, occurrences, excerpt, score, claim_id, chain, claim_text)"
        " VALUES (?,?,?,?,?,?,?,?,0,?,?,?,?,?)",
        (
            n.content_key,
            n.category,
            n.jurisdiction,
            n.unit,
            json.dumps(n.copy_units),
            IncidentState.OPENED.value,
            ts(n.opened_at),
            ts(n.opened_at),
            n.excerpt,
            n.score,
            n.claim_id,
            json.dumps(n.chain, ensure_ascii=False),
            n.claim_text,
        ),
    )
    return get_incident(db, int(cur.lastrowid or 0))


def _add_occurrence(
    db: Db,
    incident_id: int,
    flagged_id: int,
    platform: str,
    chat_id: str,
    message_id: str,
    seen_at: datetime,
) -> tuple[Incident, bool]:
    cur = db.execute(
        "INSERT OR IGNORE INTO occurrences(incident_id, flagged_message_id, platform, chat_id,"
        " message_id, seen_at) VALUES (?,?,?,?,?,?)",
        (incident_id, flagged_id, platform, chat_id, message_id, ts(seen_at)),
    )
    added = cur.rowcount == 1
    if added:
        # A new version: delivered alerts are edited to show it.
        db.execute(
            "UPDATE incidents SET occurrences = occurrences + 1, version = version + 1,"
            " last_seen = MAX(last_seen, ?) WHERE id=?",
            (ts(seen_at), incident_id),
        )
        db.execute(
            "UPDATE flagged_messages SET incident_id=? WHERE id=?", (incident_id, flagged_id)
        )
    return get_incident(db, incident_id), added


def _get(db: Db, incident_id: int) -> IncidentDetail | None:
    row = db.execute(f"SELECT {_DETAIL} FROM incidents i WHERE i.id=?", (incident_id,)).fetchone()
    return _detail(row) if row else None


def _query(db: Db, units: list[str] | None, states: list[IncidentState] | None) -> list[Incident]:
    sql = f"SELECT {_COLUMNS} FROM incidents i WHERE 1=1"
    args: list[Any] = []
    if units is not None:
        sql += f" AND i.unit IN ({','.join('?' * len(units))})"
        args += units
    if states is not None:
        sql += f" AND i.state IN ({','.join('?' * len(states))})"
        args += [s.value for s in states]
    return [_incident(r) for r in db.execute(sql + " ORDER BY i.id", args)]


def _occurrences(db: Db, incident_id: int) -> list[Occurrence]:
    rows = db.execute(
        "SELECT platform, chat_id, message_id, seen_at, corrected FROM occurrences"
        " WHERE incident_id=? ORDER BY seen_at",
        (incident_id,),
    ).fetchall()
    return [Occurrence(r[0], r[1], r[2], dt(r[3]), bool(r[4])) for r in rows]


def _evidence(db: Db, incident_id: int, limit: int) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    rows = db.execute(
        "SELECT evidence FROM flagged_messages WHERE incident_id=? ORDER BY id LIMIT 50",
        (incident_id,),
    )
    for (raw,) in rows:
        for kind, value in json.loads(raw):
            found.setdefault((kind, value), None)
    return list(found)[:limit]


def _mark_corrected(db: Db, incident_id: int, platform: str, chat_id: str) -> bool:
    done = db.execute(
        "SELECT 1 FROM occurrences WHERE incident_id=? AND platform=? AND chat_id=?"
        " AND corrected=1",
        (incident_id, platform, chat_id),
    ).fetchone()
    if done:
        return False
    cur = db.execute(
        "UPDATE occurrences SET corrected=1 WHERE incident_id=? AND platform=? AND chat_id=?",
        (incident_id, platform, chat_id),
    )
    return cur.rowcount > 0


def _transition(
    db: Db,
    incident_id: int,
    from_state: IncidentState,
    to_state: IncidentState,
    officer_id: str,
    action: str,
    at: datetime,
) -> bool:
    cur = db.execute(
        "UPDATE incidents SET state=?, fence = fence + 1, version = version + 1"
        " WHERE id=? AND state=?",
        (to_state.value, incident_id, from_state.value),
    )
    if cur.rowcount != 1:
        return False
    db.execute(
        "INSERT INTO officer_actions(incident_id, officer_id, action, from_state, to_state, at)"
        " VALUES (?,?,?,?,?,?)",
        (incident_id, officer_id, action, from_state.value, to_state.value, ts(at)),
    )
    db.execute(
        "UPDATE timers SET status='cancelled' WHERE incident_id=? AND status='pending'",
        (incident_id,),
    )
    return True


def _last_actor(db: Db, incident_id: int) -> str | None:
    row = db.execute(
        "SELECT officer_id FROM officer_actions WHERE incident_id=? ORDER BY id DESC LIMIT 1",
        (incident_id,),
    ).fetchone()
    return row[0] if row else None


def _advance_step(db: Db, incident_id: int, step: int, exhausted: bool) -> int:
    db.execute(
        "UPDATE incidents SET step=?, exhausted=?, fence = fence + 1 WHERE id=?",
        (step, int(exhausted), incident_id),
    )
    return int(db.execute("SELECT fence FROM incidents WHERE id=?", (incident_id,)).fetchone()[0])


def _count_reminder(db: Db, incident_id: int) -> tuple[int, int]:
    db.execute(
        "UPDATE incidents SET reminders = reminders + 1, fence = fence + 1 WHERE id=?",
        (incident_id,),
    )
    row = db.execute("SELECT reminders, fence FROM incidents WHERE id=?", (incident_id,))
    reminders, fence = row.fetchone()
    return int(reminders), int(fence)


def _needing_recovery(db: Db) -> list[IncidentDetail]:
    open_states = ",".join(f"'{s.value}'" for s in OPEN_STATES)
    rows = db.execute(
        f"SELECT {_DETAIL} FROM incidents i WHERE i.state IN ({open_states})"
        " AND NOT (i.state = 'opened' AND i.exhausted = 1)"
        " AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.incident_id = i.id"
        " AND t.status = 'pending') ORDER BY i.id"
    ).fetchall()
    return [_detail(r) for r in rows]


def _add_claim(db: Db, claim_id: str, incident_id: int, text: str, at: datetime) -> None:
    db.execute(
        "INSERT OR IGNORE INTO claims(claim_id, incident_id, text, created_at) VALUES (?,?,?,?)",
        (claim_id, incident_id, text, ts(at)),
    )


def _claims(db: Db, after: int) -> list[tuple[int, str, str]]:
    rows = db.execute(
        "SELECT rowid, claim_id, text FROM claims WHERE rowid > ? ORDER BY rowid", (after,)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def _claim_incident(db: Db, claim_id: str) -> int | None:
    row = db.execute("SELECT incident_id FROM claims WHERE claim_id=?", (claim_id,)).fetchone()
    return row[0] if row else None


def _labelled_verdicts(db: Db) -> list[tuple[str, str, str]]:
    # A reviewer looked at the message itself: their label wins over the incident's verdict
    # (an incident judged as a whole may hold a message that is not like the others).
    rows = db.execute(
        "SELECT f.id, f.message_key, f.excerpt, CASE a.to_state WHEN 'confirmed'"
        " THEN f.category ELSE 'normal' END FROM flagged_messages f"
        " JOIN officer_actions a ON a.incident_id = f.incident_id"
        " WHERE a.to_state IN ('confirmed', 'false_positive') AND f.platform != ?"
        " AND NOT EXISTS (SELECT 1 FROM review_labels r WHERE r.flagged_message_id = f.id)"
        " UNION ALL SELECT f.id, f.message_key, f.excerpt, r.label FROM flagged_messages f"
        " JOIN review_labels r ON r.flagged_message_id = f.id WHERE f.platform != ?"
        " ORDER BY 1, 4",
        (SANDBOX, SANDBOX),
    ).fetchall()
    return [(r[1], r[2], r[3]) for r in rows]


class SqliteIncidents:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def record_flagged(self, record: FlaggedRecord) -> tuple[int, bool]:
        return await self._r.write(_record_flagged, record)

    async def find_open(self, content_key: str, since: datetime) -> Incident | None:
        return await self._r.read(_find_open, content_key, since)

    async def open(self, new: NewIncident) -> Incident:
        return await self._r.write(_open, new)

    async def add_occurrence(
        self,
        incident_id: int,
        flagged_id: int,
        platform: str,
        chat_id: str,
        message_id: str,
        seen_at: datetime,
    ) -> tuple[Incident, bool]:
        return await self._r.write(
            _add_occurrence, incident_id, flagged_id, platform, chat_id, message_id, seen_at
        )

    async def get(self, incident_id: int) -> IncidentDetail | None:
        return await self._r.read(_get, incident_id)

    async def query(
        self, units: list[str] | None = None, states: list[IncidentState] | None = None
    ) -> list[Incident]:
        return await self._r.read(_query, units, states)

    async def occurrences(self, incident_id: int) -> list[Occurrence]:
        return await self._r.read(_occurrences, incident_id)

    async def evidence(self, incident_id: int, limit: int = 8) -> list[tuple[str, str]]:
        """Distinct evidence of the incident's messages, oldest first: what officers act on."""
        return await self._r.read(_evidence, incident_id, limit)

    async def mark_corrected(self, incident_id: int, platform: str, chat_id: str) -> bool:
        """Claim the one correction a group gets per incident; False when already done."""
        return await self._r.write(_mark_corrected, incident_id, platform, chat_id)

    async def transition(
        self,
        incident_id: int,
        from_state: IncidentState,
        to_state: IncidentState,
        officer_id: str,
        action: str,
        at: datetime,
    ) -> bool:
        return await self._r.write(
            _transition, incident_id, from_state, to_state, officer_id, action, at
        )

    async def last_actor(self, incident_id: int) -> str | None:
        return await self._r.read(_last_actor, incident_id)

    async def advance_step(self, incident_id: int, step: int, exhausted: bool) -> int:
        return await self._r.write(_advance_step, incident_id, step, exhausted)

    async def count_reminder(self, incident_id: int) -> tuple[int, int]:
        return await self._r.write(_count_reminder, incident_id)

    async def needing_recovery(self) -> list[IncidentDetail]:
        return await self._r.read(_needing_recovery)

    async def add_claim(self, claim_id: str, incident_id: int, text: str, at: datetime) -> None:
        await self._r.write(_add_claim, claim_id, incident_id, text, at)

    async def claims(self, after: int = 0) -> list[tuple[int, str, str]]:
        return await self._r.read(_claims, after)

    async def claim_incident(self, claim_id: str) -> int | None:
        return await self._r.read(_claim_incident, claim_id)

    async def labelled_verdicts(self) -> list[tuple[str, str, str]]:
        """(message key, excerpt, label): reviewers' labels, else officers' verdicts."""
        return await self._r.read(_labelled_verdicts)
