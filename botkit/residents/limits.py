"""Residents writing too fast are slowed down politely: one notice, then silence for a while.

The window is kept in the store (by a keyed hash of the chat), so every worker of a fleet
counts the same messages and a restart forgets nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from botkit.storage.base import Transaction


@dataclass(frozen=True, slots=True)
class Limit:
    messages: int
    window: timedelta


async def admit(tx: Transaction, key: str, now: datetime, limit: Limit) -> str:
    """ "ok", "notice" (over the limit: say so once) or "quiet" (over, already told)."""
    raw = await tx.drafts.get(key, now - limit.window)
    state = json.loads(raw) if raw else None
    if state is None or datetime.fromisoformat(state["since"]) < now - limit.window:
        state = {"since": now.isoformat(), "count": 0, "told": False}
    state["count"] += 1
    verdict = "ok"
    if state["count"] > limit.messages:
        verdict = "quiet" if state["told"] else "notice"
        state["told"] = True
    # Stored under the window's start time, so the draft expires with its window.
    await tx.drafts.put(key, json.dumps(state).encode(), datetime.fromisoformat(state["since"]))
    return verdict
