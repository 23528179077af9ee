"""Assembles the core from a config: store, key, model, engine, pipeline, sender."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from botkit.adapter import Adapter
from botkit.bulletins import BulletinBoard
from botkit.claims import KnownClaims
from botkit.classify import ClassifierService
from botkit.clock import Clock, SystemClock
from botkit.config import AdapterSettings, Config
from botkit.contacts import Contacts
from botkit.delivery import Sender
from botkit.delivery.render import AlertRenderer
from botkit.dispatch import AdapterDispatcher, Dispatcher
from botkit.domain import AlertEvent
from botkit.domain.incident import OPEN_STATES
from botkit.escalation import EscalationEngine
from botkit.escalation.commands import OfficerDesk
from botkit.groups import GroupDirectory
from botkit.images import ocr
from botkit.images.known import KnownImages
from botkit.images.reader import PhotoFetcher, PhotoReader
from botkit.intake import DurableInbox
from botkit.keys import FINGERPRINT_META, HashKey, resolve_hash_key
from botkit.nearby import RecentHoaxes
from botkit.onboarding import Onboarding
from botkit.pipeline import Pipeline
from botkit.places import PlaceBook
from botkit.privacy import Pseudonymizer
from botkit.registry import adapter_class
from botkit.residents.answers import Answers, build_answers
from botkit.residents.cases import CaseKeys
from botkit.residents.desk import ResidentDesk
from botkit.sealing import Sealer
from botkit.spool import Spool
from botkit.storage import Store, open_store
from botkit.texts import Texts
from classifiers.claims import ClaimIndex
from classifiers.entities import EntityExtractor
from classifiers.persistence import LoadedModel, load_model
from classifiers.registry import ModelRegistry

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(days=1)
# A done event's key is kept this long, so that a redelivery is recognised (Telegram keeps
# unconfirmed updates for 24 hours).
EVENT_KEYS_KEPT = timedelta(hours=48)


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


def _fetcher(dispatcher: Dispatcher | None) -> PhotoFetcher | None:
    """What fetches pictures here; None for a command with no adapter running (`report`,
    `labels export`, the web console alone), which need not look for OCR either."""
    if isinstance(dispatcher, AdapterDispatcher):
        running = dispatcher.adapters.values()
        return dispatcher if any("photos" in a.capabilities for a in running) else None
    return dispatcher if isinstance(dispatcher, PhotoFetcher) else None


def _ocr_missing(config: Config) -> str | None:
    if not config.images.enabled:
        return None
    missing = ocr.unavailable(config.images.language)
    if missing is not None:
        log.warning("text in pictures will not be read: %s", missing)
    return missing


def _resolve(base_dir: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


def worker_name() -> str:
    """Who holds a lease: host, process and a random tag (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclasses.dataclass
class App:
    config: Config
    store: Store
    service: ClassifierService
    clock: Clock
    dispatcher: Dispatcher
    data_dir: Path
    key: HashKey
    on_event: Callable[[AlertEvent], None]
    base_dir: Path
    answers: Answers | None
    # Why text in pictures cannot be read here (no tesseract), or None; said once at start.
    ocr_missing: str | None = None
    owner: str = dataclasses.field(default_factory=worker_name)
    # Rebuilt from the config by `assemble` (a reload rebuilds, it does not patch):
    engine: EscalationEngine = dataclasses.field(init=False)
    desk: OfficerDesk = dataclasses.field(init=False)
    bulletins: BulletinBoard = dataclasses.field(init=False)
    pipeline: Pipeline = dataclasses.field(init=False)
    sender: Sender = dataclasses.field(init=False)
    claims_seen: int = 0
    known_images: KnownImages = dataclasses.field(init=False)

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
        """Open the store, check the key, load the model. `ephemeral`: a dry run that
        writes nothing anywhere, not even a key file."""
        data_dir = _resolve(base_dir, config.bot.data_dir)
        store = await open_store(config.storage, base_dir, store_path)
        if isinstance(dispatcher, AdapterDispatcher):
            dispatcher.gate = store.rate_gate  # platforms' rates hold for the whole fleet
        try:
            key = await _hash_key(store, config, data_dir, ephemeral)
            loaded = await asyncio.to_thread(load_classifier_model, config, base_dir, model_dir)
            answers = await asyncio.to_thread(build_answers, config, base_dir)
            entities = EntityExtractor(config.jurisdiction.province)
            min_score = min((c.threshold for c in config.categories.values()), default=0.5)
            service = ClassifierService(
                loaded, ClaimIndex(), entities, config.grouping.claim_threshold, min_score
            )
            app = cls(
                config,
                store,
                service,
                clock or SystemClock(),
                dispatcher or AdapterDispatcher({}),
                data_dir,
                key,
                on_event or (lambda _event: None),
                base_dir,
                answers,
                await asyncio.to_thread(_ocr_missing, config) if _fetcher(dispatcher) else None,
            )
            app.assemble(config)
            await app.sync_claims()
            await app.warm_recent_hoaxes()
            if not ephemeral:
                await app.purge_if_due()
                _warn_of_clear_dead_letters(data_dir)
        except BaseException:
            await store.close()
            raise
        return app

    def assemble(self, config: Config) -> None:
        """Build everything that depends on the config; running chains keep their snapshot."""
        first = not self._assembled
        self.config = config
        texts = Texts(config.bot.language)
        places = PlaceBook(config.jurisdiction.province)
        pseudonymizer = Pseudonymizer(self.key.secret)
        groups = GroupDirectory(config, self.store.groups)
        if first:
            self.known_images = KnownImages(config.images.match_distance)
        else:
            self.known_images.max_distance = config.images.match_distance
        claims = KnownClaims(self.service, self.known_images)
        self.engine = EscalationEngine(
            config, self.store, self.dispatcher, self.clock, texts, self.on_event, claims
        )
        contacts = Contacts(config, self.dispatcher)
        residents = ResidentDesk(
            config,
            self.engine,
            contacts,
            texts,
            places,
            pseudonymizer,
            CaseKeys(pseudonymizer, self.key.secret),
        )
        self.bulletins = BulletinBoard(config, self.store, texts, self.clock)
        self.desk = OfficerDesk(
            self.engine, {"answer": residents.answer, "bulletin": self.bulletins.command}
        )
        onboarding = Onboarding(config, groups, texts, places, self.clock)
        kept = None if first else self.pipeline
        window = timedelta(hours=config.grouping.window_hours)
        near = config.grouping.near_duplicate_threshold
        if first:
            self.recent = RecentHoaxes(near, window, config.hoax_categories)
        else:
            self.recent.configure(near, window, config.hoax_categories)
        self.pipeline = Pipeline(
            config,
            self.store,
            self.service,
            self.engine,
            self.desk,
            onboarding,
            groups,
            pseudonymizer,
            self.clock,
            self.recent,
            residents,
            self.answers,
            self.bulletins,
            self._photo_reader(config),
            self.known_images,
        )
        if kept is not None:  # this process's counts go on across a reload
            self.pipeline.messages, self.pipeline.flags = kept.messages, kept.flags
            self.pipeline.flagged = kept.flagged
        renderer = AlertRenderer(texts, places, ZoneInfo(config.bot.timezone))
        if not first:
            self.sender.use(config, renderer)
        else:
            self.sender = Sender(
                config, self.store, self.dispatcher, renderer, self.clock, self.owner
            )

    def _photo_reader(self, config: Config) -> PhotoReader | None:
        """Pictures are read where adapters can fetch them (not in a dry run)."""
        fetcher = _fetcher(self.dispatcher)
        if not config.images.enabled or fetcher is None:
            return None
        reader = None
        if self.ocr_missing is None:
            reader = ocr.TesseractReader(config.images.language, config.images.ocr_timeout_seconds)
        return PhotoReader(config.images, fetcher, reader)

    @property
    def _assembled(self) -> bool:
        return "pipeline" in self.__dict__

    def reload(self, config: Config) -> None:
        if config.images.language != self.config.images.language:
            self.ocr_missing = _ocr_missing(config)
        # An admin reloads after editing the knowledge file too; a broken file raises
        # KnowledgeError and the running answers stay. (Some 100 ms of CPU, once per reload.)
        self.answers = build_answers(config, self.base_dir)
        self.assemble(config)
        log.info("configuration reloaded")

    def inbox(self, spool: Spool | None = None) -> DurableInbox:
        return DurableInbox(
            self.store.intake,
            Sealer(self.key.secret),
            self.pipeline.pseudonymizer,
            self.clock,
            self.config.bot.intake_capacity,
            spool,
        )

    def spool(self) -> Spool | None:
        """A local buffer for events while a shared store is away (none for SQLite: the
        spool would sit on the same disk as the store)."""
        capacity = self.config.storage.spool_capacity
        if self.store.backend == "sqlite" or capacity == 0:
            return None
        return Spool(self.data_dir / "intake-spool.sqlite3", capacity)

    async def close(self) -> None:
        await self.store.close()

    async def warm_recent_hoaxes(self) -> int:
        """Open hoaxes' texts from the store, so rewordings fold after a restart too."""
        warmed = 0
        since = self.clock.now() - self.recent.window
        for incident in await self.store.incidents.query(states=list(OPEN_STATES)):
            if incident.category not in self.recent.categories or incident.last_seen < since:
                continue
            detail = await self.store.incidents.get(incident.id)
            if detail is not None and detail.claim_text:
                self.recent.remember(incident.content_key, detail.claim_text, incident.last_seen)
                warmed += 1
        return warmed

    async def sync_claims(self) -> int:
        """Known claims another process (or an earlier run) confirmed join the index."""
        added = 0
        claims = KnownClaims(self.service, self.known_images)
        for seq, claim_id, text in await self.store.incidents.claims(self.claims_seen):
            self.claims_seen = max(self.claims_seen, seq)
            if claims.accepts(claim_id, text):
                claims.add_claim(claim_id, text)
                added += 1
        return added

    async def release_dead_leases(self) -> int:
        """Work held by a process of this host that died (kill -9) is free again at once,
        instead of when its leases expire."""
        host = socket.gethostname()
        dead = [o for o in await self.store.lease_owners() if owner_is_dead_here(o, host)]
        return await self.store.release_leases(dead) if dead else 0

    async def purge(self) -> dict[str, int]:
        now = self.clock.now()
        counts = await self.store.purge(
            now - timedelta(days=self.config.bot.retention_days),
            now - timedelta(days=self.config.bot.audit_retention_days),
            now - EVENT_KEYS_KEPT,
        )
        await self.store.meta.set("last_purge", now.isoformat())
        await self.store.audit.record(now, "botkit", "retention.purge", "store", counts)
        return counts

    async def purge_if_due(self) -> None:
        last = await self.store.meta.get("last_purge")
        if last is None or self.clock.now() - datetime.fromisoformat(last) >= PURGE_EVERY:
            counts = await self.purge()
            if any(counts.values()):
                log.info("retention purge removed %s", counts)


async def _hash_key(store: Store, config: Config, data_dir: Path, ephemeral: bool) -> HashKey:
    if ephemeral:
        return HashKey(secrets.token_bytes(32), "a one-off key (dry run)")
    expected = await store.meta.get(FINGERPRINT_META)
    key = resolve_hash_key(config.bot.hash_key_env, data_dir, expected)
    if expected is None:
        await store.meta.set(FINGERPRINT_META, key.fingerprint)
    return key


def _warn_of_clear_dead_letters(data_dir: Path) -> None:
    old = data_dir / "failed_events.jsonl"
    if old.exists():
        log.warning(
            "%s holds events an earlier botkit could not handle, in clear: review it"
            " (`botkit dead-letters` now keeps them sealed) and delete it",
            old,
        )


def owner_is_dead_here(owner: str, host: str | None = None) -> bool:
    """True for an owner name (see `worker_name`) of a process of this host that is gone."""
    host = host or socket.gethostname()
    owner_host, _, rest = owner.rpartition(":")[0].rpartition(":")
    pid = rest
    if owner_host != host or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def build_adapters(config: Config, base_dir: Path | None = None) -> dict[str, Adapter]:
    """The enabled adapters. Each gets the bot's `data_dir` (resolved against `base_dir`,
    the config's folder) unless its own section names one: where an adapter keeps its
    state (Zalo's single-use refresh tokens) then needs no repeating."""
    adapters: dict[str, Adapter] = {}
    data_dir = _resolve(base_dir or Path.cwd(), config.bot.data_dir)
    for name, settings in config.enabled_adapters().items():
        if settings.option("data_dir") is None:
            settings = AdapterSettings.model_validate(
                {**settings.model_dump(), "data_dir": str(data_dir)}
            )
        cls = adapter_class(name, settings.option("class"))
        adapters[name] = cls(name, settings)
    return adapters


__all__ = ["App", "build_adapters", "load_classifier_model", "owner_is_dead_here"]
