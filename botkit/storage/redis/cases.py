"""Residents' cases: tips and handed-over questions.

- `cases` hash: case id → JSON row (the sealed contact in base64)
- `seq:cases` counter; `cases:opened` and `cases:updated` sorted sets of ids by time
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from botkit.storage.records import CaseRow, NewCase
from botkit.storage.redis.connection import Runner, Unit, dt, score, ts

CASES = "cases"


def _case(row: dict[str, Any]) -> CaseRow:
    contact = row.get("contact")
    return CaseRow(
        id=int(row["id"]),
        kind=row["kind"],
        platform=row["platform"],
        contact=base64.b64decode(contact) if contact is not None else None,
        code_hash=row["code_hash"],
        jurisdiction=int(row["jurisdiction"]),
        unit=row["unit"],
        excerpt=row["excerpt"],
        state=row["state"],
        opened_at=dt(row["opened_at"]),
        updated_at=dt(row["updated_at"]),
        details=row.get("details") or {},
        incident_id=row.get("incident_id"),
    )


async def _open(u: Unit, new: NewCase) -> int:
    case_id = await u.incr(u.key("seq", CASES))
    contact = base64.b64encode(new.contact).decode() if new.contact is not None else None
    u.put(
        CASES,
        case_id,
        {
            "id": case_id,
            "kind": new.kind,
            "platform": new.platform,
            "contact": contact,
            "code_hash": new.code_hash,
            "jurisdiction": new.jurisdiction,
            "unit": new.unit,
            "excerpt": new.excerpt,
            "state": "open",
            "opened_at": ts(new.opened_at),
            "updated_at": ts(new.opened_at),
            "details": new.details,
            "incident_id": new.incident_id,
        },
    )
    u.zadd(u.key(CASES, "opened"), str(case_id), score(new.opened_at))
    u.zadd(u.key(CASES, "updated"), str(case_id), score(new.opened_at))
    return case_id


async def _get(u: Unit, case_id: int) -> CaseRow | None:
    row = await u.row(CASES, case_id)
    return _case(row) if row is not None else None


async def _set_state(u: Unit, case_id: int, state: str, at: datetime) -> bool:
    row = await u.row(CASES, case_id)
    if row is None:
        return False
    u.put(CASES, case_id, row | {"state": state, "updated_at": ts(at)})
    u.zadd(u.key(CASES, "updated"), str(case_id), score(at))
    return True


async def _link(u: Unit, case_id: int, incident_id: int) -> None:
    row = await u.row(CASES, case_id)
    if row is not None:
        u.put(CASES, case_id, row | {"incident_id": incident_id})


async def _between(u: Unit, start: datetime, end: datetime) -> list[CaseRow]:
    ids = [m for m, _ in await u.zrange(u.key(CASES, "opened"), score(start), score(end) - 1e-6)]
    return sorted((_case(r) for r in await u.rows(CASES, ids)), key=lambda c: c.id)


async def purge(u: Unit, before: datetime) -> int:
    old = [m for m, _ in await u.zrange(u.key(CASES, "updated"), high=score(before) - 1e-6)]
    for case_id in old:
        u.drop(CASES, case_id)
        u.zrem(u.key(CASES, "opened"), case_id)
        u.zrem(u.key(CASES, "updated"), case_id)
    return len(old)


class RedisCases:
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
