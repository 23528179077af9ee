"""The append-only audit log (triggers refuse edits; only the retention purge deletes)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botkit.storage.sqlite.connection import Db, Runner, ts


def _record(
    db: Db, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
) -> None:
    db.execute(
        "INSERT INTO audit_log(at, actor, action, subject, details) VALUES (?,?,?,?,?)",
        (ts(at), actor, action, subject, json.dumps(details, ensure_ascii=False)),
    )


def _log(db: Db, limit: int) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT id, at, actor, action, subject, details FROM audit_log ORDER BY id LIMIT ?",
        (limit,),
    ).fetchall()
    keys = ("id", "at", "actor", "action", "subject")
    return [dict(zip(keys, r[:5], strict=True)) | {"details": json.loads(r[5])} for r in rows]


class SqliteAudit:
    def __init__(self, runner: Runner) -> None:
        self._r = runner

    async def record(
        self, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
    ) -> None:
        await self._r.write(_record, at, actor, action, subject, details)

    async def log(self, limit: int = 1000) -> list[dict[str, Any]]:
        return await self._r.read(_log, limit)
