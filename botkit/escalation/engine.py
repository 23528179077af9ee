"""The escalation engine: open or join incidents, run the chain's steps on durable timers.

Every effect happens inside the caller's transaction: recording a flag, opening or joining
its incident, queuing its pages and scheduling its next step commit together, and a timer's
step consumes the timer in the same commit that queues the step's pages and schedules the
next one (exactly once in effect; nothing is "claimed" before it is done). Sending is not
done here: pages wait in the outbox for the sender.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from botkit.clock import Clock
from botkit.codec import encode_action
from botkit.config import Config
from botkit.contacts import Contacts, Running
from botkit.domain import AlertEvent, AlertEventKind, Flag, Incident, IncidentState
from botkit.escalation.chain import Chain, snapshot
from botkit.escalation.paging import Pager
from botkit.escalation.roster import on_duty
from botkit.escalation.routing import Router
from botkit.outbound import DeleteMessage, SendText
from botkit.privacy import shorten
from botkit.reports import counting
from botkit.reports.counting import Counter
from botkit.sandbox import SANDBOX
from botkit.storage.base import Store, Transaction
from botkit.storage.records import FlaggedRecord, IncidentDetail, NewIncident, NewMessage
from botkit.texts import Texts

log = logging.getLogger(__name__)

EventSink = Callable[[AlertEvent], None]
REMINDED_STATES = frozenset(
    {IncidentState.ACKNOWLEDGED, IncidentState.CONFIRMED, IncidentState.FALSE_POSITIVE}
)


class ClaimSink(Protocol):
    def accepts_claim(self, text: str) -> bool: ...
    def add_claim(self, claim_id: str, text: str) -> None: ...


class Capabilities(Running, Protocol):
    def can_delete(self, adapter_name: str) -> bool: ...


class EscalationEngine:
    def __init__(
        self,
        config: Config,
        store: Store,
        running: Capabilities,
        clock: Clock,
        texts: Texts,
        on_event: EventSink | None = None,
        claims: ClaimSink | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.running = running
        self.clock = clock
        self.texts = texts
        self.router = Router(config)
        self.pager = Pager(Contacts(config, running))
        self.tz = ZoneInfo(config.bot.timezone)
        self.counter = Counter(self.tz)
        self.on_event = on_event or (lambda _event: None)
        self.claims = claims

    # -- flags --------------------------------------------------------------------------------
    async def handle_flag(
        self, tx: Transaction, flag: Flag, record: FlaggedRecord
    ) -> Incident | None:
        """Record the flag; join the open incident with the same content or open one."""
        flagged_id, created = await tx.incidents.record_flagged(record)
        if not created:
            return None  # a redelivered message: its effects are already committed
        now = self.clock.now()
        msg = flag.message
        since = now - timedelta(hours=self.config.grouping.window_hours)
        incident = await self._claimed_incident(tx, flag, since)
        if incident is None:
            incident = await tx.incidents.find_open(flag.content_key, since)
        if incident is not None:
            incident, added = await tx.incidents.add_occurrence(
                incident.id, flagged_id, msg.platform, msg.chat_id, msg.message_id, now
            )
            if added:
                self.emit(tx, AlertEventKind.UPDATED, incident, None, msg.message_id, msg.chat_id)
                if incident.state is IncidentState.CONFIRMED:
                    await self.correct_groups(tx, incident, flag.policy)
            return incident

        units = self._units(flag)
        if not units:
            log.error(
                "no unit handles %s in %s: flag kept unrouted", flag.category, flag.jurisdiction
            )
            await tx.audit.record(
                now,
                "botkit",
                "flag.unrouted",
                f"flag:{flagged_id}",
                {"category": flag.category, "jurisdiction": flag.jurisdiction},
            )
            return None
        unit, copies = units[0], units[1:]
        chain = snapshot(self.config, unit)
        incident = await tx.incidents.open(
            NewIncident(
                content_key=flag.content_key,
                category=flag.category,
                jurisdiction=flag.jurisdiction,
                unit=unit,
                copy_units=tuple(copies),
                opened_at=now,
                excerpt=record.excerpt,
                score=flag.score,
                claim_id=flag.verdict.claim_id,
                chain=chain.to_json(),
                claim_text=flag.canonical_excerpt if self.config.is_hoax(flag.category) else None,
            )
        )
        incident, _ = await tx.incidents.add_occurrence(
            incident.id, flagged_id, msg.platform, msg.chat_id, msg.message_id, now
        )
        if msg.platform != SANDBOX:  # a demo in the console's sandbox is not the commune's
            await self.counter.add(tx, now, flag.jurisdiction, counting.INCIDENTS)
        await tx.audit.record(
            now,
            "botkit",
            "incident.opened",
            f"incident:{incident.id}",
            {"category": flag.category, "unit": unit, "score": flag.score},
        )
        await self._run_step(tx, incident, chain, 0, msg.message_id, msg.chat_id)
        for copy_unit in copies:
            officers = on_duty(self.config.unit(copy_unit), now, self.tz)
            await self.pager.page(tx, incident, officers, "copy", 0, now)
        return incident

    async def _claimed_incident(
        self, tx: Transaction, flag: Flag, since: datetime
    ) -> Incident | None:
        """A message matching a confirmed hoax joins that hoax's incident while it is open."""
        if flag.verdict.claim_id is None:
            return None
        incident_id = await tx.incidents.claim_incident(flag.verdict.claim_id)
        detail = await tx.incidents.get(incident_id) if incident_id is not None else None
        if detail is None or detail.incident.state is IncidentState.RESOLVED:
            return None
        return detail.incident if detail.incident.last_seen >= since else None

    def _units(self, flag: Flag) -> list[str]:
        units = self.router.units_for(flag.category, flag.jurisdiction)
        # A message naming another commune goes there; the group's own commune gets a copy.
        for place in flag.places:
            if place != flag.jurisdiction:
                there = self.router.units_for(flag.category, place)
                return [*there, *(u for u in units if u not in there)]
        return units

    async def _run_step(
        self,
        tx: Transaction,
        incident: Incident,
        chain: Chain,
        index: int,
        message_id: str | None = None,
        chat_id: str | None = None,
    ) -> None:
        now = self.clock.now()
        step = chain.step(index)
        if step is None:
            await tx.incidents.advance_step(incident.id, index, exhausted=True)
            await tx.audit.record(
                now, "botkit", "escalation.exhausted", f"incident:{incident.id}", {"steps": index}
            )
            return
        officers = chain.targets(step.notify, now, self.tz, self.config)
        kind = "alert" if index == 0 else "escalated"
        queued = await self.pager.page(tx, incident, officers, kind, index, now)
        fence = await tx.incidents.advance_step(incident.id, index, exhausted=False)
        # Nobody reachable at this step: do not wait out its delay, move on now.
        due = now + timedelta(minutes=step.wait_minutes) if queued else now
        await tx.timers.schedule(incident.id, "escalate", due, fence)
        if not queued:
            log.error(
                "incident %s: step %d (%s) reaches nobody; moving on",
                incident.id,
                index,
                step.notify,
            )
        event = AlertEventKind.OPENED if index == 0 else AlertEventKind.ESCALATED
        for officer in [*officers] or [None]:  # type: ignore[list-item]
            self.emit(tx, event, incident, officer, message_id, chat_id, step=index)

    # -- timers -------------------------------------------------------------------------------
    async def run_due(self) -> int:
        """Run every step that is due now, each in its own transaction, exactly once."""
        ran = 0
        for timer in await self.store.timers.due(self.clock.now()):
            ran += await self.store.run_transaction(functools.partial(self._take, timer.id))
        return ran

    async def _take(self, timer_id: int, tx: Transaction) -> int:
        taken = await tx.timers.take(timer_id)
        if taken is None:
            return 0  # stale (the incident moved on) or another worker ran it
        detail = await tx.incidents.get(taken.incident_id)
        return await self._fire(tx, taken.kind, detail) if detail is not None else 0

    async def _fire(self, tx: Transaction, kind: str, detail: IncidentDetail) -> int:
        incident, chain = detail.incident, Chain.from_json(detail.chain)
        if kind == "escalate" and incident.state is IncidentState.OPENED:
            await self._run_step(tx, incident, chain, detail.step + 1)
            return 1
        if kind == "remind" and incident.state in REMINDED_STATES:
            await self._remind(tx, incident, chain)
            return 1
        return 0

    async def _remind(self, tx: Transaction, incident: Incident, chain: Chain) -> None:
        now = self.clock.now()
        paged = [a.officer_id for a in await tx.outbox.alerts(incident.id) if a.kind != "copy"]
        acting = await tx.incidents.last_actor(incident.id)
        targets = [acting] if acting else sorted(set(paged))
        count, fence = await tx.incidents.count_reminder(incident.id)
        await self.pager.page(tx, incident, targets, "reminded", count, now)
        for officer in targets:
            self.emit(tx, AlertEventKind.REMINDED, incident, officer, step=count)
        if count < chain.max_reminders:
            due = now + timedelta(hours=chain.reminder_hours)
            await tx.timers.schedule(incident.id, "remind", due, fence)

    async def schedule_reminder(self, tx: Transaction, detail: IncidentDetail) -> None:
        chain = Chain.from_json(detail.chain)
        if detail.reminders < chain.max_reminders:
            due = self.clock.now() + timedelta(hours=chain.reminder_hours)
            await tx.timers.schedule(detail.incident.id, "remind", due, detail.fence)

    async def recover(self) -> int:
        """Give every open incident whose chain lost its timer (a crash in an older version,
        a database restored from backup) its pending step back; re-page a step never paged."""
        repaired = 0
        for candidate in await self.store.incidents.needing_recovery():
            repaired += await self.store.run_transaction(
                functools.partial(self._recover_one, candidate.incident.id)
            )
        if repaired:
            log.warning("recovered %d incident(s) whose escalation had stopped", repaired)
        return repaired

    async def _recover_one(self, incident_id: int, tx: Transaction) -> int:
        detail = await tx.incidents.get(incident_id)
        if detail is None or await tx.timers.pending(incident_id):
            return 0
        return int(await self._repair(tx, detail))

    async def _repair(self, tx: Transaction, detail: IncidentDetail) -> bool:
        incident, chain, now = detail.incident, Chain.from_json(detail.chain), self.clock.now()
        if incident.state is IncidentState.OPENED:
            if detail.exhausted:
                return False
            if not await tx.outbox.step_pages(incident.id, detail.step):
                await self._run_step(tx, incident, chain, detail.step)
            else:
                # When the chain would have moved on, had nothing interrupted it.
                planned = incident.opened_at + timedelta(
                    minutes=chain.due_offset_minutes(detail.step)
                )
                await tx.timers.schedule(incident.id, "escalate", max(now, planned), detail.fence)
        elif incident.state in REMINDED_STATES and detail.reminders < chain.max_reminders:
            await self.schedule_reminder(tx, detail)
        else:
            return False
        await tx.audit.record(
            now,
            "botkit",
            "escalation.recovered",
            f"incident:{incident.id}",
            {"state": incident.state.value, "step": detail.step},
        )
        return True

    # -- corrections in groups ----------------------------------------------------------------
    async def correct_groups(self, tx: Transaction, incident: Incident, policy: str) -> None:
        """One correction per group per incident, by policy; deletion where allowed."""
        if not self.config.is_hoax(incident.category) or policy not in (
            "alert+reply",
            "alert+delete",
        ):
            return
        now = self.clock.now()
        for occ in await tx.incidents.occurrences(incident.id):
            if not self.running.has(occ.platform):
                continue
            if policy == "alert+delete" and self.running.can_delete(occ.platform):
                delete = DeleteMessage(occ.chat_id, occ.message_id)
                key = f"delete:{occ.platform}:{occ.chat_id}:{occ.message_id}"
                await tx.outbox.enqueue_message(
                    NewMessage(key, occ.platform, occ.chat_id, encode_action(delete), incident.id),
                    now,
                )
            if occ.corrected or not await tx.incidents.mark_corrected(
                incident.id, occ.platform, occ.chat_id
            ):
                continue
            text = self.texts.get("reply.correction", excerpt=shorten(incident.excerpt, 120))
            reply = SendText(occ.chat_id, text, reply_to=occ.message_id)
            key = f"correction:{incident.id}:{occ.platform}:{occ.chat_id}"
            await tx.outbox.enqueue_message(
                NewMessage(key, occ.platform, occ.chat_id, encode_action(reply), incident.id), now
            )
            self.emit(tx, AlertEventKind.CORRECTED, incident, None, occ.message_id, occ.chat_id)

    def emit(
        self,
        tx: Transaction,
        kind: AlertEventKind,
        incident: Incident,
        officer: str | None,
        message_id: str | None = None,
        chat_id: str | None = None,
        step: int | None = None,
    ) -> None:
        event = AlertEvent(
            event=kind,
            at=self.clock.now(),
            incident_id=incident.id,
            category=incident.category,
            score=incident.score,
            jurisdiction=incident.jurisdiction,
            unit=incident.unit,
            officer=officer,
            message_id=message_id,
            chat_id=chat_id,
            occurrences=incident.occurrences,
            groups=incident.groups,
            step=step,
        )
        # Told only once it is true: a rolled-back transaction announces nothing.
        tx.after_commit(lambda: self.on_event(event))
