"""What every backend's transaction shares: callbacks run once it has committed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)


class AfterCommit:
    def __init__(self) -> None:
        self._after: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after.append(callback)

    def committed(self) -> None:
        for callback in self._after:
            try:
                callback()
            except Exception:
                log.exception("an after-commit hook failed")


def hold(found: str | None, owner: str, now: datetime, until: datetime) -> tuple[str | None, str]:
    """A named hold's decision: (the other live holder, or None) and the value to store if
    `owner` takes or renews it."""
    if found is not None:
        holder = json.loads(found)
        if holder["owner"] != owner and datetime.fromisoformat(holder["until"]) > now:
            return str(holder["owner"]), found
    return None, json.dumps({"owner": owner, "until": until.isoformat()})


def held_by(found: str | None) -> str | None:
    return str(json.loads(found)["owner"]) if found is not None else None


__all__ = ["AfterCommit", "held_by", "hold"]
