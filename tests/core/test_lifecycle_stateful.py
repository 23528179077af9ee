"""Hypothesis stateful test of incidents: random flags, commands and time, invariants held."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from botkit.domain import IncidentState
from botkit.domain.incident import TRANSITIONS
from botkit.outbound import SendText
from tests.conftest import make_config
from tests.core.harness import Harness

OFFICERS = ["u-thanh", "u-dung", "u-tuan", "u-hoa", "stranger"]
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


class IncidentLifecycle(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.h: Harness = self.loop.run_until_complete(Harness.create(make_config(), T0))
        self.sent_checked = 0
        self.states: dict[int, IncidentState] = {}

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        if hasattr(self, "h"):
            self.run(self.h.store.close())
            self.loop.close()

    @rule(content=st.sampled_from(["hoax-a", "hoax-b", "theft-c"]), group=st.integers(0, 5))
    def flag(self, content: str, group: int) -> None:
        category = "crime_report" if content.startswith("theft") else "fake_news"
        self.run(self.h.flag(chat=f"g{group}", content_key=content, category=category))

    @rule(
        officer=st.sampled_from(OFFICERS),
        action=st.sampled_from(["ack", "confirm", "false", "resolve"]),
        incident=st.integers(1, 4),
    )
    def act(self, officer: str, action: str, incident: int) -> None:
        before = self.run(self.h.store.incidents.get(incident))
        self.run(self.h.command(officer, action, incident))
        after = self.run(self.h.store.incidents.get(incident))
        if (
            before is not None
            and after is not None
            and before.incident.state != after.incident.state
        ):
            assert (before.incident.state, action) in TRANSITIONS
            assert TRANSITIONS[(before.incident.state, action)] is after.incident.state
            assert officer != "stranger" and officer != "u-hoa"

    @rule(minutes=st.sampled_from([1, 10, 16, 45, 90, 60 * 5, 60 * 30]))
    def wait(self, minutes: int) -> None:
        start = len(self.h.dispatcher.sent)
        states_before = {i.id: i.state for i in self.run(self.h.store.incidents.query())}
        self.run(self.h.advance(minutes))
        # nothing is paged about an incident after acknowledgement or resolution
        for _, action in self.h.dispatcher.sent[start:]:
            if isinstance(action, SendText) and action.text.startswith("⏫"):
                incident_id = int(action.text.split("#")[1].split()[0])
                assert states_before.get(incident_id) is IncidentState.OPENED

    @invariant()
    def open_unacknowledged_incidents_have_exactly_one_pending_step(self) -> None:
        if not hasattr(self, "h"):
            return
        for incident in self.run(self.h.store.incidents.query()):
            detail = self.run(self.h.store.incidents.get(incident.id))
            pending = self.run(self.h.store.timers.pending(incident.id))
            if incident.state is IncidentState.OPENED and not detail.exhausted:
                assert len([t for t in pending if t.kind == "escalate"]) == 1
            if incident.state is IncidentState.RESOLVED:
                assert pending == []
            assert len(pending) <= 1

    @invariant()
    def no_page_is_sent_twice(self) -> None:
        if not hasattr(self, "h"):
            return
        pages = [
            (a.chat_id, a.text.splitlines()[0])
            for _, a in self.h.dispatcher.sent
            if isinstance(a, SendText) and not a.text.startswith("📋")
        ]
        rows = self.run(self.h.store.outbox.alerts())
        assert len({(r.incident_id, r.officer_id, r.kind, r.step) for r in rows}) == len(rows)
        sent = [r for r in rows if r.status == "sent" and r.delivery_ref is not None]
        assert len(sent) <= len(pages)


IncidentLifecycle.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIncidentLifecycle = IncidentLifecycle.TestCase
