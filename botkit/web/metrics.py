"""Prometheus metrics of one botkit process and of the store it shares.

Counters of this process (messages read, flags by category, alerts' delivery latency) and
gauges read from the store at each scrape (intake backlog and dead letters, outbox by
status, timers due, open incidents): a fleet's workers each export their own counters and
the same store-wide gauges. No message content, no chat ids.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from botkit.storage.records import StoreStatus

# Alerts go out in well under a second on loopback; escalation steps wait minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter("botkit_messages", "Messages read by this process", registry=r)
        self.flags = Counter(
            "botkit_flags", "Messages flagged by this process", ["category"], registry=r
        )
        self.alert_latency = Histogram(
            "botkit_alert_latency_seconds",
            "From an incident's opening to its first alert's delivery",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.intake_pending = Gauge(
            "botkit_intake_pending", "Accepted events waiting to be handled", registry=r
        )
        self.intake_oldest = Gauge(
            "botkit_intake_oldest_seconds", "Age of the oldest waiting event", registry=r
        )
        self.dead_letters = Gauge(
            "botkit_dead_letters", "Events that failed every attempt", registry=r
        )
        self.outbox = Gauge(
            "botkit_outbox", "Sends and alerts waiting or failed, by status", ["status"], registry=r
        )
        self.timers_due = Gauge("botkit_timers_due", "Escalation steps due now", registry=r)
        self.incidents_open = Gauge("botkit_incidents_open", "Open incidents", registry=r)
        self._seen_messages = 0
        self._seen_flags: dict[str, int] = {}

    def count(self, messages: int, flagged: dict[str, int], alert_seconds: list[float]) -> None:
        """Bring the counters up to this process's totals (which only grow)."""
        if messages > self._seen_messages:
            self.messages.inc(messages - self._seen_messages)
            self._seen_messages = messages
        for category, total in flagged.items():
            seen = self._seen_flags.get(category, 0)
            if total > seen:
                self.flags.labels(category=category).inc(total - seen)
                self._seen_flags[category] = total
        for seconds in alert_seconds:
            self.alert_latency.observe(seconds)

    def read_store(self, status: StoreStatus, now: datetime) -> None:
        self.intake_pending.set(status.intake_pending + status.intake_in_flight)
        oldest = status.intake_oldest
        self.intake_oldest.set(max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
        self.dead_letters.set(status.dead_letters)
        for name in ("pending", "retry", "held", "failed"):  # what waits, and what failed
            self.outbox.labels(status=name).set(status.outbox.get(name, 0))
        self.timers_due.set(status.timers_due)
        self.incidents_open.set(status.incidents_open)

    def render(self) -> bytes:
        return generate_latest(self.registry)
