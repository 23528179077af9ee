"""Officers' commands: acknowledge, confirm, reject, resolve; list incidents; who is on call.

Each command runs inside the transaction that also queues its reply and marks its event
done, so a command delivered twice acts once and is answered once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from botkit.domain import (
    AlertEventKind,
    Incident,
    IncidentState,
    InvalidTransition,
    OfficerCommand,
    next_state,
)
from botkit.domain.commands import COMMANDS, HELP_COMMANDS
from botkit.domain.incident import ACTIONS, OPEN_STATES
from botkit.domain.verdict import IMAGE_EVIDENCE
from botkit.escalation.chain import Chain
from botkit.escalation.engine import REMINDED_STATES, EscalationEngine
from botkit.escalation.roster import on_duty
from botkit.images.known import image_claim_id
from botkit.reports import counting
from botkit.storage.base import Transaction
from botkit.storage.records import IncidentDetail

log = logging.getLogger(__name__)

_ACTION_EVENT = {
    IncidentState.ACKNOWLEDGED: AlertEventKind.ACKNOWLEDGED,
    IncidentState.CONFIRMED: AlertEventKind.CONFIRMED,
    IncidentState.FALSE_POSITIVE: AlertEventKind.FALSE_POSITIVE,
    IncidentState.RESOLVED: AlertEventKind.RESOLVED,
}

Verb = Callable[[Transaction, OfficerCommand, str, datetime], Awaitable[str]]


class OfficerDesk:
    def __init__(self, engine: EscalationEngine, more_verbs: dict[str, Verb] | None = None) -> None:
        """`more_verbs`: commands other parts of the core answer for officers (`answer`)."""
        self.engine = engine
        self.config = engine.config
        self.texts = engine.texts
        self.verbs: dict[str, Verb] = {
            "incidents": self._incidents,
            "oncall": self._oncall,
            **dict.fromkeys(ACTIONS, self._act),
            **(more_verbs or {}),
        }

    def officer_for(self, platform: str, sender_id: str) -> str | None:
        for officer in self.config.officers:
            if officer.contacts.get(platform) == sender_id:
                return officer.id
        return None

    async def handle(self, tx: Transaction, cmd: OfficerCommand) -> str | None:
        """Act on the command; returns the reply for the sender's private chat, or None
        when nothing is to be said (a resident trying a command in a group: answering
        there would only show the group how the police's bot works)."""
        now = self.engine.clock.now()
        officer_id = self.officer_for(cmd.platform, cmd.sender_id)
        if cmd.command in HELP_COMMANDS:
            return self._help(officer_id) if officer_id or cmd.in_private else None
        if officer_id is None:
            await tx.audit.record(
                now,
                f"{cmd.platform}:unregistered",
                f"refused.{cmd.command}",
                f"incident:{cmd.argument}",
                {"reason": "not an officer", "private": cmd.in_private},
            )
            return self.texts.get("reply.not_officer") if cmd.in_private else None
        verb = self.verbs.get(cmd.command)
        if verb is None:
            return self.texts.get("reply.unknown_command")
        return await verb(tx, cmd, officer_id, now)

    async def act_as(
        self, tx: Transaction, officer_id: str, command: str, argument: str | None
    ) -> str:
        """A command from somewhere that already knows the officer (the web console, after
        its login): the same checks and effects as typed in a chat."""
        now = self.engine.clock.now()
        verb = self.verbs.get(command)
        if verb is None:
            return self.texts.get("reply.unknown_command")
        cmd = OfficerCommand("web", officer_id, command, argument, now, chat_id=None)
        return await verb(tx, cmd, officer_id, now)

    def _help(self, officer_id: str | None) -> str:
        """The commands this person may use (a resident may use none of them yet)."""
        t = self.texts
        if officer_id is None:
            return t.get("help.resident")
        lines = [t.get("help.officer", name=self._name(officer_id))]
        lines += [t.get(f"help.{command}") for command in COMMANDS]
        return "\n".join(lines)

    def _unit_of(self, officer_id: str) -> str:
        officer = self.config.officer(officer_id)
        assert officer is not None  # officer_for found them in this config
        return officer.unit

    def _name(self, officer_id: str) -> str:
        officer = self.config.officer(officer_id)
        return officer.name if officer else officer_id

    async def _oncall(
        self, tx: Transaction, cmd: OfficerCommand, officer_id: str, now: datetime
    ) -> str:
        unit = self.config.unit(self._unit_of(officer_id))
        names = [self._name(o) for o in on_duty(unit, now, self.engine.tz)]
        return self.texts.get("reply.oncall", officers=", ".join(names) or "—")

    async def _incidents(
        self, tx: Transaction, cmd: OfficerCommand, officer_id: str, now: datetime
    ) -> str:
        unit = self._unit_of(officer_id)
        router = self.engine.router
        units = [u.id for u in self.config.units if unit in router.ancestors(u.id)]
        rows = await tx.incidents.query(units, sorted(OPEN_STATES))
        if not rows:
            return self.texts.get("reply.no_incidents")
        lines = [self.texts.get("reply.incidents")]
        for i in rows:
            lines.append(
                f"#{i.id} {i.category} · {self.texts.get(f'state.{i.state.value}')}"
                f" · {i.groups} nhóm · {i.excerpt[:60]}"
            )
        return "\n".join(lines)

    async def _act(
        self, tx: Transaction, cmd: OfficerCommand, officer_id: str, now: datetime
    ) -> str:
        t = self.texts
        argument = (cmd.argument or "").strip().lstrip("#")
        if not argument.isdigit():
            return t.get("reply.missing_id", command=cmd.command)
        incident_id = int(argument)
        detail = await tx.incidents.get(incident_id)
        if detail is None:
            return t.get("reply.unknown_incident", incident_id=incident_id)
        incident = detail.incident
        chain = Chain.from_json(detail.chain)
        if not await self._may_act(tx, officer_id, incident_id, chain):
            await tx.audit.record(
                now,
                officer_id,
                f"refused.{cmd.command}",
                f"incident:{incident_id}",
                {"reason": "not the routed unit"},
            )
            return t.get("reply.not_your_unit", incident_id=incident_id, unit=chain.unit_name)
        try:
            to_state = next_state(incident.state, cmd.command)
        except InvalidTransition:
            return self._refusal(incident_id, incident.state, cmd.command)
        if not await tx.incidents.transition(
            incident_id, incident.state, to_state, officer_id, cmd.command, now
        ):
            fresh = await tx.incidents.get(incident_id)  # someone else acted first
            return self._refusal(
                incident_id, fresh.incident.state if fresh else incident.state, cmd.command
            )
        await tx.audit.record(
            now,
            officer_id,
            f"officer.{cmd.command}",
            f"incident:{incident_id}",
            {"from": incident.state.value, "to": to_state.value},
        )
        fresh = await tx.incidents.get(incident_id)
        assert fresh is not None
        await self._count(tx, incident, to_state, now)
        self.engine.emit(tx, _ACTION_EVENT[to_state], fresh.incident, officer_id)
        if to_state in REMINDED_STATES:
            await self.engine.schedule_reminder(tx, fresh)
        if to_state is IncidentState.CONFIRMED:
            await self._on_confirmed(tx, fresh, now)
        # Delivered alerts are edited by the sender: the state change bumped the version.
        return t.get(
            "reply.done",
            incident_id=incident_id,
            state=t.get(f"state.{to_state.value}"),
            officer=self._name(officer_id),
        )

    async def _count(
        self, tx: Transaction, incident: Incident, to_state: IncidentState, now: datetime
    ) -> None:
        """For reports: how long the first action took, and hoaxes confirmed."""
        counter, where = self.engine.counter, incident.jurisdiction
        if incident.state is IncidentState.OPENED:
            seconds = max((now - incident.opened_at).total_seconds(), 0.0)
            await counter.observe(tx, now, where, counting.ACK_SECONDS, seconds)
        if to_state is IncidentState.CONFIRMED and self.config.is_hoax(incident.category):
            await counter.add(tx, now, where, counting.HOAXES_CONFIRMED)

    async def _may_act(
        self, tx: Transaction, officer_id: str, incident_id: int, chain: Chain
    ) -> bool:
        """Officers of the routed unit or a superior, and anyone the chain paged (a unit
        renamed by a reload still has its officers)."""
        if self._unit_of(officer_id) in chain.answers_to(self.config):
            return True
        pages = await tx.outbox.alerts(incident_id)
        return any(p.officer_id == officer_id and p.kind != "copy" for p in pages)

    def _refusal(self, incident_id: int, state: IncidentState, action: str) -> str:
        return self.texts.get(
            "reply.invalid_transition",
            incident_id=incident_id,
            state=self.texts.get(f"state.{state.value}"),
            action=action,
        )

    async def _on_confirmed(self, tx: Transaction, detail: IncidentDetail, now: datetime) -> None:
        incident: Incident = detail.incident
        claims = self.engine.claims
        text = detail.claim_text
        if self.config.is_hoax(incident.category) and text and claims is not None:
            if claims.accepts_claim(text):
                claim_id = incident.claim_id or f"claim-{incident.id}"
                await tx.incidents.add_claim(claim_id, incident.id, text, now)
                tx.after_commit(lambda: claims.add_claim(claim_id, text))
            else:
                log.info("incident %s not kept as a known claim: too short", incident.id)
        if self.config.is_hoax(incident.category) and claims is not None:
            # The hoax's pictures too: a re-shared copy is known by its fingerprint, whatever
            # text OCR reads from it this time.
            for kind, print_ in await tx.incidents.evidence(incident.id, limit=64):
                if kind == IMAGE_EVIDENCE:
                    picture = image_claim_id(print_)
                    await tx.incidents.add_claim(picture, incident.id, print_, now)
                    tx.after_commit(functools.partial(claims.add_claim, picture, print_))
        policy = self.config.categories[incident.category].policy
        await self.engine.correct_groups(tx, incident, policy)
