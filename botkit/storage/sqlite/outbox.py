"""The outbox: pages (table `alerts`), other actions (table `outbox`) and edits in place.

Work is claimed one piece at a time per destination chat, with a lease (`lease_until`) and a
fencing token (`lease_token`, incremented by every claim). Only an expired lease can be
claimed again, and only the holder of the current token can settle the work: a sender that
stalled past its lease cannot overwrite what a newer attempt recorded.

Edits need no rows of their own: an alert is due for an edit when the incident's `version`
moved past the version the alert last showed (`rendered_version`). Many occurrences between
two edits become one edit, at most one per `edit_interval` unless the state changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from botkit.storage.records import (
    AlertRow,
    Cancelled,
    Destination,
    DigestWork,
    EditWork,
    Failed,
    Held,
    Lease,
    MessageWork,
    NewMessage,
    NewPage,
    Outcome,
    PageWork,
    Redirected,
    Retry,
    Sent,
    Work,
)
from botkit.storage.sqlite.connection import Db, Runner, dt, ts

WINDOW = timedelta(minutes=1)
_ALERT_COLUMNS = (
    "id, incident_id, officer_id, platform, contact, kind, step, status, delivery_ref, attempts,"
    " ambiguous, last_error"
)
# A row is free when nobody holds a lease on it (NULL sorts before any timestamp).
_PAGE_DUE = (
    "status IN ('pending', 'retry', 'held') AND COALESCE(next_at, '') <= :now"
    " AND COALESCE(lease_until, '') < :now"
)
_MESSAGE_DUE = (
    "status IN ('pending', 'retry') AND COALESCE(next_at, '') <= :now"
    " AND COALESCE(lease_until, '') < :now"
)
_EDIT_DUE = (
    "a.status = 'sent' AND a.delivery_ref IS NOT NULL AND a.via_digest = 0"
    " AND a.rendered_version < i.version"
    " AND (a.rendered_state IS NOT i.state OR COALESCE(a.rendered_at, '') <= :edit_before)"
    " AND COALESCE(a.edit_next_at, '') <= :now AND COALESCE(a.edit_lease_until, '') < :now"
)


def _alert(row: tuple[Any, ...]) -> AlertRow:
    return AlertRow(*row)


def _enqueue_page(db: Db, p: NewPage, at: datetime) -> int | None:
    cur = db.execute(
        "INSERT OR IGNORE INTO alerts(incident_id, officer_id, platform, contact, kind, step,"
        " created_at) VALUES (?,?,?,?,?,?,?)",
        (p.incident_id, p.officer_id, p.platform, p.contact, p.kind, p.step, ts(at)),
    )
    return int(cur.lastrowid or 0) if cur.rowcount == 1 else None


def _enqueue_unreachable(db: Db, p: NewPage, at: datetime, error: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO alerts(incident_id, officer_id, platform, contact, kind, step,"
        " created_at, status, last_error) VALUES (?,?,?,?,?,?,?,'failed',?)",
        (p.incident_id, p.officer_id, p.platform, p.contact, p.kind, p.step, ts(at), error),
    )


def _enqueue_message(db: Db, m: NewMessage, at: datetime) -> bool:
    cur = db.execute(
        "INSERT OR IGNORE INTO outbox(dedupe_key, platform, chat_id, action, incident_id,"
        " created_at, erase) VALUES (?,?,?,?,?,?,?)",
        (
            m.dedupe_key,
            m.platform,
            m.chat_id,
            json.dumps(m.action, ensure_ascii=False),
            m.incident_id,
            ts(at),
            int(m.erase),
        ),
    )
    return cur.rowcount == 1


def _due_destinations(
    db: Db, now: datetime, edit_before: datetime, limit: int
) -> list[Destination]:
    params = {"now": ts(now), "edit_before": ts(edit_before), "limit": limit}
    rows = db.execute(
        f"SELECT platform, contact FROM alerts WHERE {_PAGE_DUE}"
        f" UNION SELECT platform, chat_id FROM outbox WHERE {_MESSAGE_DUE}"
        " UNION SELECT a.platform, a.contact FROM alerts a JOIN incidents i"
        f" ON i.id = a.incident_id WHERE {_EDIT_DUE} LIMIT :limit",
        params,
    ).fetchall()
    return [Destination(r[0], r[1]) for r in rows]


def _take_lease(db: Db, table: str, row_id: int, owner: str, until: datetime) -> tuple[int, int]:
    """Lease the row; returns (fencing token, ambiguous sends so far).

    A row still marked in flight was claimed before and never settled: its holder died (or
    stalled past the lease) mid-send, so the platform may have it already. That counts as an
    ambiguous send, and the next try says so to the officer.
    """
    db.execute(
        f"UPDATE {table} SET ambiguous = ambiguous + inflight, inflight = 1, lease_owner=?,"
        " lease_until=?, lease_token = lease_token + 1 WHERE id=?",
        (owner, ts(until), row_id),
    )
    row = db.execute(f"SELECT lease_token, ambiguous FROM {table} WHERE id=?", (row_id,))
    token, ambiguous = row.fetchone()
    return int(token), int(ambiguous)


def _claim(
    db: Db, d: Destination, owner: str, now: datetime, until: datetime, edit_before: datetime
) -> Work | None:
    params = {"now": ts(now), "p": d.platform, "c": d.chat_id, "edit_before": ts(edit_before)}
    page = db.execute(
        "SELECT id, incident_id, officer_id, platform, contact, kind, step, status, attempts,"
        f" ambiguous FROM alerts WHERE platform = :p AND contact = :c AND {_PAGE_DUE}"
        " ORDER BY id LIMIT 1",
        params,
    ).fetchone()
    if page is not None:
        if page[7] == "held":
            return _claim_held(db, d, page[2], owner, now, until)
        return _page_work(db, page, owner, until)
    message = db.execute(
        "SELECT id, platform, chat_id, action, attempts, ambiguous FROM outbox"
        f" WHERE platform = :p AND chat_id = :c AND {_MESSAGE_DUE} ORDER BY id LIMIT 1",
        params,
    ).fetchone()
    if message is not None:
        token, ambiguous = _take_lease(db, "outbox", message[0], owner, until)
        return MessageWork(
            Lease("outbox", message[0], token),
            message[1],
            message[2],
            json.loads(message[3]),
            message[4],
            ambiguous,
        )
    edit = db.execute(
        "SELECT a.id, a.incident_id, a.officer_id, a.platform, a.contact, a.kind, a.step,"
        " a.delivery_ref FROM alerts a JOIN incidents i ON i.id = a.incident_id"
        f" WHERE a.platform = :p AND a.contact = :c AND {_EDIT_DUE} ORDER BY a.id LIMIT 1",
        params,
    ).fetchone()
    if edit is None:
        return None
    db.execute(
        "UPDATE alerts SET edit_lease_until=?, edit_token = edit_token + 1 WHERE id=?",
        (ts(until), edit[0]),
    )
    token = int(db.execute("SELECT edit_token FROM alerts WHERE id=?", (edit[0],)).fetchone()[0])
    return EditWork(Lease("alerts", edit[0], token), *edit[1:])


def _page_work(db: Db, row: tuple[Any, ...], owner: str, until: datetime) -> PageWork:
    token, ambiguous = _take_lease(db, "alerts", row[0], owner, until)
    return PageWork(
        Lease("alerts", row[0], token),
        incident_id=row[1],
        officer_id=row[2],
        platform=row[3],
        contact=row[4],
        kind=row[5],
        step=row[6],
        status=row[7],
        attempts=row[8],
        ambiguous=ambiguous,
    )


def _claim_held(
    db: Db, d: Destination, officer_id: str, owner: str, now: datetime, until: datetime
) -> Work:
    """Every held page of the officer at this chat, together: they go out as one digest."""
    rows = db.execute(
        "SELECT id, incident_id, officer_id, platform, contact, kind, step, status, attempts,"
        f" ambiguous FROM alerts WHERE platform = :p AND contact = :c AND officer_id = :o"
        f" AND status = 'held' AND {_PAGE_DUE} ORDER BY id",
        {"now": ts(now), "p": d.platform, "c": d.chat_id, "o": officer_id},
    ).fetchall()
    pages = [_page_work(db, r, owner, until) for r in rows]
    return pages[0] if len(pages) == 1 else DigestWork(tuple(pages))


_PAGE_OUTCOME = {
    Sent: (
        "status='sent', delivery_ref=:ref, sent_at=:now, attempts = attempts + 1,"
        " rendered_version=:version, rendered_state=:state, rendered_at=:now"
    ),
    Retry: (
        "status='retry', next_at=:at, last_error=:error, attempts = attempts + 1,"
        " ambiguous = ambiguous + :ambiguous"
    ),
    Failed: "status='failed', last_error=:error, attempts = attempts + 1",
    Held: "status='held', next_at=:until",
    Cancelled: "status='cancelled', last_error=:reason",
    Redirected: (
        "status='pending', platform=:platform, contact=:contact, next_at=NULL,"
        " last_error=:error, attempts = attempts + 1"
    ),
}
# A final outcome erases a resident's message (`erase`): its row keeps the status only.
_ERASE = (
    ", chat_id = CASE WHEN erase = 1 THEN '-' ELSE chat_id END,"
    " action = CASE WHEN erase = 1 THEN '{\"erased\": true}' ELSE action END"
)
_MESSAGE_OUTCOME = {
    Sent: "status='sent', delivery_ref=:ref, sent_at=:now, attempts = attempts + 1" + _ERASE,
    Retry: (
        "status='retry', next_at=:at, last_error=:error, attempts = attempts + 1,"
        " ambiguous = ambiguous + :ambiguous"
    ),
    Failed: "status='failed', last_error=:error, attempts = attempts + 1" + _ERASE,
    Cancelled: "status='cancelled', last_error=:reason" + _ERASE,
}
_EDIT_OUTCOME = {
    Sent: "rendered_version=:version, rendered_state=:state, rendered_at=:now, edit_next_at=NULL",
    Retry: "edit_next_at=:at",
    # Given up on this version: the next change of the incident tries again (and no retry
    # time stays behind to make `next_due` report a moment long past).
    Failed: (
        "rendered_version=(SELECT version FROM incidents WHERE id = alerts.incident_id),"
        " edit_next_at=NULL"
    ),
    Cancelled: (
        "rendered_version=(SELECT version FROM incidents WHERE id = alerts.incident_id),"
        " edit_next_at=NULL"
    ),
}


def _params(outcome: Outcome, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"now": ts(now)}
    for name in outcome.__slots__:
        value = getattr(outcome, name)
        values[name] = ts(value) if isinstance(value, datetime) else value
    if isinstance(outcome, Retry):
        values["ambiguous"] = int(outcome.ambiguous)
    return values


def _settle(db: Db, work: Work, outcome: Outcome, now: datetime, digest: bool = False) -> bool:
    if isinstance(work, DigestWork):
        return all([_settle(db, page, outcome, now, digest=True) for page in work.pages])
    lease = work.lease
    params = _params(outcome, now) | {"id": lease.id, "token": lease.token}
    if isinstance(work, EditWork):
        sets = _EDIT_OUTCOME.get(type(outcome))
        where, clear = "edit_token = :token", "edit_lease_until = NULL"
    else:
        table = _PAGE_OUTCOME if isinstance(work, PageWork) else _MESSAGE_OUTCOME
        sets = table.get(type(outcome))
        where = "lease_token = :token"
        clear = "lease_owner = NULL, lease_until = NULL, inflight = 0"
    if sets is None:
        raise ValueError(f"{type(outcome).__name__} does not apply to {type(work).__name__}")
    if digest and isinstance(outcome, Sent):
        sets += ", via_digest = 1"
    cur = db.execute(f"UPDATE {lease.table} SET {sets}, {clear} WHERE id = :id AND {where}", params)
    return cur.rowcount == 1


def _reserve_send(db: Db, officer_id: str, now: datetime, per_minute: int) -> datetime | None:
    rows = db.execute(
        "SELECT at FROM send_log WHERE officer_id=? AND at > ? ORDER BY at",
        (officer_id, ts(now - WINDOW)),
    ).fetchall()
    if len(rows) >= per_minute:
        return dt(rows[len(rows) - per_minute][0]) + WINDOW
    db.execute("INSERT INTO send_log(officer_id, at) VALUES (?,?)", (officer_id, ts(now)))
    return None


def _next_due(db: Db) -> datetime | None:
    # Leased work is due again when its lease runs out.
    due = "MAX(COALESCE(next_at, created_at), COALESCE(lease_until, ''))"
    rows = db.execute(
        f"SELECT MIN({due}) FROM alerts WHERE status IN ('pending', 'retry', 'held')"
        f" UNION ALL SELECT MIN({due}) FROM outbox WHERE status IN ('pending', 'retry')"
        " UNION ALL SELECT MIN(MAX(edit_next_at, COALESCE(edit_lease_until, ''))) FROM alerts"
        " WHERE status = 'sent' AND edit_next_at IS NOT NULL"
    ).fetchall()
    found = [dt(r[0]) for r in rows if r[0]]
    return min(found) if found else None


def _release_held(db: Db, now: datetime) -> int:
    cur = db.execute("UPDATE alerts SET next_at=? WHERE status='held'", (ts(now),))
    return cur.rowcount


def _alerts(db: Db, incident_id: int | None, statuses: list[str] | None) -> list[AlertRow]:
    sql = f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE status != 'superseded'"
    args: list[Any] = []
    if incident_id is not None:
        sql += " AND incident_id=?"
        args.append(incident_id)
    if statuses is not None:
        sql += f" AND status IN ({','.join('?' * len(statuses))})"
        args += statuses
    return [_alert(r) for r in db.execute(sql + " ORDER BY id", args)]


def _step_pages(db: Db, incident_id: int, step: int) -> list[AlertRow]:
    rows = db.execute(
        f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE incident_id=? AND step=?"
        " AND kind IN ('alert', 'escalated') AND status != 'superseded' ORDER BY id",
        (incident_id, step),
    )
    return [_alert(r) for r in rows]


def _message_states(db: Db, keys: list[str]) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(keys), 500):  # SQLite's limit on parameters
        chunk = keys[start : start + 500]
        rows = db.execute(
            "SELECT dedupe_key, status, last_error FROM outbox"
            f" WHERE dedupe_key IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        found |= {r[0]: (r[1], r[2]) for r in rows}
    return found


def _messages(db: Db, statuses: list[str] | None) -> list[dict[str, Any]]:
    sql = (
        "SELECT id, dedupe_key, platform, chat_id, action, status, attempts, ambiguous,"
        " delivery_ref, last_error FROM outbox"
    )
    args: list[Any] = []
    if statuses is not None:
        sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
        args += statuses
    keys = (
        "id",
        "dedupe_key",
        "platform",
        "chat_id",
        "action",
        "status",
        "attempts",
        "ambiguous",
        "delivery_ref",
        "last_error",
    )
    out = []
    for row in db.execute(sql + " ORDER BY id", args):
        item = dict(zip(keys, row, strict=True))
        item["action"] = json.loads(item["action"])
        out.append(item)
    return out


class SqliteOutbox:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def enqueue_page(self, page: NewPage, at: datetime) -> int | None:
        return await self._r.write(_enqueue_page, page, at)

    async def enqueue_unreachable(self, page: NewPage, at: datetime, error: str) -> None:
        await self._r.write(_enqueue_unreachable, page, at, error)

    async def enqueue_message(self, message: NewMessage, at: datetime) -> bool:
        return await self._r.write(_enqueue_message, message, at)

    async def due_destinations(
        self, now: datetime, limit: int, edit_interval: timedelta = timedelta(0)
    ) -> list[Destination]:
        return await self._r.read(_due_destinations, now, now - edit_interval, limit)

    async def claim(
        self,
        destination: Destination,
        owner: str,
        now: datetime,
        lease: timedelta,
        edit_interval: timedelta,
    ) -> Work | None:
        return await self._r.write(
            _claim, destination, owner, now, now + lease, now - edit_interval
        )

    async def settle(self, work: Work, outcome: Outcome, now: datetime) -> bool:
        return await self._r.write(_settle, work, outcome, now)

    async def reserve_send(
        self, officer_id: str, now: datetime, per_minute: int
    ) -> datetime | None:
        return await self._r.write(_reserve_send, officer_id, now, per_minute)

    async def next_due(self) -> datetime | None:
        return await self._r.read(_next_due)

    async def release_held(self, now: datetime) -> int:
        return await self._r.write(_release_held, now)

    async def alerts(
        self, incident_id: int | None = None, statuses: list[str] | None = None
    ) -> list[AlertRow]:
        return await self._r.read(_alerts, incident_id, statuses)

    async def step_pages(self, incident_id: int, step: int) -> list[AlertRow]:
        return await self._r.read(_step_pages, incident_id, step)

    async def messages(self, statuses: list[str] | None = None) -> list[dict[str, Any]]:
        return await self._r.read(_messages, statuses)

    async def message_states(self, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        return await self._r.read(_message_states, list(keys))
