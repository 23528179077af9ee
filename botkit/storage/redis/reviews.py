"""Flagged messages as reviewers see them, and reviewers' labels (Redis).

Labels live beside the flagged messages they belong to (key names in `incidents`, whose
purge forgets a label with its message):

- `review_labels` hash, flagged id -> JSON {label, reviewer, at}
- `review_labels:at` sorted set, flagged ids by time labelled
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from botkit.sandbox import SANDBOX
from botkit.storage.records import FlaggedItem
from botkit.storage.redis.connection import Runner, Unit, dt, score, ts
from botkit.storage.redis.incidents import (
    FLAGGED,
    Row,
    by_key_key,
    flagged_of_key,
    labelled_at_key,
    labels_key,
    received_key,
)

# Rows are read a page at a time while a listing fills (sandbox rows are skipped).
_PAGE = 200


def _item(row: Row, label: Row | None) -> FlaggedItem:
    return FlaggedItem(
        id=int(row["id"]),
        message_key=row["message_key"],
        platform=row["platform"],
        excerpt=row["excerpt"],
        category=row["category"],
        score=float(row["score"]),
        model_version=row["model_version"],
        evidence=tuple((k, v) for k, v in row["evidence"]),
        received_at=dt(row["received_at"]),
        incident_id=int(row["incident_id"]) if row["incident_id"] is not None else None,
        label=label["label"] if label else None,
        reviewer=label["reviewer"] if label else None,
        labelled_at=dt(label["at"]) if label else None,
    )


async def _labels(u: Unit, ids: Iterable[str]) -> dict[str, Row]:
    wanted = list(ids)
    raw = await u.hmget(labels_key(u), wanted)
    return {i: json.loads(r) for i, r in zip(wanted, raw, strict=True) if r is not None}


async def _candidates(u: Unit, labelled: bool, incidents: Sequence[int] | None) -> list[str]:
    """Flagged ids in the listing's order, before sandbox rows are left out."""
    if labelled:
        by_time = await u.zrange(labelled_at_key(u))
        ordered = sorted(by_time, key=lambda mv: (mv[1], int(mv[0])), reverse=True)
        ids = [m for m, _ in ordered]
    else:
        ids = [m for m, _ in await u.zrange(received_key(u))]
        ids.sort(key=int, reverse=True)
    if incidents is not None:
        members: set[str] = set()
        for incident_id in set(incidents):
            members |= await u.smembers(flagged_of_key(u, incident_id))
        ids = [i for i in ids if i in members]
    return ids


async def _listed(
    u: Unit, labelled: bool, incidents: Sequence[int] | None, limit: int
) -> list[FlaggedItem]:
    ids = await _candidates(u, labelled, incidents)
    found: list[FlaggedItem] = []
    for start in range(0, len(ids), _PAGE):
        page = ids[start : start + _PAGE]
        labels = await _labels(u, page)
        if not labelled:
            page = [i for i in page if i not in labels]
        for row in await u.rows(FLAGGED, page):
            if row["platform"] != SANDBOX:
                found.append(_item(row, labels.get(str(row["id"]))))
        if len(found) >= limit:
            break
    return found[:limit]


async def _get(u: Unit, flagged_id: int) -> FlaggedItem | None:
    row = await u.row(FLAGGED, flagged_id)
    if row is None:
        return None
    return _item(row, (await _labels(u, [str(flagged_id)])).get(str(flagged_id)))


async def _find(u: Unit, message_key: str) -> FlaggedItem | None:
    found = await u.hget(by_key_key(u), message_key)
    return await _get(u, int(found)) if found is not None else None


async def _label(u: Unit, flagged_id: int, label: str, reviewer: str, at: datetime) -> bool:
    if await u.row(FLAGGED, flagged_id) is None:
        return False
    row = {"label": label, "reviewer": reviewer, "at": ts(at)}
    u.hset(labels_key(u), str(flagged_id), json.dumps(row, ensure_ascii=False))
    u.zadd(labelled_at_key(u), str(flagged_id), score(at))
    return True


class RedisReviews:
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
