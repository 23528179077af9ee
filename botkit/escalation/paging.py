"""Queue pages to officers, inside the transaction of the effect that calls for them."""

from __future__ import annotations

import logging
from datetime import datetime

from botkit.contacts import Contacts
from botkit.domain import Incident
from botkit.storage.base import Transaction
from botkit.storage.records import NewPage

log = logging.getLogger(__name__)


class Pager:
    def __init__(self, contacts: Contacts) -> None:
        self.contacts = contacts

    async def page(
        self,
        tx: Transaction,
        incident: Incident,
        officers: list[str],
        kind: str,
        step: int,
        now: datetime,
    ) -> list[str]:
        """Queue one page per officer; returns those with a reachable contact.

        A page is identified by (incident, officer, kind, step): queuing it again, as a
        redelivered event or a re-run step would, queues nothing.
        """
        queued: list[str] = []
        for officer_id in officers:
            contact = self.contacts.first(officer_id)
            if contact is None:
                page = NewPage(incident.id, officer_id, "-", "-", kind, step)
                await tx.outbox.enqueue_unreachable(page, now, "no reachable contact")
                log.error(
                    "incident %s: officer %s has no contact on a running adapter",
                    incident.id,
                    officer_id,
                )
                continue
            platform, chat = contact
            await tx.outbox.enqueue_page(
                NewPage(incident.id, officer_id, platform, chat, kind, step), now
            )
            queued.append(officer_id)
        return queued
