"""What is counted for reports, and on which day: one place for the names.

Counts are written in the transaction of the effect they count (a flag, an incident, a
tip), so a retried or redelivered event is counted once. Days are local dates: a commander
reading "March" means March in Vietnam.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from botkit.storage.base import Transaction

MESSAGES = "messages"  # group messages read
FLAG = "flag:"  # + category: messages flagged
INCIDENTS = "incidents"  # incidents opened
HOAXES_CONFIRMED = "hoaxes_confirmed"
TIPS = "tips"  # residents' tips (a case each)
ANSWERED = "questions_answered"  # answered from the knowledge file
HANDED_OVER = "questions_handed_over"  # sent to an officer
BULLETIN_SENT = "bulletins_delivered"  # groups a bulletin reached
BULLETIN_FAILED = "bulletins_failed"
ACK_SECONDS = "ack_seconds"  # sample: from an incident's opening to its first action


def day_of(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).date().isoformat()


class Counter:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    async def add(
        self, tx: Transaction, at: datetime, jurisdiction: int, name: str, value: int = 1
    ) -> None:
        await tx.stats.add(day_of(at, self.tz), jurisdiction, name, value)

    async def observe(
        self, tx: Transaction, at: datetime, jurisdiction: int, name: str, value: float
    ) -> None:
        await tx.stats.observe(day_of(at, self.tz), jurisdiction, name, value)
