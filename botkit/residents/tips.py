"""A resident's tip becomes a case they can follow and an incident officers act on.

The incident is opened like a flag of the tip's category in the commune the tip names, so
it reaches the officer on duty there and climbs the same escalation chain. It carries no
trace of who sent it: its message is the case (`case:17`), never the resident's chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from botkit.domain import Flag, Incident, Message, Verdict
from botkit.escalation import EscalationEngine
from botkit.privacy import Pseudonymizer, redact
from botkit.reports import counting
from botkit.residents.cases import CaseKeys
from botkit.storage.base import Transaction
from botkit.storage.records import FlaggedRecord, NewCase

TIP_MODEL = "resident-tip"  # the verdict's "model": the resident, not a classifier


@dataclass(frozen=True, slots=True)
class Tip:
    platform: str
    chat_id: str  # the resident's private chat, sealed into the case unless anonymous
    text: str  # what the officer reads: what, where, when (redacted before storing)
    category: str
    jurisdiction: int
    anonymous: bool
    score: float = 1.0
    model_version: str = TIP_MODEL
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class OpenedTip:
    case_id: int
    code: str
    incident: Incident | None


async def open_tip(
    tx: Transaction,
    tip: Tip,
    now: datetime,
    *,
    engine: EscalationEngine,
    keys: CaseKeys,
    pseudonymizer: Pseudonymizer,
) -> OpenedTip:
    secret, code_hash = keys.new_secret()
    units = engine.router.units_for(tip.category, tip.jurisdiction)
    excerpt = redact(tip.text, 500)
    case_id = await tx.cases.open(
        NewCase(
            kind="tip",
            platform=tip.platform,
            contact=None if tip.anonymous else keys.seal_contact(tip.chat_id),
            code_hash=code_hash,
            jurisdiction=tip.jurisdiction,
            unit=units[0] if units else "",
            excerpt=excerpt,
            opened_at=now,
            details={"category": tip.category, "anonymous": tip.anonymous, **dict(tip.details)},
        )
    )
    ref = f"case:{case_id}"
    message = Message(tip.platform, ref, ref, tip.text, now, private=True)
    verdict = Verdict(((tip.category, tip.score),), tip.category, tip.model_version)
    flag = Flag(
        message=message,
        verdict=verdict,
        category=tip.category,
        score=tip.score,
        jurisdiction=tip.jurisdiction,
        policy="alert",
        content_key=ref,  # a tip is its own incident: never folded into another
        canonical_excerpt=excerpt,
    )
    record = FlaggedRecord(
        message_key=pseudonymizer.hash("message", ref),
        platform=tip.platform,
        chat_id=ref,
        message_id=ref,
        sender_hash=None,
        text_hash=pseudonymizer.hash("content", ref),
        excerpt=excerpt,
        category=tip.category,
        score=tip.score,
        model_version=tip.model_version,
        evidence=(),
        received_at=now,
    )
    incident = await engine.handle_flag(tx, flag, record)
    if incident is not None:
        await tx.cases.link(case_id, incident.id)
    await engine.counter.add(tx, now, tip.jurisdiction, counting.TIPS)
    return OpenedTip(case_id, keys.code(case_id, secret), incident)
