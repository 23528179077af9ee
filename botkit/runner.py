"""The jobs behind the CLI: run, replay, purge, labels export, status, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import json
import logging
import signal
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console

from botkit.app import App, build_adapters
from botkit.bulletins import BulletinOutcome
from botkit.clock import VirtualClock
from botkit.config import Config, ConfigError, load_config
from botkit.dispatch import AdapterDispatcher, Dispatcher, DryRunDispatcher
from botkit.domain import AlertEvent, AlertEventKind, Message
from botkit.heap import freeze_long_lived
from botkit.outputs import replacing
from botkit.pipeline import Inbound
from botkit.registry import UnknownAdapter, replay_reader
from botkit.residents.knowledge import KnowledgeError
from botkit.runtime import serve
from botkit.sources import SourceTaken
from botkit.storage import open_store
from botkit.storage.records import DeadLetter, StoreStatus
from botkit.texts import Texts

log = logging.getLogger(__name__)

MAX_VIRTUAL_STEPS = 1_000_000


class EventPrinter:
    """Prints each flag as it is raised, with the category key beside its Vietnamese name."""

    def __init__(self, console: Console, texts: Texts) -> None:
        self.console = console
        self.texts = texts

    def __call__(self, event: AlertEvent) -> None:
        if event.event in (AlertEventKind.OPENED, AlertEventKind.UPDATED) and event.step in (
            0,
            None,
        ):
            self.console.print(
                f"⚑ {event.event.value} #{event.incident_id} {event.category}"
                f" ({self.texts.category(event.category)}) score {event.score:.2f}"
                f" chat {event.chat_id} msg {event.message_id}"
                + (f" → {event.officer}" if event.officer else ""),
                highlight=False,
                markup=False,
            )


def _reload_on_sighup(app: App, path: Path) -> None:
    def reload() -> None:
        try:
            app.reload(load_config(path))
        except (ConfigError, KnowledgeError) as exc:
            log.error("config reload refused, keeping the running config: %s", exc)
            return
        freeze_long_lived()  # the replaced pipeline goes, the new one is set aside

    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


async def run_worker(
    config: Config, base_dir: Path, console: Console, config_path: Path | None = None
) -> int:
    return await run_bot(config, base_dir, console, config_path, receive=False)


async def run_bot(
    config: Config,
    base_dir: Path,
    console: Console,
    config_path: Path | None = None,
    *,
    receive: bool = True,
    work: bool = True,
) -> int:
    try:
        adapters = build_adapters(config, base_dir)
    except (UnknownAdapter, ConfigError) as exc:
        console.print(f"config error: {exc}", markup=False)
        return 2
    if not adapters and receive:
        console.print("no adapter is enabled in the config: nothing to run", markup=False)
        return 2
    printer = EventPrinter(console, Texts(config.bot.language))
    app = await App.build(
        config, base_dir, dispatcher=AdapterDispatcher(adapters), on_event=printer
    )
    if config_path is not None:
        _reload_on_sighup(app, config_path)
    # The model and everything built at start live as long as the process: out of the
    # collector's full passes, which otherwise stop the loop (and an alert) for 100-200 ms.
    log.debug("%d long-lived objects set aside from garbage collection", freeze_long_lived())
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Stop taking new events, finish what is in hand, then exit within the deadline.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        left = await serve(app, adapters, stop=stop, receive=receive, work=work)
    except SourceTaken as exc:
        console.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    finally:
        await app.close()
    console.print(
        f"done: {app.pipeline.messages} message(s), {app.pipeline.flags} flag(s)", markup=False
    )
    if left.events or left.sends:
        console.print(
            f"kept for the next start: {left.events} event(s) to handle,"
            f" {left.sends} message(s) to send",
            markup=False,
        )
    if left.dead_letters:
        console.print(
            f"{left.dead_letters} event(s) could not be handled: see `botkit dead-letters`",
            markup=False,
        )
    return 1 if left.dead_letters else 0


async def run_replay(
    config: Config,
    base_dir: Path,
    exports: Sequence[Path],
    dry_run: bool,
    output: Path | None,
    console: Console,
    errors_console: Console,
) -> int:
    """Exit code 0: everything replayed; 1: some input was skipped or some message failed
    (the rest were replayed and the results written); 2: nothing could be replayed."""
    tz = ZoneInfo(config.bot.timezone)
    try:
        read_sources = replay_reader()
    except UnknownAdapter as exc:
        errors_console.print(f"error: {exc}", markup=False)
        return 2
    messages, errors = await asyncio.to_thread(read_sources, list(exports), tz)
    for error in errors:
        errors_console.print(f"replay error: {error}", markup=False, highlight=False)
    if not messages:
        errors_console.print("nothing to replay", markup=False)
        return 2 if errors else 0
    dispatcher: Dispatcher
    if dry_run:
        contacts = {name for o in config.officers for name in o.contacts}
        dispatcher = DryRunDispatcher(sorted(contacts | {m.platform for m in messages}))
    else:
        try:
            dispatcher = AdapterDispatcher(build_adapters(config, base_dir))
        except (UnknownAdapter, ConfigError) as exc:
            errors_console.print(f"config error: {exc}", markup=False)
            return 2
    events: list[AlertEvent] = []
    # The results replace an earlier file only once the replay has run to its end.
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(replacing(output)) if output else None

        def on_event(event: AlertEvent) -> None:
            events.append(event)
            if sink is not None:
                sink.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")

        flags, failures = await _replay(config, base_dir, messages, dry_run, dispatcher, on_event)
    kinds = Counter(e.event.value for e in events)
    incidents = len({e.incident_id for e in events})
    console.print(
        f"replayed {len(messages)} message(s) from {len(exports)} source(s):"
        f" {flags} flag(s), {incidents} incident(s); events "
        + (", ".join(f"{k}={v}" for k, v in sorted(kinds.items())) or "none")
        + (f"; {len(errors)} input error(s), skipped" if errors else "")
        + (f"; {failures} message(s) failed" if failures else "")
        + (" [dry run]" if dry_run else ""),
        markup=False,
        highlight=False,
    )
    return 1 if failures or errors else 0


async def _replay(
    config: Config,
    base_dir: Path,
    messages: Sequence[Message],
    dry_run: bool,
    dispatcher: Dispatcher,
    on_event: Callable[[AlertEvent], None],
) -> tuple[int, int]:
    """Every message on its own time, then time run on until nothing is pending; returns
    (flags, failed messages)."""
    clock = VirtualClock(messages[0].sent_at)
    app = await App.build(
        config,
        base_dir,
        clock=clock,
        dispatcher=dispatcher,
        on_event=on_event,
        store_path=":memory:" if dry_run else None,
        ephemeral=dry_run,
    )
    failures = 0
    try:
        await app.engine.recover()
        chunk = max(config.bot.batch_size, 256)
        next_due = await app.store.timers.next_due()
        for start in range(0, len(messages), chunk):
            batch = messages[start : start + chunk]
            analyses = await app.pipeline.analyse(batch)
            for message, analysis in zip(batch, analyses, strict=True):
                clock.advance_to(message.sent_at)
                if next_due is not None and next_due <= clock.now():
                    await app.engine.run_due()
                    await app.sender.run_once()
                    next_due = await app.store.timers.next_due()
                no_effect: list[tuple[Inbound, int]] = []
                if await app.pipeline.apply(Inbound(message), analysis, no_effect) is not None:
                    failures += 1
                failures += len(await app.pipeline.finish(no_effect))  # counts it as read
                if not no_effect:  # something happened: send it now, on this message's time
                    await app.sender.run_once()
                    next_due = await app.store.timers.next_due()
        # After the last message, let virtual time run until no step or send is pending.
        for _ in range(MAX_VIRTUAL_STEPS):
            await app.engine.run_due()
            await app.sender.run_once()
            dues = [await app.store.timers.next_due(), await app.store.outbox.next_due()]
            due = min((d for d in dues if d is not None), default=None)
            if due is None or due <= clock.now():
                break  # nothing left, or nothing more can happen (a send that cannot go)
            clock.advance_to(due)
    finally:
        await app.close()
    return app.pipeline.flags, failures


async def run_purge(config: Config, base_dir: Path) -> dict[str, int]:
    app = await App.build(config, base_dir)
    try:
        return await app.purge()
    finally:
        await app.close()


async def export_labels(config: Config, base_dir: Path, output: Path) -> int:
    app = await App.build(config, base_dir)
    try:
        rows = await app.store.incidents.labelled_verdicts()
        await app.store.audit.record(
            app.clock.now(), "cli", "labels.export", str(output), {"rows": len(rows)}
        )
    finally:
        await app.close()
    with replacing(output) as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "label"])
        writer.writerows(rows)
    return len(rows)


async def store_status(config: Config, base_dir: Path) -> StoreStatus:
    store = await open_store(config.storage, base_dir)
    try:
        return await store.status(datetime.now(UTC))
    finally:
        await store.close()


async def dead_letters(config: Config, base_dir: Path, requeue: bool) -> list[DeadLetter]:
    store = await open_store(config.storage, base_dir)
    try:
        letters = await store.intake.dead_letters(1000)
        if requeue:
            count = await store.intake.requeue_dead()
            await store.audit.record(
                datetime.now(UTC), "cli", "intake.requeue_dead", "intake", {"events": count}
            )
        return letters
    finally:
        await store.close()


async def send_bulletin(
    config: Config,
    base_dir: Path,
    text: str,
    jurisdictions: frozenset[int] | None,
    wait_seconds: float,
) -> BulletinOutcome | None:
    """Publish a bulletin and send it from this process (a running bot's sender may take a
    share: the outbox's leases keep each message to one sender); wait for every group's
    outcome, report it, and return it (None: no group in those communes)."""
    adapters = build_adapters(config, base_dir)
    dispatcher = AdapterDispatcher(adapters)
    app = await App.build(config, base_dir, dispatcher=dispatcher)
    stop = asyncio.Event()
    sender: asyncio.Task[None] | None = None
    try:
        await dispatcher.prepare()
        bulletin_id, groups = await app.store.run_transaction(
            functools.partial(
                app.bulletins.publish, text=text, author="cli", jurisdictions=jurisdictions
            )
        )
        if not groups:
            return None
        sender = asyncio.create_task(app.sender.run(stop))
        bulletin = await app.store.bulletins.get(bulletin_id)
        assert bulletin is not None
        deadline = asyncio.get_running_loop().time() + wait_seconds
        outcome = await app.bulletins.outcome(bulletin)
        while not outcome.finished and asyncio.get_running_loop().time() < deadline:
            app.sender.wake.set()
            await asyncio.sleep(0.2)
            outcome = await app.bulletins.outcome(bulletin)
        await app.bulletins.settle()  # counted for the month, once, if all are settled
        return outcome
    finally:
        stop.set()
        if sender is not None:
            await sender
        for adapter in adapters.values():
            with contextlib.suppress(Exception):
                await adapter.close()
        await app.close()


async def run_web(config: Config, base_dir: Path, host: str, port: int) -> int:
    """`/healthz`, `/metrics` and, with `[web] users`, the console, until Ctrl-C or SIGTERM.
    Actions taken in the console are queued in the store for the bot's sender."""
    from botkit.web.console import ConsolePages
    from botkit.web.server import serve_http, web_app

    app = await App.build(config, base_dir, dispatcher=AdapterDispatcher({}))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    console = ConsolePages(app) if config.web.users else None
    try:
        log.info("web: listening on port %d", port)
        await serve_http(web_app(app.store, app.clock, console=console), host, port, stop)
    finally:
        await app.close()
    return 0
