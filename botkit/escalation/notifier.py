"""Delivers alerts to officers: an outbox in the store, edits in place, flood control."""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from botkit.adapter import Unsupported
from botkit.clock import Clock
from botkit.config import Config
from botkit.dispatch import Dispatcher
from botkit.domain import Incident
from botkit.domain.incident import allowed_actions
from botkit.outbound import Button, EditText, SendText
from botkit.places import PlaceBook
from botkit.storage.base import AlertRow, Store
from botkit.texts import Texts

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        config: Config,
        store: Store,
        dispatcher: Dispatcher,
        texts: Texts,
        places: PlaceBook,
        clock: Clock,
    ) -> None:
        self.config = config
        self.store = store
        self.dispatcher = dispatcher
        self.texts = texts
        self.places = places
        self.clock = clock
        self._sent_at: dict[str, deque[datetime]] = defaultdict(deque)
        self._held: dict[str, list[int]] = defaultdict(list)
        self._dirty: set[int] = set()
        self.tz = ZoneInfo(config.bot.timezone)  # officers read local time

    def contact(self, officer_id: str) -> tuple[str, str] | None:
        """The first contact of the officer on an adapter that is running."""
        officer = self.config.officer(officer_id)
        if officer is None:
            return None
        for adapter_name, chat in officer.contacts.items():
            if self.dispatcher.has(adapter_name):
                return adapter_name, chat
        return None

    def render(
        self,
        incident: Incident,
        kind: str = "alert",
        step: int = 0,
        evidence: list[tuple[str, str]] | None = None,
    ) -> str:
        t = self.texts
        lines = []
        if kind == "escalated":
            lines.append(t.get("alert.escalated", incident_id=incident.id, step=step))
        elif kind == "reminded":
            lines.append(t.get("alert.reminder", incident_id=incident.id))
        lines += [
            t.get(
                "alert.title",
                incident_id=incident.id,
                category_key=incident.category,
                category_name=t.category(incident.category),
                score=f"{incident.score:.2f}",
            ),
            t.get("alert.where", jurisdiction=self.places.name(incident.jurisdiction)),
            f"“{incident.excerpt}”",
            t.get(
                "alert.seen",
                groups=incident.groups,
                occurrences=incident.occurrences,
                last_seen=incident.last_seen.astimezone(self.tz).strftime("%d/%m %H:%M"),
            ),
            t.get("alert.state", state=t.get(f"state.{incident.state.value}")),
        ]
        if evidence:
            shown = "; ".join(f"{t.get(f'evidence.{k}')} {v}" for k, v in evidence)
            lines.append(t.get("alert.evidence", evidence=shown))
        if incident.claim_id:
            lines.append(t.get("alert.claim", claim_id=incident.claim_id))
        actions = allowed_actions(incident.state)
        if actions:
            commands = " · ".join(f"/{a} {incident.id}" for a in actions)
            lines.append(t.get("alert.commands", commands=commands))
        return "\n".join(lines)

    def buttons(self, incident: Incident) -> tuple[Button, ...]:
        """One button per action the incident's state allows now."""
        return tuple(
            Button(self.texts.get(f"button.{a}"), f"{a}:{incident.id}")
            for a in allowed_actions(incident.state)
        )

    async def page(
        self, incident: Incident, officers: list[str], kind: str, step: int
    ) -> list[str]:
        """Alert each officer; returns the officers actually reached or queued."""
        reached: list[str] = []
        now = self.clock.now()
        for officer_id in officers:
            contact = self.contact(officer_id)
            if contact is None:
                row = await self.store.create_alert(
                    incident.id, officer_id, "-", "-", kind, step, now
                )
                await self.store.mark_alert(row.id, "failed", now, error="no reachable contact")
                log.error(
                    "incident %s: officer %s has no contact on a running adapter; alert %s kept"
                    " as failed",
                    incident.id,
                    officer_id,
                    row.id,
                )
                continue
            adapter_name, chat = contact
            row = await self.store.create_alert(
                incident.id, officer_id, adapter_name, chat, kind, step, now
            )
            if self._over_limit(officer_id, now):
                self._held[officer_id].append(row.id)
                await self.store.mark_alert(row.id, "held", now)
                reached.append(officer_id)
                continue
            if await self._deliver(row, incident, kind, step):
                reached.append(officer_id)
        return reached

    def _over_limit(self, officer_id: str, now: datetime) -> bool:
        officer = self.config.officer(officer_id)
        limit = officer.rate_per_minute if officer else 6
        window = self._sent_at[officer_id]
        while window and now - window[0] >= timedelta(minutes=1):
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    async def _deliver(self, row: AlertRow, incident: Incident, kind: str, step: int) -> bool:
        now = self.clock.now()
        evidence = await self.store.incident_evidence(incident.id)
        text = self.render(incident, kind, step, evidence)
        action = SendText(row.contact, text, self.buttons(incident))
        try:
            ref = await self.dispatcher.send(row.platform, action)
        except Unsupported as exc:
            await self.store.mark_alert(row.id, "failed", now, error=str(exc))
            log.error("alert %s to %s not deliverable: %s", row.id, row.officer_id, exc)
            return False
        except Exception as exc:  # any platform failure: keep the alert for retry
            await self.store.mark_alert(row.id, "retry", now, error=f"{type(exc).__name__}: {exc}")
            log.warning("alert %s to %s failed, will retry: %s", row.id, row.officer_id, exc)
            return False
        await self.store.mark_alert(row.id, "sent", now, delivery_ref=ref)
        return True

    def mark_updated(self, incident: Incident) -> None:
        """Remember a new occurrence; `flush_updates` edits the alerts once for many."""
        self._dirty.add(incident.id)

    async def flush_updates(self) -> int:
        """Edit the alerts of every incident seen again since the last flush.

        A hoax forwarded into fifty groups in a minute is one edit per flush, not fifty,
        which also keeps within the platforms' per-chat rate limits.
        """
        dirty, self._dirty = self._dirty, set()
        for incident_id in sorted(dirty):
            detail = await self.store.incident(incident_id)  # the state as it is now
            if detail is not None:
                await self.refresh(detail.incident)
        return len(dirty)

    async def refresh(self, incident: Incident) -> None:
        """Edit every delivered alert of the incident in place."""
        evidence = await self.store.incident_evidence(incident.id)
        for row in await self.store.alerts(incident.id, ["sent"]):
            if row.delivery_ref is None:
                continue
            text = self.render(incident, row.kind, row.step, evidence)
            try:
                await self.dispatcher.send(
                    row.platform,
                    EditText(row.contact, row.delivery_ref, text, self.buttons(incident)),
                )
            except Exception as exc:  # an edit is cosmetic: the state is in the store
                log.warning("alert %s: edit in place failed: %s", row.id, exc)

    async def retry_failed(self) -> int:
        """Resend alerts whose delivery failed transiently; an alert is never dropped."""
        sent = 0
        for row in await self.store.alerts(statuses=["retry", "pending"]):
            detail = await self.store.incident(row.incident_id)
            if detail is None or not detail.incident.is_open:
                continue
            if await self._deliver(row, detail.incident, row.kind, row.step):
                sent += 1
        return sent

    async def flush_digests(self) -> int:
        """One digest per officer for alerts held back by the rate limit."""
        now = self.clock.now()
        flushed = 0
        for officer_id, alert_ids in list(self._held.items()):
            if not alert_ids or self._over_limit(officer_id, now):
                continue
            rows = [r for r in await self.store.alerts(statuses=["held"]) if r.id in alert_ids]
            lines = [self.texts.get("alert.digest", count=len(rows))]
            for row in rows:
                detail = await self.store.incident(row.incident_id)
                if detail is not None:
                    i = detail.incident
                    name = self.texts.category(i.category)
                    lines.append(f"#{i.id} {i.category} · {name} · {i.excerpt[:60]}")
            contact = self.contact(officer_id)
            if contact is None:
                continue
            try:
                await self.dispatcher.send(contact[0], SendText(contact[1], "\n".join(lines)))
            except Exception as exc:
                log.warning("digest to %s failed, will retry: %s", officer_id, exc)
                continue
            for row in rows:
                await self.store.mark_alert(row.id, "sent", now)
            self._held[officer_id] = []
            flushed += len(rows)
        return flushed
