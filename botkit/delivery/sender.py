"""The sender: empties the outbox into the adapters, one lane per destination chat.

Each lane claims one piece of work at a time for its chat (a lease with a fencing token),
sends it with a time limit and records the outcome. A slow or failing chat holds only its
own lane: classification and other officers' alerts go on. Platform pacing (Telegram's
30/s, 20/min per group, 1/s per chat) stays in the adapters.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from botkit.adapter import DeliveryError, Unsupported
from botkit.clock import Clock
from botkit.codec import DecodeError, decode_action
from botkit.config import Config
from botkit.contacts import Contacts
from botkit.delivery.pages import page_applies
from botkit.delivery.render import AlertRenderer
from botkit.dispatch import Dispatcher
from botkit.escalation.chain import Chain
from botkit.outbound import EditText, Outbound, SendText
from botkit.storage.base import Store, StoreUnavailable
from botkit.storage.records import (
    Cancelled,
    Destination,
    DigestWork,
    EditWork,
    Failed,
    Held,
    IncidentDetail,
    MessageWork,
    Outcome,
    PageWork,
    Redirected,
    Retry,
    Sent,
    Work,
)
from botkit.waiting import event_within, to_the_end

log = logging.getLogger(__name__)

IDLE_SECONDS = 0.5
EDIT_RETRY = timedelta(seconds=30)


@dataclass
class SenderStats:
    """What only this process can see (outcomes are in the store); never decides anything."""

    lost_leases: int = 0
    # Seconds from an incident's opening to each first-step alert's delivery, until /metrics
    # takes them (bounded: without a scraper the oldest go).
    alert_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))


class Sender:
    def __init__(
        self,
        config: Config,
        store: Store,
        dispatcher: Dispatcher,
        renderer: AlertRenderer,
        clock: Clock,
        owner: str,
    ) -> None:
        self.config = config
        self.settings = config.delivery
        self.store = store
        self.dispatcher = dispatcher
        self.renderer = renderer
        self.contacts = Contacts(config, dispatcher)
        self.clock = clock
        self.owner = owner
        self.wake = asyncio.Event()
        self.stats = SenderStats()
        self._lanes: dict[Destination, asyncio.Task[None]] = {}
        self._cancelling = False
        self._storage_trouble = False
        # Stopping: alerts held by an officer's rate limit go now, as one digest, rather
        # than wait for the next start.
        self.flushing = False

    def use(self, config: Config, renderer: AlertRenderer) -> None:
        """A reloaded config: new texts, contacts and limits for the next sends."""
        self.config = config
        self.settings = config.delivery
        self.renderer = renderer
        self.contacts = Contacts(config, self.dispatcher)

    @property
    def lease(self) -> timedelta:
        # Longer than any send may take, so a live sender never loses its lease mid-send.
        return timedelta(seconds=self.settings.send_timeout_seconds * 1.5 + 5)

    @property
    def edit_interval(self) -> timedelta:
        return timedelta(seconds=self.settings.edit_interval_seconds)

    # -- running -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; lanes started before it finish their current send."""
        while not stop.is_set():
            self.wake.clear()  # before looking: a wake-up during the look is not lost
            await self.pump()
            await event_within(self.wake, IDLE_SECONDS)

    async def pump(self) -> int:
        """Start a lane for every destination with due work; returns how many started."""
        free = self.settings.lanes - len(self._lanes)
        if free <= 0:
            return 0
        try:
            due = await self.store.outbox.due_destinations(
                self.clock.now(), free + len(self._lanes), self.edit_interval
            )
        except StoreUnavailable as exc:
            self._trouble(exc)
            return 0
        started = 0
        for destination in due:
            if destination not in self._lanes and len(self._lanes) < self.settings.lanes:
                self._lanes[destination] = asyncio.create_task(self._lane(destination))
                started += 1
        return started

    async def drain(self, timeout: float) -> bool:
        """Send what is due until nothing is, or `timeout` seconds pass; True if idle."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self.flushing:
            await self.store.outbox.release_held(self.clock.now())
        while True:
            await self.pump()
            if not self._lanes:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                await self.cancel_lanes()
                return False
            await asyncio.wait(
                list(self._lanes.values()), timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )

    async def cancel_lanes(self) -> None:
        # A lane also stops at its next piece of work: a cancellation can be lost (see
        # `botkit.waiting`), and a lane that lost it would send its chat's whole queue first.
        self._cancelling = True
        try:
            lanes = list(self._lanes.values())
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
        finally:
            self._cancelling = False

    async def run_once(self, max_rounds: int = 1000) -> None:
        """Send everything due, one destination after another (replay on virtual time)."""
        for _ in range(max_rounds):
            due = await self.store.outbox.due_destinations(
                self.clock.now(), 1000, self.edit_interval
            )
            if not due:
                return
            for destination in due:
                await self._lane(destination, register=False)

    async def _lane(self, destination: Destination, register: bool = True) -> None:
        try:
            while not self._cancelling:
                work = await self.store.outbox.claim(
                    destination, self.owner, self.clock.now(), self.lease, self.edit_interval
                )
                if work is None:
                    return
                await self.deliver(work)
        except StoreUnavailable as exc:
            self._trouble(exc)
        except Exception:
            log.exception("sending to %s:%s failed", destination.platform, destination.chat_id)
        finally:
            if register:
                self._lanes.pop(destination, None)
                self.wake.set()

    def _trouble(self, exc: StoreUnavailable) -> None:
        if not self._storage_trouble:
            log.error("sending paused: the store cannot be written: %s", exc)
        self._storage_trouble = True

    # -- one piece of work -------------------------------------------------------------------
    async def deliver(self, work: Work) -> None:
        if isinstance(work, PageWork):
            await self._page(work)
        elif isinstance(work, DigestWork):
            await self._digest(work)
        elif isinstance(work, MessageWork):
            await self._message(work)
        else:
            await self._edit(work)
        self._storage_trouble = False

    async def _page(self, work: PageWork) -> None:
        detail = await self.store.incidents.get(work.incident_id)
        if detail is None or not page_applies(work.kind, detail.incident.state):
            state = detail.incident.state.value if detail else "gone"
            await self._settle(work, Cancelled(f"incident is {state}"))
            return
        if not self.dispatcher.has(work.platform):
            await self._give_up(work, f"adapter {work.platform} is not running")
            return
        until = await self._reserve(work.officer_id)
        if until is not None:
            await self._settle(work, Held(until))
            return
        incident = detail.incident
        evidence = await self.store.incidents.evidence(incident.id)
        handled_by = self._handled_by(work.kind, work.officer_id, detail)
        text = self.renderer.render(
            incident, work.kind, work.step, evidence, work.ambiguous > 0, handled_by
        )
        buttons = self.renderer.buttons(incident, actionable=handled_by is None)
        action = SendText(work.contact, text, buttons)
        outcome = await self._attempt(work, work.platform, action, work.attempts)
        if isinstance(outcome, Sent):
            outcome = Sent(outcome.ref, detail.version, incident.state.value)
            if work.kind == "alert" and work.step == 0:
                seconds = (self.clock.now() - incident.opened_at).total_seconds()
                self.stats.alert_seconds.append(max(seconds, 0.0))
        if isinstance(outcome, Failed):
            await self._give_up(work, outcome.error)
            return
        await self._settle(work, outcome)

    async def _digest(self, work: DigestWork) -> None:
        live: list[PageWork] = []
        incidents = []
        for page in work.pages:
            detail = await self.store.incidents.get(page.incident_id)
            if detail is None or not page_applies(page.kind, detail.incident.state):
                await self._settle(page, Cancelled("incident moved on while held"))
            else:
                live.append(page)
                incidents.append(detail.incident)
        if len(live) <= 1:
            for page in live:  # one left: it goes out as the page it is
                await self._page(page)
            return
        first = live[0]
        until = await self._reserve(first.officer_id)
        if until is not None:
            await self._settle(DigestWork(tuple(live)), Held(until))
            return
        action = SendText(first.contact, self.renderer.digest(incidents))
        outcome = await self._attempt(
            DigestWork(tuple(live)), first.platform, action, first.attempts
        )
        if isinstance(outcome, Sent):
            outcome = Sent(outcome.ref)
        await self._settle(DigestWork(tuple(live)), outcome)

    async def _message(self, work: MessageWork) -> None:
        try:
            action = decode_action(work.action)
        except DecodeError as exc:
            await self._settle(work, Failed(str(exc)))
            return
        if not self.dispatcher.has(work.platform):
            await self._settle(work, Failed(f"adapter {work.platform} is not running"))
            return
        if work.ambiguous and isinstance(action, SendText):
            # An earlier try may have arrived: the reader should know this may be a repeat.
            action = replace(action, text=f"{self.renderer.resent_line()}\n{action.text}")
        await self._settle(work, await self._attempt(work, work.platform, action, work.attempts))

    async def _edit(self, work: EditWork) -> None:
        detail = await self.store.incidents.get(work.incident_id)
        if detail is None or not self.dispatcher.has(work.platform):
            await self._settle(work, Cancelled("nothing to edit"))
            return
        incident = detail.incident
        evidence = await self.store.incidents.evidence(incident.id)
        handled_by = self._handled_by(work.kind, work.officer_id, detail)
        text = self.renderer.render(incident, work.kind, work.step, evidence, False, handled_by)
        buttons = self.renderer.buttons(incident, actionable=handled_by is None)
        action: Outbound = EditText(work.contact, work.delivery_ref, text, buttons)
        if not self.dispatcher.can_edit(work.platform):
            # Messenger and Zalo cannot edit: the officer gets the new state as a new message.
            action = SendText(work.contact, text, buttons)
        outcome = await self._attempt(work, work.platform, action, 0)
        if isinstance(outcome, Sent):
            outcome = Sent(outcome.ref, detail.version, incident.state.value)
        elif isinstance(outcome, Retry):
            # An edit is cosmetic (the state is in the store): retry calmly, no counting.
            outcome = Retry(self.clock.now() + EDIT_RETRY, outcome.error)
        await self._settle(work, outcome)

    def _handled_by(self, kind: str, officer_id: str, detail: IncidentDetail) -> str | None:
        """For a copy to an officer who may not act on it (the desk's rule: the routed
        unit and its superiors), the unit that does; None when they may act."""
        if kind != "copy":
            return None
        chain = Chain.from_json(detail.chain)
        officer = self.config.officer(officer_id)
        if officer is not None and officer.unit in chain.answers_to(self.config):
            return None
        return chain.unit_name

    async def _give_up(self, work: PageWork, error: str) -> None:
        """This contact failed for good: the officer's next contact, else the chain moves on."""
        nxt = self.contacts.after(work.officer_id, work.platform)
        if nxt is not None and nxt != (work.platform, work.contact):
            await self._settle(work, Redirected(nxt[0], nxt[1], error))
            log.warning(
                "alert %s to %s: %s; trying %s next", work.lease.id, work.officer_id, error, nxt[0]
            )
            return
        await self._settle(work, Failed(error))
        log.error("alert %s to %s failed for good: %s", work.lease.id, work.officer_id, error)
        if work.kind not in ("alert", "escalated"):
            return
        pages = await self.store.outbox.step_pages(work.incident_id, work.step)
        if all(p.status in ("failed", "cancelled") for p in pages) and (
            await self.store.timers.hasten(work.incident_id, "escalate", self.clock.now())
        ):
            log.warning(
                "incident %s: nobody of step %d could be reached; escalating now",
                work.incident_id,
                work.step,
            )

    async def _reserve(self, officer_id: str) -> datetime | None:
        """A slot in the officer's rate window, or when one frees."""
        if self.flushing:
            return None
        officer = self.config.officer(officer_id)
        per_minute = officer.rate_per_minute if officer else 6
        return await self.store.outbox.reserve_send(officer_id, self.clock.now(), per_minute)

    async def _attempt(self, work: Work, platform: str, action: Outbound, attempts: int) -> Outcome:
        timeout = self.settings.send_timeout_seconds
        # Room under the platform's limits first, outside the send's time limit: a wait there
        # is not a platform failing to answer, and nothing has been sent yet.
        try:
            await self.dispatcher.ready(platform, action)
        except DeliveryError as exc:
            return self._retry(attempts, str(exc), False, exc.retry_after)
        except asyncio.CancelledError:
            await self._settle(work, Retry(self.clock.now(), "stopped before the send"))
            raise
        try:
            async with asyncio.timeout(timeout):
                ref = await self.dispatcher.send(platform, action)
        except TimeoutError:
            return self._retry(attempts, f"no answer within {timeout:g} s", ambiguous=True)
        except Unsupported as exc:
            return Failed(f"not possible on {platform}: {exc}")
        except DeliveryError as exc:
            if exc.permanent:
                return Failed(str(exc))
            return self._retry(attempts, str(exc), exc.ambiguous, exc.retry_after)
        except asyncio.CancelledError:
            # Stopped mid-send: it may or may not have arrived; the next run resends, marked.
            await self._settle(
                work, Retry(self.clock.now(), "stopped during the send", ambiguous=True)
            )
            raise
        except Exception as exc:  # an adapter's unforeseen error: assume it may have arrived
            return self._retry(attempts, f"{type(exc).__name__}: {exc}", ambiguous=True)
        return Sent(ref)

    def _retry(
        self, attempts: int, error: str, ambiguous: bool = False, at_least: float | None = None
    ) -> Outcome:
        if attempts + 1 >= self.settings.max_attempts:
            return Failed(f"gave up after {attempts + 1} attempts: {error}")
        delay = min(
            self.settings.retry_base_seconds * 2**attempts, self.settings.retry_max_seconds
        ) * random.uniform(0.8, 1.2)
        delay = max(delay, at_least or 0.0)
        return Retry(self.clock.now() + timedelta(seconds=delay), error, ambiguous)

    async def _settle(self, work: Work, outcome: Outcome) -> None:
        # Written down even when the sender is stopped meanwhile: a send the platform took,
        # left unrecorded, would go out again after the restart.
        kept = await to_the_end(self.store.outbox.settle(work, outcome, self.clock.now()))
        self._log_outcome(work, outcome)
        if not kept:
            self.stats.lost_leases += 1
            log.warning(
                "%s: the lease expired before the outcome (%s) was recorded; a newer"
                " attempt owns it",
                _describe(work),
                type(outcome).__name__,
            )

    def _log_outcome(self, work: Work, outcome: Outcome) -> None:
        """An alert that waits is said, with why and until when (local time)."""
        if isinstance(outcome, Retry):
            log.warning(
                "%s not sent yet, retrying at %s: %s",
                _describe(work),
                self._local(outcome.at),
                outcome.error,
            )
        elif isinstance(outcome, Held):
            first = work.pages[0] if isinstance(work, DigestWork) else work
            officer = first.officer_id if isinstance(first, PageWork) else "?"
            person = self.config.officer(officer)
            log.warning(
                "%s to %s held until %s: at most %d alerts a minute to one officer;"
                " what waits goes as one digest",
                _describe(work),
                officer,
                self._local(outcome.until),
                person.rate_per_minute if person else 6,
            )

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.renderer.tz).strftime("%H:%M:%S")


def _describe(work: Work) -> str:
    if isinstance(work, DigestWork):
        return f"digest of {len(work.pages)} alert(s)"
    if isinstance(work, PageWork):
        return f"alert {work.lease.id}"
    if isinstance(work, EditWork):
        return f"edit of alert {work.lease.id}"
    return f"message {work.lease.id}"
