"""The escalation engine: open or join incidents, page, act on officers' commands, run timers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from botkit.clock import Clock
from botkit.config import Config
from botkit.dispatch import Dispatcher
from botkit.domain import (
    AlertEvent,
    AlertEventKind,
    Flag,
    Incident,
    IncidentState,
    InvalidTransition,
    OfficerCommand,
    next_state,
)
from botkit.escalation.chain import Chain, snapshot
from botkit.escalation.notifier import Notifier
from botkit.escalation.roster import on_duty
from botkit.escalation.routing import Router
from botkit.outbound import DeleteMessage, SendText
from botkit.privacy import shorten
from botkit.storage.base import FlaggedRecord, NewIncident, Store
from botkit.texts import Texts

log = logging.getLogger(__name__)

EventSink = Callable[[AlertEvent], None]
_NEVER = datetime.max.replace(tzinfo=UTC)
_ACTION_EVENT = {
    IncidentState.ACKNOWLEDGED: AlertEventKind.ACKNOWLEDGED,
    IncidentState.CONFIRMED: AlertEventKind.CONFIRMED,
    IncidentState.FALSE_POSITIVE: AlertEventKind.FALSE_POSITIVE,
    IncidentState.RESOLVED: AlertEventKind.RESOLVED,
}


class ClaimSink(Protocol):
    def add_claim(self, claim_id: str, text: str) -> None: ...


class EscalationEngine:
    def __init__(
        self,
        config: Config,
        store: Store,
        notifier: Notifier,
        dispatcher: Dispatcher,
        clock: Clock,
        texts: Texts,
        on_event: EventSink | None = None,
        claims: ClaimSink | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.notifier = notifier
        self.dispatcher = dispatcher
        self.clock = clock
        self.texts = texts
        self.router = Router(config)
        self.tz = ZoneInfo(config.bot.timezone)
        self.on_event = on_event or (lambda _event: None)
        self.claims = claims
        self._next_due: datetime | None = None  # None: unknown, ask the store

    # -- flags --------------------------------------------------------------------------------
    async def handle_flag(self, flag: Flag, record: FlaggedRecord) -> Incident | None:
        """Record the flag and open a new incident or join the open one with the same content."""
        flagged_id, created = await self.store.record_flagged(record)
        if not created:
            return None  # redelivered message: its effects are already durable
        now = self.clock.now()
        msg = flag.message
        window = timedelta(hours=self.config.grouping.window_hours)
        incident = await self._claimed_incident(flag, now - window)
        if incident is None:
            incident = await self.store.find_open_incident(flag.content_key, now - window)
        if incident is not None:
            incident, added = await self.store.add_occurrence(
                incident.id, flagged_id, msg.platform, msg.chat_id, msg.message_id, now
            )
            if added:
                self._emit(AlertEventKind.UPDATED, incident, None, msg.message_id, msg.chat_id)
                self.notifier.mark_updated(incident)
                if incident.state is IncidentState.CONFIRMED:
                    await self._correct_groups(incident, flag.policy)
            return incident

        units = self._units(flag)
        if not units:
            log.error(
                "no unit handles %s in %s: flag kept unrouted", flag.category, flag.jurisdiction
            )
            return None
        unit, copies = units[0], units[1:]
        chain = snapshot(self.config, unit)
        incident = await self.store.open_incident(
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
                claim_text=flag.canonical_excerpt if flag.category == "fake_news" else None,
            )
        )
        incident, _ = await self.store.add_occurrence(
            incident.id, flagged_id, msg.platform, msg.chat_id, msg.message_id, now
        )
        await self.store.audit(
            now,
            "botkit",
            "incident.opened",
            f"incident:{incident.id}",
            {"category": flag.category, "unit": unit, "score": flag.score},
        )
        await self._run_step(incident, chain, 0, msg.message_id, msg.chat_id)
        for copy_unit in copies:
            officers = self._on_duty(copy_unit)
            await self.notifier.page(incident, officers, "copy", 0)
        return incident

    async def _claimed_incident(self, flag: Flag, since: datetime) -> Incident | None:
        """A message matching a confirmed hoax joins that hoax's incident while it is open."""
        if flag.verdict.claim_id is None:
            return None
        incident_id = await self.store.claim_incident(flag.verdict.claim_id)
        detail = await self.store.incident(incident_id) if incident_id is not None else None
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

    def _on_duty(self, unit_id: str) -> list[str]:
        return on_duty(self.config.unit(unit_id), self.clock.now(), self.tz)

    def _targets(self, chain: Chain, target: str) -> list[str]:
        kind, _, ref = target.partition(":")
        unit = self.config.unit(chain.unit)
        if kind == "on_duty":
            return self._on_duty(chain.unit)
        if kind == "leader":
            return [unit.leader] if unit.leader else self._on_duty(chain.unit)
        if kind == "unit":
            return self._on_duty(ref)
        return [ref]

    async def _run_step(
        self,
        incident: Incident,
        chain: Chain,
        index: int,
        message_id: str | None = None,
        chat_id: str | None = None,
    ) -> None:
        step = chain.step(index)
        if step is None:
            await self.store.advance_step(incident.id, index, exhausted=True)
            await self.store.audit(
                self.clock.now(),
                "botkit",
                "escalation.exhausted",
                f"incident:{incident.id}",
                {"steps": index},
            )
            return
        officers = self._targets(chain, step.notify)
        kind = "alert" if index == 0 else "escalated"
        await self.notifier.page(incident, officers, kind, index)
        # The next step is scheduled only after this one is committed, fenced by a new token.
        fence = await self.store.advance_step(incident.id, index, exhausted=False)
        due = self.clock.now() + timedelta(minutes=step.wait_minutes)
        await self._schedule(incident.id, "escalate", due, fence)
        event = AlertEventKind.OPENED if index == 0 else AlertEventKind.ESCALATED
        targets: list[str | None] = [*officers] or [None]
        for officer in targets:
            self._emit(event, incident, officer, message_id, chat_id, step=index)

    # -- timers -------------------------------------------------------------------------------
    async def _schedule(self, incident_id: int, kind: str, due: datetime, fence: int) -> None:
        await self.store.schedule(incident_id, kind, due, fence)
        if self._next_due is not None and due < self._next_due:
            self._next_due = due

    async def run_due(self, force: bool = False) -> int:
        """Run every step that is due now; each at most once (fenced).

        Without `force`, a remembered next due time skips the store when nothing is due;
        the runtime's periodic tick forces a look, for timers other workers scheduled.
        """
        now = self.clock.now()
        if not force and self._next_due is not None and self._next_due > now:
            return 0
        ran = 0
        for timer in await self.store.due_timers(now):
            if not await self.store.claim_timer(timer.id):
                continue
            detail = await self.store.incident(timer.incident_id)
            if detail is None:
                continue
            incident, chain = detail.incident, Chain.from_json(detail.chain)
            if timer.kind == "escalate" and incident.state is IncidentState.OPENED:
                await self._run_step(incident, chain, detail.step + 1)
                ran += 1
            elif timer.kind == "remind" and incident.state in (
                IncidentState.ACKNOWLEDGED,
                IncidentState.CONFIRMED,
                IncidentState.FALSE_POSITIVE,
            ):
                await self._remind(incident, chain, detail.step)
                ran += 1
        upcoming = await self.store.next_due()
        self._next_due = upcoming if upcoming is not None else _NEVER
        return ran

    async def _remind(self, incident: Incident, chain: Chain, count: int) -> None:
        officers = [a.officer_id for a in await self.store.alerts(incident.id) if a.kind != "copy"]
        acting = await self.store.last_actor(incident.id)
        targets = [acting] if acting else sorted(set(officers))
        await self.notifier.page(incident, targets, "reminded", count)
        for officer in targets:
            self._emit(AlertEventKind.REMINDED, incident, officer, step=count)
        fence = await self.store.advance_step(incident.id, count + 1, exhausted=False)
        if count + 1 < chain.max_reminders:
            due = self.clock.now() + timedelta(hours=chain.reminder_hours)
            await self._schedule(incident.id, "remind", due, fence)

    # -- officer commands ---------------------------------------------------------------------
    def officer_for(self, platform: str, sender_id: str) -> str | None:
        for officer in self.config.officers:
            if officer.contacts.get(platform) == sender_id:
                return officer.id
        return None

    async def handle_command(self, cmd: OfficerCommand) -> str:
        t = self.texts
        now = self.clock.now()
        officer_id = self.officer_for(cmd.platform, cmd.sender_id)
        if officer_id is None:
            await self.store.audit(
                now,
                f"{cmd.platform}:unregistered",
                f"refused.{cmd.command}",
                f"incident:{cmd.argument}",
                {"reason": "not an officer"},
            )
            return t.get("reply.not_officer")
        if cmd.command == "incidents":
            return await self._list_incidents(officer_id)
        if cmd.command == "oncall":
            unit = self.config.officer(officer_id).unit  # type: ignore[union-attr]
            names = [self._name(o) for o in self._on_duty(unit)]
            return t.get("reply.oncall", officers=", ".join(names) or "—")
        if cmd.command not in ("ack", "confirm", "false", "resolve"):
            return t.get("reply.unknown_command")
        if not cmd.argument or not cmd.argument.strip().lstrip("#").isdigit():
            return t.get("reply.missing_id", command=cmd.command)
        incident_id = int(cmd.argument.strip().lstrip("#"))
        detail = await self.store.incident(incident_id)
        if detail is None:
            return t.get("reply.unknown_incident", incident_id=incident_id)
        incident = detail.incident
        officer_unit = self.config.officer(officer_id).unit  # type: ignore[union-attr]
        if officer_unit not in self.router.ancestors(incident.unit):
            await self.store.audit(
                now,
                officer_id,
                f"refused.{cmd.command}",
                f"incident:{incident_id}",
                {"reason": "not the routed unit"},
            )
            return t.get(
                "reply.not_your_unit",
                incident_id=incident_id,
                unit=self.config.unit(incident.unit).name,
            )
        try:
            to_state = next_state(incident.state, cmd.command)
        except InvalidTransition:
            return t.get(
                "reply.invalid_transition",
                incident_id=incident_id,
                state=t.get(f"state.{incident.state.value}"),
                action=cmd.command,
            )
        if not await self.store.transition(
            incident_id, incident.state, to_state, officer_id, cmd.command, now
        ):
            # Someone else acted first; report the state that won.
            fresh = await self.store.incident(incident_id)
            state = fresh.incident.state if fresh else incident.state
            return t.get(
                "reply.invalid_transition",
                incident_id=incident_id,
                state=t.get(f"state.{state.value}"),
                action=cmd.command,
            )
        await self.store.audit(
            now,
            officer_id,
            f"officer.{cmd.command}",
            f"incident:{incident_id}",
            {"from": incident.state.value, "to": to_state.value},
        )
        fresh_detail = await self.store.incident(incident_id)
        assert fresh_detail is not None
        incident = fresh_detail.incident
        self._emit(_ACTION_EVENT[to_state], incident, officer_id)
        if to_state in (
            IncidentState.ACKNOWLEDGED,
            IncidentState.CONFIRMED,
            IncidentState.FALSE_POSITIVE,
        ):
            chain = Chain.from_json(fresh_detail.chain)
            due = now + timedelta(hours=chain.reminder_hours)
            await self._schedule(incident_id, "remind", due, fresh_detail.fence)
        if to_state is IncidentState.CONFIRMED:
            await self._on_confirmed(incident, fresh_detail.claim_text)
        await self.notifier.refresh(incident)
        return t.get(
            "reply.done",
            incident_id=incident_id,
            state=t.get(f"state.{to_state.value}"),
            officer=self._name(officer_id),
        )

    def _name(self, officer_id: str) -> str:
        officer = self.config.officer(officer_id)
        return officer.name if officer else officer_id

    async def _list_incidents(self, officer_id: str) -> str:
        unit = self.config.officer(officer_id).unit  # type: ignore[union-attr]
        units = [u.id for u in self.config.units if unit in self.router.ancestors(u.id)]
        open_states = [
            IncidentState.OPENED,
            IncidentState.ACKNOWLEDGED,
            IncidentState.CONFIRMED,
            IncidentState.FALSE_POSITIVE,
        ]
        rows = await self.store.incidents(units, open_states)
        if not rows:
            return self.texts.get("reply.no_incidents")
        lines = [self.texts.get("reply.incidents")]
        for i in rows:
            lines.append(
                f"#{i.id} {i.category} · {self.texts.get(f'state.{i.state.value}')}"
                f" · {i.groups} nhóm · {i.excerpt[:60]}"
            )
        return "\n".join(lines)

    async def _on_confirmed(self, incident: Incident, claim_text: str | None) -> None:
        if incident.category == "fake_news" and claim_text and self.claims is not None:
            claim_id = incident.claim_id or f"claim-{incident.id}"
            try:
                self.claims.add_claim(claim_id, claim_text)
            except ValueError as exc:  # too short to match reliably: no known claim
                log.info("incident %s not kept as a known claim: %s", incident.id, exc)
            else:
                await self.store.add_claim(claim_id, incident.id, claim_text, self.clock.now())
        policy = self.config.categories[incident.category].policy
        await self._correct_groups(incident, policy)

    async def _correct_groups(self, incident: Incident, policy: str) -> None:
        """One correction per group per incident, by policy; deletion where allowed."""
        if incident.category != "fake_news" or policy not in ("alert+reply", "alert+delete"):
            return
        for occ in await self.store.occurrences(incident.id):
            if not self.dispatcher.has(occ.platform):
                continue
            if policy == "alert+delete" and self.dispatcher.can_delete(occ.platform):
                try:
                    await self.dispatcher.send(
                        occ.platform, DeleteMessage(occ.chat_id, occ.message_id)
                    )
                except Exception as exc:
                    log.warning("incident %s: delete failed: %s", incident.id, exc)
            if occ.corrected or not await self.store.mark_corrected(
                incident.id, occ.platform, occ.chat_id
            ):
                continue
            text = self.texts.get("reply.correction", excerpt=shorten(incident.excerpt, 120))
            try:
                await self.dispatcher.send(
                    occ.platform, SendText(occ.chat_id, text, reply_to=occ.message_id)
                )
            except Exception as exc:
                log.warning("incident %s: correction in a group failed: %s", incident.id, exc)
            self._emit(AlertEventKind.CORRECTED, incident, None, occ.message_id, occ.chat_id)

    def _emit(
        self,
        kind: AlertEventKind,
        incident: Incident,
        officer: str | None,
        message_id: str | None = None,
        chat_id: str | None = None,
        step: int | None = None,
    ) -> None:
        self.on_event(
            AlertEvent(
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
        )
