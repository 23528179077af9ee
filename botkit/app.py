"""Assembles the core from a config: store, model, engine, pipeline; runs adapters."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from botkit.adapter import Adapter, InboundEvent, Inbox
from botkit.classify import ClassifierService
from botkit.clock import Clock, SystemClock
from botkit.config import Config
from botkit.dispatch import AdapterDispatcher, Dispatcher
from botkit.domain import AlertEvent
from botkit.escalation import EscalationEngine, Router
from botkit.escalation.notifier import Notifier
from botkit.groups import GroupDirectory
from botkit.pipeline import Pipeline
from botkit.places import PlaceBook
from botkit.privacy import Pseudonymizer, load_hash_key
from botkit.queue import MemoryQueue
from botkit.registry import adapter_class
from botkit.storage import SqliteStore
from botkit.texts import Texts
from classifiers.claims import ClaimIndex
from classifiers.entities import EntityExtractor
from classifiers.persistence import LoadedModel, load_model
from classifiers.registry import ModelRegistry

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(days=1)
MAX_EVENT_ATTEMPTS = 5


def load_classifier_model(
    config: Config, base_dir: Path, override: Path | None = None
) -> LoadedModel:
    """The configured model; a broken promoted model falls back to the previous one, loudly."""
    if override is not None:
        return load_model(override)
    if config.model.path:
        return load_model(_resolve(base_dir, config.model.path))
    registry = ModelRegistry(_resolve(base_dir, config.model.registry))
    loaded, fell_back = registry.load_current()
    if fell_back:
        log.warning("the promoted model could not be loaded; running on %s", loaded.card.version)
    return loaded


def _resolve(base_dir: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


@dataclasses.dataclass
class App:
    config: Config
    store: SqliteStore
    pipeline: Pipeline
    engine: EscalationEngine
    notifier: Notifier
    service: ClassifierService
    clock: Clock
    dispatcher: Dispatcher
    data_dir: Path
    dead_lettered: int = 0

    @classmethod
    async def build(
        cls,
        config: Config,
        base_dir: Path,
        *,
        clock: Clock | None = None,
        dispatcher: Dispatcher | None = None,
        store_path: str | None = None,
        on_event: Callable[[AlertEvent], None] | None = None,
        model_dir: Path | None = None,
        ephemeral: bool = False,
    ) -> App:
        clock = clock or SystemClock()
        data_dir = _resolve(base_dir, config.bot.data_dir)
        store = SqliteStore(store_path or _resolve(base_dir, config.storage.path))
        await store.open()
        loaded = await asyncio.to_thread(load_classifier_model, config, base_dir, model_dir)
        claims = ClaimIndex()
        for claim_id, text in await store.claims():
            claims.add(claim_id, text)
        entities = EntityExtractor(config.jurisdiction.province)
        min_score = min((c.threshold for c in config.categories.values()), default=0.5)
        service = ClassifierService(
            loaded, claims, entities, config.grouping.claim_threshold, min_score
        )
        texts = Texts(config.bot.language)
        places = PlaceBook(config.jurisdiction.province)
        dispatcher = dispatcher or AdapterDispatcher({})
        notifier = Notifier(config, store, dispatcher, texts, places, clock)
        engine = EscalationEngine(
            config, store, notifier, dispatcher, clock, texts, on_event=on_event, claims=service
        )
        # A dry run writes nothing, not even a key file.
        key = (
            secrets.token_bytes(32)
            if ephemeral
            else load_hash_key(config.bot.hash_key_env, data_dir)
        )
        pseudonymizer = Pseudonymizer(key)
        pipeline = Pipeline(
            config, store, service, engine, pseudonymizer, dispatcher, texts, places, clock
        )
        app = cls(config, store, pipeline, engine, notifier, service, clock, dispatcher, data_dir)
        if not ephemeral:
            await app.purge_if_due()
        return app

    def reload(self, config: Config) -> None:
        """Apply a new config to new work; running escalation chains keep their snapshot."""
        self.config = config
        self.pipeline.config = config
        self.pipeline.groups = GroupDirectory(config, self.store)
        self.pipeline.onboarding.config = config
        self.pipeline.onboarding.groups = self.pipeline.groups
        self.notifier.config = config
        self.engine.config = config
        self.engine.router = Router(config)
        self.engine.tz = self.notifier.tz = ZoneInfo(config.bot.timezone)
        log.info("configuration reloaded")

    async def close(self) -> None:
        await self.store.close()

    async def purge(self) -> dict[str, int]:
        now = self.clock.now()
        counts = await self.store.purge(
            now - timedelta(days=self.config.bot.retention_days),
            now - timedelta(days=self.config.bot.audit_retention_days),
        )
        await self.store.set_meta("last_purge", now.isoformat())
        await self.store.audit(now, "botkit", "retention.purge", "store", counts)
        return counts

    async def purge_if_due(self) -> None:
        last = await self.store.get_meta("last_purge")
        if last is None or self.clock.now() - datetime.fromisoformat(last) >= PURGE_EVERY:
            counts = await self.purge()
            if any(counts.values()):
                log.info("retention purge removed %s", counts)

    async def tick(self) -> None:
        """Housekeeping: due escalation steps, alert retries, digests, the daily purge."""
        await self.engine.run_due(force=True)
        given_up = await self.pipeline.retry_failed(MAX_EVENT_ATTEMPTS)
        if given_up:
            self.save_failed(given_up)
        await self.notifier.flush_updates()
        await self.notifier.retry_failed()
        await self.notifier.flush_digests()
        await self.purge_if_due()

    def save_failed(self, failed: list[tuple[InboundEvent, str]] | None = None) -> Path | None:
        """Events that could not be handled are written out, never dropped silently."""
        if failed is None:
            failed, self.pipeline.failed = self.pipeline.failed, []
        if not failed:
            return None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "failed_events.jsonl"
        self.dead_lettered += len(failed)
        with path.open("a", encoding="utf-8") as fh:
            for event, error in failed:
                fh.write(
                    json.dumps(
                        {"error": error, "event": _event_json(event)},
                        ensure_ascii=False,
                        default=str,
                    )
                    + "\n"
                )
        log.error("%d event(s) could not be handled and were saved to %s", len(failed), path)
        return path


def _event_json(event: InboundEvent) -> dict[str, Any]:
    data = dataclasses.asdict(event)
    data["type"] = type(event).__name__
    return data


def build_adapters(config: Config) -> dict[str, Adapter]:
    adapters: dict[str, Adapter] = {}
    for name, settings in config.enabled_adapters().items():
        cls = adapter_class(name, settings.option("class"))
        adapters[name] = cls(name, settings)
    return adapters


async def supervise(adapter: Adapter, inbox: Inbox, max_delay: float = 60.0) -> None:
    """Run one adapter; when it fails, log it and restart it, so the others keep serving."""
    delay = 1.0
    while True:
        try:
            await adapter.run(inbox)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("adapter %s stopped: %s; restarting in %.0f s", adapter.name, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


async def serve(
    app: App,
    adapters: dict[str, Adapter],
    tick_seconds: float = 1.0,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until every adapter's source ends (the console at EOF) or `stop` is set."""
    queue = MemoryQueue()

    class _Inbox:
        async def submit(self, event: InboundEvent) -> None:
            await queue.put(event)

    async def worker() -> None:
        while True:
            batch = await queue.get_batch(app.config.bot.batch_size)
            try:
                await app.pipeline.handle(batch)
            finally:
                await queue.ack(batch)

    async def scheduler() -> None:
        while True:
            try:
                await app.tick()
            except Exception:
                log.exception("housekeeping failed; retrying")
            await asyncio.sleep(tick_seconds)

    inbox = _Inbox()
    background = [asyncio.create_task(worker()), asyncio.create_task(scheduler())]
    runners = [asyncio.create_task(supervise(a, inbox)) for a in adapters.values()]
    stopping = asyncio.create_task((stop or asyncio.Event()).wait())
    try:
        all_done: asyncio.Future[Any] = asyncio.gather(*runners)
        await asyncio.wait([all_done, stopping], return_when=FIRST_COMPLETED)
        for runner in runners:  # asked to stop: no new events, but finish the accepted ones
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        await queue.join()  # every accepted event handled before we stop
        await app.tick()
    finally:
        stopping.cancel()
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for adapter in adapters.values():
            await adapter.close()
        app.save_failed()


__all__ = ["App", "build_adapters", "serve", "supervise"]
