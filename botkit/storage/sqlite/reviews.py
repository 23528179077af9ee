"""Flagged messages as reviewers see them, and reviewers' labels (the console's review queue)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botkit.sandbox import SANDBOX
from botkit.storage.records import FlaggedItem
from botkit.storage.sqlite.connection import Db, Runner, dt, ts

_ITEM = (
    "SELECT f.id, f.message_key, f.platform, f.excerpt, f.category, f.score, f.model_version,"
    " f.evidence, f.received_at, f.incident_id, r.label, r.reviewer, r.labelled_at"
    " FROM flagged_messages f LEFT JOIN review_labels r ON r.flagged_message_id = f.id"
)


def _item(row: tuple[Any, ...]) -> FlaggedItem:
    return FlaggedItem(
        id=row[0],
        message_key=row[1],
        platform=row[2],
        excerpt=row[3],
        category=row[4],
        score=row[5],
        model_version=row[6],
        evidence=tuple((k, v) for k, v in json.loads(row[7])),
        received_at=dt(row[8]),
        incident_id=row[9],
        label=row[10],
        reviewer=row[11],
        labelled_at=dt(row[12]) if row[12] else None,
    )


def _listed(
    db: Db, labelled: bool, incidents: Sequence[int] | None, limit: int
) -> list[FlaggedItem]:
    which = "IS NOT NULL" if labelled else "IS NULL"
    sql = f"{_ITEM} WHERE f.platform != ? AND r.flagged_message_id {which}"
    args: list[Any] = [SANDBOX]
    if incidents is not None:
        # One parameter whatever the number of incidents (SQLite caps the parameters).
        sql += " AND f.incident_id IN (SELECT value FROM json_each(?))"
        args.append(json.dumps(list(incidents)))
    order = "r.labelled_at DESC, f.id DESC" if labelled else "f.id DESC"
    rows = db.execute(f"{sql} ORDER BY {order} LIMIT ?", (*args, limit)).fetchall()
    return [_item(r) for r in rows]


def _get(db: Db, flagged_id: int) -> FlaggedItem | None:
    row = db.execute(f"{_ITEM} WHERE f.id=?", (flagged_id,)).fetchone()
    return _item(row) if row else None


def _find(db: Db, message_key: str) -> FlaggedItem | None:
    row = db.execute(f"{_ITEM} WHERE f.message_key=?", (message_key,)).fetchone()
    return _item(row) if row else None


def _label(db: Db, flagged_id: int, label: str, reviewer: str, at: datetime) -> bool:
    if db.execute("SELECT 1 FROM flagged_messages WHERE id=?", (flagged_id,)).fetchone() is None:
        return False
    db.execute(
        "INSERT INTO review_labels(flagged_message_id, label, reviewer, labelled_at)"
        " VALUES (?,?,?,?) ON CONFLICT(flagged_message_id) DO UPDATE SET label=excluded.label,"
        " reviewer=excluded.reviewer, labelled_at=excluded.labelled_at",
        (flagged_id, label, reviewer, ts(at)),
    )
    return True


class SqliteReviews:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def pending(
        self, incidents: Sequence[int] | None = None, limit: int = 100
    ) -> list[FlaggedItem]:
        return await self._r.read(_listed, False, incidents, limit)

    async def labelled(
        self, incidents: Sequence[int] | None = None, limit: int = 50
    ) -> list[FlaggedItem]:
        return await self._r.read(_listed, True, incidents, limit)

    async def get(self, flagged_id: int) -> FlaggedItem | None:
        return await self._r.read(_get, flagged_id)

    async def find(self, message_key: str) -> FlaggedItem | None:
        return await self._r.read(_find, message_key)

    async def label(self, flagged_id: int, label: str, reviewer: str, at: datetime) -> bool:
        return await self._r.write(_label, flagged_id, label, reviewer, at)
