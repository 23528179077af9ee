"""Residents' cases: tips and handed-over questions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botkit.storage.records import CaseRow, NewCase
from botkit.storage.sqlite.connection import Db, Runner, dt, ts

_COLUMNS = (
    "id, kind, platform, contact, code_hash, jurisdiction, unit, excerpt, state,"
    " opened_at, updated_at, details, incident_id"
)


def _row(r: Any) -> CaseRow:
    return CaseRow(
        id=int(r[0]),
        kind=str(r[1]),
        platform=str(r[2]),
        contact=bytes(r[3]) if r[3] is not None else None,
        code_hash=str(r[4]),
        jurisdiction=int(r[5]),
        unit=str(r[6]),
        excerpt=str(r[7]),
        state=str(r[8]),
        opened_at=dt(str(r[9])),
        updated_at=dt(str(r[10])),
        details=json.loads(str(r[11])),
        incident_id=int(r[12]) if r[12] is not None else None,
    )


def _open(db: Db, new: NewCase) -> int:
    cur = db.execute(
        "INSERT INTO cases(kind, platform, contact, code_hash, jurisdiction, unit, excerpt,"
        " details, incident_id, opened_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            new.kind,
            new.platform,
            new.contact,
            new.code_hash,
            new.jurisdiction,
            new.unit,
            new.excerpt,
            json.dumps(new.details, ensure_ascii=False),
            new.incident_id,
            ts(new.opened_at),
            ts(new.opened_at),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _get(db: Db, case_id: int) -> CaseRow | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM cases WHERE id=?", (case_id,)).fetchone()
    return _row(row) if row else None


def _set_state(db: Db, case_id: int, state: str, at: datetime) -> bool:
    cur = db.execute("UPDATE cases SET state=?, updated_at=? WHERE id=?", (state, ts(at), case_id))
    return cur.rowcount > 0


def _link(db: Db, case_id: int, incident_id: int) -> None:
    db.execute("UPDATE cases SET incident_id=? WHERE id=?", (incident_id, case_id))


def _between(db: Db, start: datetime, end: datetime) -> list[CaseRow]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM cases WHERE opened_at >= ? AND opened_at < ? ORDER BY id",
        (ts(start), ts(end)),
    ).fetchall()
    return [_row(r) for r in rows]


class SqliteCases:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def open(self, new: NewCase) -> int:
        return await self._r.write(_open, new)

    async def get(self, case_id: int) -> CaseRow | None:
        return await self._r.read(_get, case_id)

    async def set_state(self, case_id: int, state: str, at: datetime) -> bool:
        return await self._r.write(_set_state, case_id, state, at)

    async def link(self, case_id: int, incident_id: int) -> None:
        await self._r.write(_link, case_id, incident_id)

    async def opened_between(self, start: datetime, end: datetime) -> list[CaseRow]:
        return await self._r.read(_between, start, end)
